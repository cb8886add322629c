// Held log reads (COLLECTIVES.md §10) on a real Operator: a read of a collective's log past its
// end, with a wait, is answered by the next entry (here an `open` collective's admission, which
// needs no proof); many members may hold one log; bad waits are refused changing nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { C, c, collectivesWorld } from '../test/support/collectives.ts';
import { LIMITS } from '../protocol/wire.ts';
import { raw, snapshot } from '../test/support/operator.ts';
import { until as poll } from '../test/support/until.ts';

let w: Awaited<ReturnType<typeof collectivesWorld>>;
before(async () => { w = await collectivesWorld(undefined as never); });
after(() => w?.op.close());

/** Poll (never one fixed wait) until `cond` holds: 2,000 × 10 ms. */
const until = (cond: () => boolean, what: string) => poll(cond, what, 2000);

test('held log reads are answered by the next entry (an admission), several on one log (the test times out before the wait would end)', { timeout: 20_000 }, async () => {
  await w.op.client.createCollective(w.k.fiona!.identity.privateKey, w.charter(C, 'fiona', 'open'));
  // at the end of the log: held; before it: answered at once
  assert.equal((await w.op.client.waitLog(c, 0, 25)).entries.length, 1);
  let done = 0;
  const held = [1, 2].map(() => w.op.client.waitLog(c, 1, 25).finally(() => { done++; }));
  await until(() => w.op.holds.size === 2, 'both held');
  assert.equal(done, 0);
  await w.ask('anna');
  const answers = await Promise.all(held);
  for (const a of answers) assert.deepEqual(a.entries.map((e) => [e.type, e.name]), [['admit', 'anna']]);
  assert.equal(w.op.holds.size, 0);
});

test('a held log read of nothing new ends empty; bad waits and unknown collectives are refused, changing nothing', async () => {
  assert.deepEqual(await w.op.client.waitLog(c, 5, 1), { entries: [], more: false });
  for (const wait of [-1, LIMITS.maxWaitSeconds + 1, 0.5, '1', null]) {
    const before = await snapshot(w.op);
    const r = await raw(w.op.url, 'POST', `/collectives/${c}/log/2/wait`, { wait });
    assert.equal(r.status, 400, `wait ${JSON.stringify(wait)}`);
    assert.match(String(r.body?.error), /^wait/);
    assert.deepEqual(await snapshot(w.op), before);
  }
  assert.equal((await raw(w.op.url, 'POST', `/collectives/${c}/log/2/wait`, { wait: 1, more: 1 })).status, 400);
  assert.equal((await raw(w.op.url, 'POST', '/collectives/nowhere/log/0/wait', { wait: 1 })).status, 404);
  assert.equal(w.op.holds.size, 0);
});
