// Pending join requests (join-requests.ts) against a real Operator: a member's status, its
// collectives list and the change it reports to the background (badge, notice) count a request
// to join once a poll has seen it, and report it as new once; a candidate's own request is not
// counted for them; once admitted, a fresh look-up brings the count down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { shutdownCurve } from '../../../protocol/vouch.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account } from '../../../test/support/addon.ts';
import type { Deps } from './ctx.ts';

type Change = Parameters<NonNullable<Deps['onChange']>>[0];
let op: Awaited<ReturnType<typeof startTestOperator>>;
before(async () => { await loadThemis(); op = await startTestOperator(); });
after(async () => { await op?.close(); await shutdownCurve(); });

test('a request to join is counted for members, reported as new once, and not counted for the candidate', { timeout: 120_000 }, async () => {
  const changes: Change[] = [];
  const alice = await account(op.url, 'alice', undefined, { onChange: (e) => changes.push(e) });
  const bob = await account(op.url, 'bob');
  await alice.k.createCollective({ name: 'garden', description: '', rule: 'one' });
  await alice.k.poll();
  assert.deepEqual([changes.at(-1)?.joinRequests, changes.at(-1)?.newJoinRequests], [0, 0]);

  await bob.k.askToJoin({ name: 'garden' });
  assert.equal((await bob.k.status()).joinRequests, 0, 'the candidate\'s own request is not one to act on');
  await alice.k.poll();
  assert.deepEqual([changes.at(-1)?.joinRequests, changes.at(-1)?.newJoinRequests], [1, 1], 'the poll that saw it reports it as new');
  assert.equal((await alice.k.status()).joinRequests, 1);
  assert.deepEqual((await alice.k.collectives()).map((c) => [c.name, c.requests]), [['garden', 1]]);
  await alice.k.poll();
  assert.deepEqual([changes.at(-1)?.joinRequests, changes.at(-1)?.newJoinRequests], [1, 0], 'told once');

  // alice vouches (quorum 1): looking the collective up again brings the count down at once, not at the next poll
  assert.equal((await alice.k.vouch({ collective: 'garden', name: 'bob' })).admitted, true);
  await alice.k.findCollective({ name: 'garden' });
  assert.deepEqual([changes.at(-1)?.joinRequests, changes.at(-1)?.newJoinRequests], [0, 0]);
  assert.equal((await alice.k.status()).joinRequests, 0);
});
