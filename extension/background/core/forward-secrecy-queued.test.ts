// Forward secrecy per round trip (END-TO-END.md §6) with long queues: on the schedule, two
// komrades each queue 80 messages to the other before either flushes ("Send now"), then each
// checks. Every message is sealed to the prekey the sender last had from the contact; none may
// have been erased meanwhile by the contact's own queue. Every message is filed, in order.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account, introduce, stateOf } from '../../../test/support/addon.ts';
import { heldPrekeys } from '../../../test/support/seize.ts';

before(() => loadThemis());

const N = 80;

test(`two komrades each queue ${N} messages to the other, then flush: every message is filed, in order, on both sides`, { timeout: 300_000 }, async (t) => {
  const op = await startTestOperator();
  try {
    const clock = { t: Date.now() };
    const now = () => clock.t, tick = () => { clock.t += 1000; };
    const alice = await account(op.url, 'alice_q', now), bob = await account(op.url, 'bob_q', now);
    await introduce(alice, bob, { from: 'alice_q', to: 'bob_q' });
    tick(); await bob.k.poll(); tick(); await alice.k.poll(); // bob's receipt, with his fresh prekey, reaches alice
    // from here on, both are on the schedule: what is sent waits in the outbox for a slot or "Send now"
    alice.k.ctx.deps.scheduled = true; bob.k.ctx.deps.scheduled = true;
    const a = Array.from({ length: N }, (_, i) => `alice ${i}`), b = Array.from({ length: N }, (_, i) => `bob ${i}`);
    for (let i = 0; i < N; i++) {
      tick(); await alice.k.send({ name: 'bob_q', text: a[i]! });
      tick(); await bob.k.send({ name: 'alice_q', text: b[i]! });
    }
    assert.equal((await alice.k.status()).queued, N);
    assert.equal((await bob.k.status()).queued, N);
    tick(); await alice.k.retry(); tick(); await bob.k.retry(); // "Send now" on both sides
    assert.equal((await alice.k.status()).queued, 0);
    assert.equal((await bob.k.status()).queued, 0);
    tick(); await alice.k.checkNow(); tick(); await bob.k.checkNow(); // "Check now" on both sides
    const filed = async (d: typeof alice, name: string) => (await stateOf(d)).contacts[name]!.messages.filter((m) => m.dir === 'in');
    const atBob = await filed(bob, 'alice_q'), atAlice = await filed(alice, 'bob_q');
    t.diagnostic(`filed at bob's: ${atBob.filter((m) => !m.notice).length} of ${N + 1}; at alice's: ${atAlice.filter((m) => !m.notice).length} of ${N}`);
    assert.deepEqual(atBob.filter((m) => m.notice).map((m) => [m.notice, m.count]), [], 'no message of alice\'s is lost at bob\'s');
    assert.deepEqual(atAlice.filter((m) => m.notice).map((m) => [m.notice, m.count]), [], 'no message of bob\'s is lost at alice\'s');
    assert.deepEqual(atBob.map((m) => m.text), ['hi', ...a]);
    assert.deepEqual(atAlice.map((m) => m.text), b);
    for (const [d, name] of [[alice, 'bob_q'], [bob, 'alice_q']] as const) {
      assert.ok((await heldPrekeys(d.k, name)).length <= 3, 'a queue does not pile up prekeys for one contact');
    }
    // and the conversation goes on, the keys moving on with it
    tick(); await alice.k.checkNow(); tick(); await bob.k.checkNow(); // the receipts
    tick(); await bob.k.send({ name: 'alice_q', text: 'all read' }); tick(); await bob.k.retry();
    tick(); assert.equal((await alice.k.checkNow(), (await filed(alice, 'bob_q')).at(-1)?.text), 'all read');
    t.diagnostic(`bob holds ${(await heldPrekeys(bob.k, 'alice_q')).length} prekeys for alice, alice ${(await heldPrekeys(alice.k, 'bob_q')).length} for bob`);
  } finally { await op.close(); }
});
