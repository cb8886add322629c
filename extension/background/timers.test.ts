// The add-on on the schedule (timers.ts, schedule.ts; PROTOCOL.md §1 "Timing") against a real Operator on LevelDB:
// sends wait for a deposit slot, an empty slot carries a dummy that its owner fetches and drops, look-ups wait for their own time.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorClient } from '../../protocol/client.ts';
import { loadThemis } from '../../protocol/themis.ts';
import { BLOB_SIZES } from '../../protocol/wire.ts';
import { pendingBlobs, startTestOperator } from '../../test/support/operator.ts';
import { account, introduce, stateOf } from '../../test/support/addon.ts';
import { seeded } from '../../test/support/schedule-sim.ts';
import { Timers } from './timers.ts';

before(() => loadThemis());

/** A client that notes every deposit (mailbox, blob length) and every look-up. */
function watching() {
  const seen = { deposits: [] as [string, number][], lookups: [] as string[] };
  const client = (base: string) => {
    const c = new OperatorClient(base);
    const deposit = c.deposit.bind(c), lookup = c.lookupWithProof.bind(c);
    c.deposit = (id, blob, o) => { seen.deposits.push([id, blob.length]); return deposit(id, blob, o); };
    c.lookupWithProof = (name) => { seen.lookups.push(name); return lookup(name); }; // lookup() goes through it too
    return c;
  };
  return { seen, client };
}

test('on the schedule: a send waits for a slot; an empty slot deposits a dummy into a mailbox of our own, fetched and dropped', { timeout: 120_000 }, async () => {
  const op = await startTestOperator();
  try {
    const w = watching(), random = seeded(5);
    const alice = await account(op.url, 'alice_s', undefined, { scheduled: true, client: w.client }), bob = await account(op.url, 'bob_s');
    await introduce(bob, alice, { from: 'bob_s', to: 'alice_s' });
    await alice.k.checkNow(); // alice's add-on sends its receipt: nothing queued from here
    w.seen.deposits.length = 0;
    const t = await alice.k.send({ name: 'bob_s', text: 'in the next slot' });
    assert.equal(t.messages.at(-1)!.state, 'queued');
    assert.equal(w.seen.deposits.length, 0, 'nothing deposited at the moment of sending');
    await alice.k.slot(random);
    assert.deepEqual(w.seen.deposits.map(([, n]) => n), [BLOB_SIZES[0]]);
    assert.equal((await alice.k.thread({ name: 'bob_s' })).messages.at(-1)!.state, 'sent');
    assert.equal((await bob.k.poll()).received, 1);
    // nothing queued: a dummy, the size of a short message, into the loop mailbox or one of alice's own pairwise mailboxes
    for (let i = 0; i < 4; i++) await alice.k.slot(random);
    const s = await stateOf(alice), own = [s.me.intro.id, ...Object.keys(s.mailboxes)];
    const account2 = (await alice.k.ctx.store().then((st) => st.account()));
    assert.ok(account2.loop, 'a loop mailbox was made');
    const dummies = w.seen.deposits.slice(1);
    assert.equal(dummies.length, 4);
    for (const [to, n] of dummies) { assert.equal(n, BLOB_SIZES[0]); assert.ok(to === account2.loop.id || (own.includes(to) && to !== s.me.intro.id), 'into a mailbox of her own'); }
    // each fetched on its own: dropped (no message, nothing unread), deleted at the Operator
    const before = (await alice.k.thread({ name: 'bob_s' })).messages.length;
    for (const to of new Set(dummies.map(([id]) => id))) await alice.k.fetchOne(to);
    assert.equal((await alice.k.thread({ name: 'bob_s' })).messages.length, before);
    assert.equal((await alice.k.status()).unread, 0);
    for (const to of new Set(dummies.map(([id]) => id))) assert.equal(await pendingBlobs(op, to), 0, 'the dummy is gone once fetched');
  } finally { await op.close(); }
});

test('on the schedule: a first contact is looked up at its own time, not with the fetch that brought it', { timeout: 120_000 }, async () => {
  const op = await startTestOperator();
  try {
    const w = watching();
    const bob = await account(op.url, 'bob_l', undefined, { scheduled: true, client: w.client }), carol = await account(op.url, 'carol_l');
    await carol.k.addContact({ name: 'bob_l' });
    await carol.k.send({ name: 'bob_l', text: 'hello from a stranger' });
    const intro = (await stateOf(bob)).me.intro.id;
    w.seen.lookups.length = 0; // (registering looked up its own name)
    assert.equal(await bob.k.fetchOne(intro), true, 'it waits for a look-up');
    assert.deepEqual(w.seen.lookups, [], 'no look-up with the fetch');
    assert.equal((await bob.k.requests()).length, 0);
    await bob.k.lookups();
    assert.deepEqual(w.seen.lookups, ['carol_l']);
    assert.deepEqual((await bob.k.requests()).map((r) => r.name), ['carol_l']);
  } finally { await op.close(); }
});

test('the timers, the setting `live` off: one fetch per mailbox, and the slot; what is due runs when the clock passes it; none once locked', { timeout: 120_000 }, async () => {
  const op = await startTestOperator();
  try {
    const clock = { t: Date.now() };
    const alice = await account(op.url, 'alice_t', () => clock.t, { scheduled: true }), bob = await account(op.url, 'bob_t');
    await introduce(bob, alice, { from: 'bob_t', to: 'alice_t' });
    // on (the default), held fetches replace the fetch timers (live.ts; live.test.ts checks that none is kept then)
    await alice.k.saveSettings({ ...(await alice.k.settings()), live: false });
    const timers = new Timers(alice.k, seeded(9), () => clock.t);
    const next = await timers.arm();
    const s = await stateOf(alice);
    assert.deepEqual(timers.plan.entries().map(([k]) => k).sort(), [`fetch:${s.me.intro.id}`, ...Object.keys(s.mailboxes).map((id) => `fetch:${id}`), 'slot'].sort());
    assert.ok(next! > clock.t, 'nothing is due at once');
    const unread = (await alice.k.inbox())[0]!.unread;
    await bob.k.send({ name: 'alice_t', text: 'found on her schedule' });
    // a day later every timer has come due at least once: the message is fetched, the receipt and dummies go out
    clock.t += 86_400_000;
    await timers.run();
    assert.equal((await alice.k.inbox())[0]!.unread, unread + 1);
    assert.ok(timers.plan.next()! > clock.t, 'each drawn again');
    // locked: no timer, and no mailbox id kept
    await alice.k.lock();
    assert.equal(await timers.arm(), undefined);
    assert.deepEqual(timers.plan.entries(), []);
  } finally { await op.close(); }
});

test('the setting: the mean seconds between fetches, 600 by default; out of range it is refused with a visible error and nothing is saved', { timeout: 60_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_m');
    const s = await alice.k.settings();
    assert.equal(s.pollSeconds, 600);
    for (const bad of [10, 29, 3601, 1.5]) await assert.rejects(alice.k.saveSettings({ ...s, pollSeconds: bad }), /every 30–3600 seconds on average.*Nothing was saved/);
    assert.deepEqual(await alice.k.settings(), s);
    assert.equal((await alice.k.saveSettings({ ...s, pollSeconds: 30 })).pollSeconds, 30);
  } finally { await op.close(); }
});
