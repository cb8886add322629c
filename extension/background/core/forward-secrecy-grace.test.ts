// Forward secrecy's grace (END-TO-END.md §6): envelopes lost, late or out of order within the
// hour still open; each sealed to a prekey already erased is counted in a clear notice in the thread.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { unb64 } from '../../../protocol/bytes.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account, introduce } from '../../../test/support/addon.ts';
import { heldPrekeys, recordingClient } from '../../../test/support/seize.ts';
import type { Komrade } from '../komrade.ts';
import { PREKEY_IN_FLIGHT_MS } from './fresh-prekeys.ts';

before(() => loadThemis());

/** Take every envelope out of a device's outbox (what the Operator never got), to deliver it later or never. */
async function takeQueued(k: Komrade): Promise<{ to: string; blob: Uint8Array }[]> {
  const store = await k.ctx.store();
  const items = await store.outbox();
  await store.putOutbox([]);
  return items.map((i) => ({ to: i.to, blob: unb64(i.blob) }));
}

test('grace: lost and out-of-order envelopes open within the hour; each sealed to an erased prekey is counted in a notice, once', { timeout: 120_000 }, async () => {
  const op = await startTestOperator();
  try {
    const clock = { t: Date.now() };
    const now = () => clock.t, tick = () => { clock.t += 1000; };
    const ra = recordingClient(), rb = recordingClient();
    const alice = await account(op.url, 'alice_g', now, { client: ra.client }), bob = await account(op.url, 'bob_g', now, { client: rb.client });
    await introduce(alice, bob, { from: 'alice_g', to: 'bob_g' });
    await bob.k.poll(); tick(); await alice.k.poll();
    tick(); await alice.k.send({ name: 'bob_g', text: 'one' }); tick(); await bob.k.poll();
    tick(); await bob.k.send({ name: 'alice_g', text: 'two' }); tick(); await alice.k.poll(); tick(); await bob.k.poll();
    const thread = async () => (await alice.k.thread({ name: 'bob_g' })).messages;
    const texts = async () => (await thread()).filter((m) => !m.notice).map((m) => m.text);

    // bob writes twice; both envelopes are held up on their way (taken out of his outbox)
    rb.lose = Infinity;
    tick(); await bob.k.send({ name: 'alice_g', text: 'late' });
    tick(); await bob.k.send({ name: 'alice_g', text: 'too late' });
    tick(); await bob.k.send({ name: 'alice_g', text: 'also too late' });
    const [late, tooLate, alsoTooLate] = await takeQueued(bob.k);
    rb.lose = 0;
    assert.ok(late && tooLate && alsoTooLate);

    // lost: alice's next message (with a fresh prekey) never arrives; bob writes on, to the prekey he has, and alice reads it
    ra.lose = Infinity;
    tick(); await alice.k.send({ name: 'bob_g', text: 'lost' });
    assert.equal((await takeQueued(alice.k)).length, 1);
    ra.lose = 0;
    tick(); await bob.k.send({ name: 'alice_g', text: 'despite the lost one' });
    tick(); assert.equal((await alice.k.poll()).received, 1);

    // a round trip on newer prekeys: alice's older ones are superseded (kept an hour for what is on its way)
    tick(); await alice.k.send({ name: 'bob_g', text: 'newer' }); tick(); await bob.k.poll();
    tick(); await bob.k.send({ name: 'alice_g', text: 'after' }); tick(); assert.equal((await alice.k.poll()).received, 1);
    const newest = (await (await alice.k.ctx.store()).contact('bob_g'))!.prekey;

    // out of order, within the hour: the late envelope, sealed to a superseded prekey, opens
    tick(); await op.client.deposit(late.to, late.blob);
    assert.equal((await alice.k.poll()).received, 1);
    assert.deepEqual((await texts()).slice(-5), ['lost', 'despite the lost one', 'newer', 'after', 'late']);
    assert.deepEqual((await (await alice.k.ctx.store()).contact('bob_g'))!.prekey, newest, 'a late envelope does not bring back an older prekey of bob\'s');

    // an hour on, at the next poll, alice's superseded prekeys are erased: the other late one cannot be read, and says so
    const heldBefore = (await heldPrekeys(alice.k, 'bob_g')).length;
    clock.t += PREKEY_IN_FLIGHT_MS + 1000;
    await alice.k.poll();
    assert.ok((await heldPrekeys(alice.k, 'bob_g')).length < heldBefore, 'superseded prekeys erased');
    await op.client.deposit(tooLate.to, tooLate.blob);
    assert.equal((await alice.k.poll()).received, 0);
    const notice = (await thread()).at(-1)!;
    assert.deepEqual([notice.notice, notice.text, notice.count, notice.dir], ['erased', '', 1, 'in']);
    assert.ok(!(await texts()).includes('too late'));
    // the Operator replaying it changes nothing more (each distinct envelope counted once)
    await op.client.deposit(tooLate.to, tooLate.blob);
    await alice.k.poll();
    assert.equal((await thread()).filter((m) => m.notice === 'erased').length, 1);
    assert.equal((await thread()).at(-1)!.count, 1);
    // another envelope sealed to the same erased prekey is not acknowledged silently: it is counted
    await op.client.deposit(alsoTooLate.to, alsoTooLate.blob);
    assert.equal((await alice.k.poll()).received, 0);
    assert.deepEqual((await thread()).filter((m) => m.notice === 'erased').map((m) => m.count), [2]);
    assert.ok(!(await texts()).includes('also too late'));

    // and the conversation goes on
    tick(); await bob.k.send({ name: 'alice_g', text: 'still here' });
    assert.equal((await alice.k.poll()).received, 1);
    assert.equal((await texts()).at(-1), 'still here');
  } finally { await op.close(); }
});
