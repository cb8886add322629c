// Live arrivals (live.ts) in the add-on's core against a real Operator: while "the popup is
// open" (Live started) a message, an admission and a newcomer's group key arrive without any
// poll or "Check now"; one held fetch per mailbox; closing frees every hold; an Operator that
// is down, or at its cap of holds, sees a backed-off trickle, not a hot loop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../protocol/themis.ts';
import { shutdownCurve } from '../../protocol/vouch.ts';
import { account, gate, introduce } from '../../test/support/addon.ts';
import { startTestOperator } from '../../test/support/operator.ts';
import { Live } from './live.ts';
import { until } from '../../test/support/until.ts';

before(() => loadThemis());
after(() => shutdownCurve());

const texts = async (d: Awaited<ReturnType<typeof account>>, name: string) => (await d.k.thread({ name })).messages.map((m) => m.text);

test('with the popup open a message arrives by itself, on one held fetch per mailbox; closing frees them (the test times out before any 60 s poll)', { timeout: 30_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob');
    await introduce(alice, bob, { from: 'alice', to: 'bob' });
    let told = 0;
    const live = new Live(bob.k, { onArrival: () => { told++; } });
    live.start(); live.start(); // two popups: still one hold per mailbox
    const bobBoxes = 1 + Object.keys((await (await bob.k.ctx.store()).account()).mailboxes).length;
    assert.equal(bobBoxes, 2, 'intro and the one for alice');
    await until(() => op.holds.size === bobBoxes && live.running === bobBoxes, 'one held fetch per mailbox');
    await alice.k.send({ name: 'bob', text: 'live one' });
    await until(async () => (await texts(bob, 'alice')).includes('live one'), 'the message arrived with no poll');
    await until(() => told >= 1, 'the popup was told');
    // a stranger's first contact comes to the intro mailbox the same way, and its new mailbox is held too
    const carol = await account(op.url, 'carol');
    await carol.k.addContact({ name: 'bob' });
    await carol.k.send({ name: 'bob', text: 'hello from carol' });
    await until(async () => (await bob.k.requests()).some((r) => r.name === 'carol'), 'the request arrived with no poll');
    await bob.k.acceptRequest({ name: 'carol' });
    live.rescan();
    await until(() => live.running === 3 && op.holds.size === 3, 'the new mailbox is held as well');
    // the setting off ("Arrivals in seconds while Komrade is open"): nothing is held, and on again, all are
    await bob.k.saveSettings({ ...(await bob.k.settings()), live: false });
    live.rescan();
    await until(() => live.running === 0 && op.holds.size === 0, 'the setting off: no hold');
    await bob.k.saveSettings({ ...(await bob.k.settings()), live: true });
    live.rescan();
    await until(() => live.running === 3 && op.holds.size === 3, 'on again: every mailbox held');
    live.stop();
    assert.equal(live.running, 3, 'one popup is still open');
    live.stop();
    assert.equal(live.running, 0);
    await until(() => op.holds.size === 0, 'the Operator let go of every hold');
  } finally { await op.close(); }
});

test('an Operator that is down, or answers held fetches at once (its cap), sees a backed-off trickle, not a hot loop', { timeout: 60_000 }, async () => {
  const op = await startTestOperator({ maxHolds: 0 });
  try {
    const bob = await account(op.url, 'bob');
    const g = await gate(op.port, () => true);
    try {
      // the add-on talks to the gate: point its account there
      const store = await bob.k.ctx.store();
      await store.putAccount({ ...(await store.account()), operator: g.url });
      const live = new Live(bob.k);
      const before = op.counters.fetch ?? 0;
      live.start();
      await until(() => (op.counters.fetch ?? 0) - before >= 2, 'held fetches go out (answered at once: the cap is 0)');
      await new Promise((r) => setTimeout(r, 3000));
      const atCap = (op.counters.fetch ?? 0) - before;
      assert.ok(atCap <= 6, `${atCap} fetches in ~3 s: backed off (1 s, 2 s, …)`);
      g.mode = 'reset';
      const refusedBefore = g.refused;
      await new Promise((r) => setTimeout(r, 4000));
      assert.ok(g.refused - refusedBefore <= 6, `${g.refused - refusedBefore} requests to a down Operator in ~4 s`);
      live.stop();
    } finally { await g.close(); }
  } finally { await op.close(); }
});
