// Held reads of a collective's open join requests (COLLECTIVES.md §10, "Held requests read") on
// a real Operator: a read naming the digest of the list it saw is held until a join request
// changes the list; one naming an old digest is answered at once; bad bodies are refused,
// changing nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requestsDigest } from '../protocol/requests-wait.ts';
import { LIMITS } from '../protocol/wire.ts';
import { C, c, collectivesWorld } from '../test/support/collectives.ts';
import { raw, snapshot } from '../test/support/operator.ts';
import { until as poll } from '../test/support/until.ts';

let w: Awaited<ReturnType<typeof collectivesWorld>>;
before(async () => { w = await collectivesWorld(undefined as never); });
after(() => w?.op.close());

/** Poll (never one fixed wait) until `cond` holds: 2,000 × 10 ms. */
const until = (cond: () => boolean, what: string) => poll(cond, what, 2000);

test('held requests reads are answered by a new join request, several on one collective (the test times out before the wait would end)', { timeout: 20_000 }, async () => {
  await w.op.client.createCollective(w.k.fiona!.identity.privateKey, w.charter(C, 'fiona', 'log2'));
  const empty = requestsDigest([]);
  let done = 0;
  const held = [1, 2].map(() => w.op.client.waitRequests(c, empty, 25).finally(() => { done++; }));
  await until(() => w.op.holds.size === 2, 'both held');
  assert.equal(done, 0);
  await w.ask('anna');
  const answers = await Promise.all(held);
  for (const a of answers) assert.deepEqual(a.requests.map((r) => [r.request.name, r.vouches]), [['anna', 0]]);
  assert.equal(w.op.holds.size, 0);
  // a reader that saw an older list is answered at once, even with a long wait
  assert.equal((await w.op.client.waitRequests(c, empty, 25)).requests.length, 1);
  // one that saw this list is held, and ends with the same list when its wait is over
  const now = requestsDigest(answers[0]!.requests);
  assert.equal(requestsDigest((await w.op.client.waitRequests(c, now, 1)).requests), now);
});

test('bad held requests reads are refused, changing nothing', async () => {
  const seen = requestsDigest([]);
  for (const body of [{ wait: LIMITS.maxWaitSeconds + 1, seen }, { wait: 1, seen: 'ABCDEF0123456789' }, { wait: 1, seen: '0'.repeat(15) }, { wait: 1 }, { wait: 1, seen, more: 1 }]) {
    const before = await snapshot(w.op);
    const r = await raw(w.op.url, 'POST', `/collectives/${c}/requests/wait`, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(typeof r.body?.error, 'string');
    assert.deepEqual(await snapshot(w.op), before);
  }
  assert.equal((await raw(w.op.url, 'POST', '/collectives/nowhere/requests/wait', { wait: 1, seen })).status, 404);
  assert.equal(w.op.holds.size, 0);
});
