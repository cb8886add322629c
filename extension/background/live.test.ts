// Held reads all the time (live.ts, PROTOCOL.md §1 "Timing") in the add-on's core against a real
// Operator: with no popup at all, every mailbox keeps one held fetch and a message arrives
// without any poll or "Check now"; the popup opening (its requests to the background) sends
// nothing to the Operator and ends no hold; the setting off: no hold, the Poisson fetches
// instead; an Operator that is down, or at its cap of holds, sees a backed-off trickle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../protocol/themis.ts';
import { shutdownCurve } from '../../protocol/vouch.ts';
import { account, gate, introduce } from '../../test/support/addon.ts';
import { startTestOperator } from '../../test/support/operator.ts';
import { Live } from './live.ts';
import { Timers } from './timers.ts';
import { until } from '../../test/support/until.ts';

before(() => loadThemis());
after(() => shutdownCurve());

const texts = async (d: Awaited<ReturnType<typeof account>>, name: string) => (await d.k.thread({ name })).messages.map((m) => m.text);
/** Quick starts and gaps, so that the test does not wait for the real spread. */
const quick = { startMs: 300, gapMs: 50 };
/** The fetch timers the background keeps (timers.ts). */
const fetchTimers = async (t: Timers) => { await t.arm(); return t.plan.entries().filter(([k]) => k.startsWith('fetch:')).length; };

test('with no popup, each mailbox keeps one held fetch and a message arrives by itself; no Poisson fetch timers then', { timeout: 30_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob');
    await introduce(alice, bob, { from: 'alice', to: 'bob' });
    let told = 0;
    const live = new Live(bob.k, { ...quick, onArrival: () => { told++; } });
    live.start(); live.start(); // started twice: still one hold per mailbox
    const bobBoxes = 1 + Object.keys((await (await bob.k.ctx.store()).account()).mailboxes).length;
    assert.equal(bobBoxes, 2, 'intro and the one for alice');
    await until(() => op.holds.size === bobBoxes && live.running === bobBoxes, 'one held fetch per mailbox');
    assert.equal(await fetchTimers(new Timers(bob.k, Math.random)), 0, 'the holds replace the scheduled fetches');
    await alice.k.send({ name: 'bob', text: 'live one' });
    await until(async () => (await texts(bob, 'alice')).includes('live one'), 'the message arrived with no poll');
    await until(() => told >= 1, 'an open popup would be told');
    await until(() => op.holds.size === bobBoxes, 'the mailbox is held again after a gap');
    // a stranger's first contact comes to the intro mailbox the same way, and its new mailbox is held too
    const carol = await account(op.url, 'carol');
    await carol.k.addContact({ name: 'bob' });
    await carol.k.send({ name: 'bob', text: 'hello from carol' });
    await until(async () => { await bob.k.lookups(); return (await bob.k.requests()).some((r) => r.name === 'carol'); }, 'the request arrived with no poll');
    await bob.k.acceptRequest({ name: 'carol' });
    live.rescan();
    await until(() => live.running === 3 && op.holds.size === 3, 'the new mailbox is held as well');
    live.stop();
    assert.equal(live.running, 0);
    await until(() => op.holds.size === 0, 'the Operator let go of every hold');
  } finally { await op.close(); }
});

test('the popup opening sends nothing to the Operator and ends no hold: the wire does not tell when Komrade is open', { timeout: 30_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob');
    await introduce(alice, bob, { from: 'alice', to: 'bob' });
    const live = new Live(bob.k, quick);
    live.start();
    await until(() => op.holds.size === 2, 'both mailboxes held');
    const before = JSON.stringify(op.counters);
    // what the popup asks the background when it opens and while it is open (App.svelte, Inbox, Settings)
    for (let i = 0; i < 3; i++) {
      for (const type of ['status', 'inbox', 'requests', 'settings', 'collectives'] as const) await bob.k.request(type, [] as never);
      await bob.k.request('thread', [{ name: 'alice' }] as never);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(JSON.stringify(op.counters), before, 'no request reached the Operator');
    assert.equal(op.holds.size, 2, 'every hold is still the one it was');
    live.stop();
  } finally { await op.close(); }
});

test('after a start each mailbox\'s first hold comes at its own random time, not all in one second', { timeout: 60_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob');
    await introduce(alice, bob, { from: 'alice', to: 'bob' });
    const draws = [0, 0.9]; // the intro at once, alice's mailbox 9 s later (of a 10 s spread)
    const live = new Live(bob.k, { startMs: 10_000, gapMs: 50, random: () => draws.shift() ?? 0.5 });
    live.start();
    await until(() => op.holds.size === 1, 'the first hold');
    const first = Date.now();
    await until(() => op.holds.size === 2, 'the second hold');
    assert.ok(Date.now() - first >= 5_000, `the second came ${Date.now() - first} ms after the first`);
    live.stop();
  } finally { await op.close(); }
});

test('an admission and the newcomer\'s group key arrive by themselves on the held reads (no poll, no scheduled read)', { timeout: 60_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice');
    await alice.k.createCollective({ name: 'livecoop', description: '', rule: 'one' });
    const carol = await account(op.url, 'carol');
    await carol.k.askToJoin({ name: 'livecoop' });
    const lives = [new Live(alice.k, quick), new Live(carol.k, quick)];
    for (const l of lives) l.start();
    await until(() => op.holds.size === 4, 'both intros and both log reads held');
    await alice.k.vouch({ collective: 'livecoop', name: 'carol' });
    const mine = async () => (await carol.k.collectives()).find((c) => c.name.toLowerCase() === 'livecoop');
    await until(async () => (await mine())?.myStatus === 'member', 'carol sees herself admitted');
    await until(async () => (await mine())?.hasKey === true, 'carol holds the group key');
    for (const l of lives) l.stop();
  } finally { await op.close(); }
});

test('the setting off: no hold at all, the Poisson fetches instead; on again: every mailbox held', { timeout: 30_000 }, async () => {
  const op = await startTestOperator();
  try {
    const bob = await account(op.url, 'bob');
    const live = new Live(bob.k, quick), timers = new Timers(bob.k, Math.random);
    await bob.k.saveSettings({ ...(await bob.k.settings()), live: false });
    live.start();
    assert.equal(await fetchTimers(timers), 1, 'the intro is fetched on the schedule');
    await new Promise((r) => setTimeout(r, 1000)); // longer than every start (300 ms): nothing is held
    assert.equal(live.running, 0);
    assert.equal(op.holds.size, 0);
    assert.equal(op.counters.fetch ?? 0, 0, 'no fetch at all');
    await bob.k.saveSettings({ ...(await bob.k.settings()), live: true });
    live.rescan();
    await until(() => live.running === 1 && op.holds.size === 1, 'on again: the intro held');
    assert.equal(await fetchTimers(timers), 0, 'and no scheduled fetch');
    live.stop();
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
      const live = new Live(bob.k, quick);
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
