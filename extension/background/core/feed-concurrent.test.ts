// The feed read twice at once (POSTS.md §9; komrade.ts `feedSync`): a held log read files a
// collective (readCollective) while a poll runs, both wanting the new epoch's cursor. Opened
// twice, the second opening's nullifier is taken (409), which the add-on reads as "our cursor of
// this epoch was lost" and gives the epoch up: the member never read its posts. Against a real
// Operator, with REAL Semaphore proofs (the epoch, the cursors).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { shutdownCurve } from '../../../protocol/vouch.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account } from '../../../test/support/addon.ts';
import { FK, FeedCollective } from '../feed-state.ts';

type Op = Awaited<ReturnType<typeof startTestOperator>>;
let op: Op;
const C = 'commons';

before(async () => { await loadThemis(); op = await startTestOperator(); op.server.keepAliveTimeout = 10 * 60_000; });
after(async () => { await op?.close(); await shutdownCurve(); });

test('a poll and held reads filing the same collective at once open one cursor and read every post', { timeout: 150_000 }, async () => {
  const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob');
  await alice.k.createCollective({ name: C, description: '', rule: 'open' });
  assert.equal((await bob.k.askToJoin({ name: C })).myStatus, 'member');
  await alice.k.poll(); // hands epoch 1 over to bob
  await alice.k.post({ collective: C, text: 'one for bob' });
  // bob's first read of the epoch: a poll and two held reads' filings, all at once
  await Promise.all([bob.k.poll(), bob.k.readCollective(C), bob.k.readCollective(C)]);
  const f = await (await bob.k.ctx.store()).r.get(FK.collective(C), FeedCollective);
  assert.deepEqual(f?.gone ?? [], [], 'no epoch given up');
  await bob.k.poll();
  assert.deepEqual((await bob.k.feed({})).posts.map((p) => `${p.author}: ${p.text}`), ['alice: one for bob']);
});
