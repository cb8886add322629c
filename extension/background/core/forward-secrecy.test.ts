// Forward secrecy per round trip (END-TO-END.md §6): the Operator records every blob while alice
// and bob converse; then bob's whole device is seized, unlocked with his passphrase. What he read
// before the last round trip opens with nothing on it; what is still on its way does.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { unb64 } from '../../../protocol/bytes.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account, introduce } from '../../../test/support/addon.ts';
import { heldPrekeys, keysIn, openWithAny, recordingClient, seize, type Deposit } from '../../../test/support/seize.ts';
import { PREKEY_IN_FLIGHT_MS } from './fresh-prekeys.ts';

before(() => loadThemis());

const ROUNDS = 4;

test('a seized device opens none of the blobs it read before the last round trip, and still opens those on their way', { timeout: 120_000 }, async (t) => {
  const op = await startTestOperator();
  try {
    const clock = { t: Date.now() };
    const now = () => clock.t, tick = () => { clock.t += 1000; };
    const rec = recordingClient();
    const alice = await account(op.url, 'alice_fs', now, { client: rec.client }), bob = await account(op.url, 'bob_fs', now, { client: rec.client });
    const bobBoxes = async () => { const a = await (await bob.k.ctx.store()).account(); return new Set([a.me.intro.id, ...Object.keys(a.mailboxes)]); };

    // what the Operator keeps: every blob deposited for bob, labelled (by the test, while bob
    // could still open it) with what it carried and in which round it was sent
    const toBob: (Deposit & { round: number; body: { kind: string; text?: string } })[] = [];
    let seen = 0, round = 0;
    const ever = new Set<string>(); // every private prekey bob ever held for alice
    const label = async () => {
      const store = await bob.k.ctx.store();
      const { keys } = keysIn(await store.r.dump());
      const me = (await store.account()).me.identity.pub;
      const boxes = await bobBoxes();
      for (const d of rec.deposits.slice(seen)) {
        if (!boxes.has(d.to)) continue;
        const body = openWithAny(d.blob, keys, unb64(me), now()) as { kind: string; text?: string } | undefined;
        assert.ok(body, 'bob can open every blob for him while it is on its way');
        toBob.push({ ...d, round, body });
      }
      seen = rec.deposits.length;
      for (const k of await heldPrekeys(bob.k, 'alice_fs')) ever.add(k);
    };

    await introduce(alice, bob, { from: 'alice_fs', to: 'bob_fs' }, 'first contact');
    await label();
    await bob.k.poll(); tick(); await alice.k.poll(); await label(); // bob's receipt for it (with his first fresh prekey)
    for (round = 1; round <= ROUNDS; round++) {
      tick(); await alice.k.send({ name: 'bob_fs', text: `alice ${round}` }); await label();
      tick(); assert.equal((await bob.k.poll()).received, 1); await label();
      tick(); await bob.k.send({ name: 'alice_fs', text: `bob ${round}` }); await label();
      tick(); assert.equal((await alice.k.poll()).received, 1); await label(); // and her receipt for it
    }
    round = ROUNDS + 1;
    await bob.k.poll(); await label(); // alice's receipt for bob's last message: she used his newest prekey
    clock.t += PREKEY_IN_FLIGHT_MS + 1000; // an hour on: what was in flight has arrived
    await bob.k.poll(); await label();
    tick(); await alice.k.send({ name: 'bob_fs', text: 'on its way' }); await label(); // not fetched yet

    const texts = toBob.filter((d) => d.body.kind === 'msg').map((d) => d.body.text);
    assert.deepEqual(texts, ['first contact', ...Array.from({ length: ROUNDS }, (_, i) => `alice ${i + 1}`), 'on its way']);
    assert.ok(toBob.filter((d) => d.body.kind === 'receipt').length >= ROUNDS, 'alice\'s receipts were recorded too');

    // the seizure: bob's storage, unlocked with his passphrase in a fresh background
    const seized = await seize(bob.local);
    assert.ok(seized.keys.length >= 3, `private keys found on the device: ${seized.keys.length}`);
    const opens = (d: Deposit) => openWithAny(d.blob, seized.keys, seized.identity, now()) !== undefined;
    // everything of the rounds before the last, and the last round's message, which alice sealed
    // to a prekey of bob's that she has since replaced (her receipt used his newest)
    const read = toBob.filter((x) => (x.round >= 1 && x.round < ROUNDS) || (x.round === ROUNDS && x.body.kind === 'msg'));
    assert.equal(read.filter((d) => d.body.kind === 'msg').length, ROUNDS);
    for (const d of read) assert.equal(opens(d), false, `round ${d.round}'s ${d.body.kind} ${d.body.text ?? ''} must not open on the seized device`);
    // what is sealed to bob's newest prekey alice used opens: her receipt for his last message, and the message on its way
    const inFlight = toBob.find((d) => d.body.text === 'on its way')!;
    assert.deepEqual(openWithAny(inFlight.blob, seized.keys, seized.identity, now()), inFlight.body, 'the newest, still on its way, opens');
    const lastReceipt = toBob.filter((d) => d.round === ROUNDS && d.body.kind === 'receipt');
    assert.equal(lastReceipt.length, 1);
    assert.equal(opens(lastReceipt[0]!), true);
    // the first contact was sealed to the weekly published prekey: it opens until that is erased (PROTOCOL.md §7)
    assert.equal(opens(toBob.find((d) => d.body.text === 'first contact')!), true);

    // erased means gone from the stored bytes: no record holds a superseded private prekey, decrypted or not
    const held = new Set(await heldPrekeys(bob.k, 'alice_fs'));
    const erased = [...ever].filter((k) => !held.has(k));
    assert.ok(erased.length >= ROUNDS, `bob made and erased ${erased.length} prekeys for alice (one per round trip)`);
    assert.ok(held.size <= 3, `bob holds ${held.size} prekeys for alice`);
    for (const k of erased) {
      assert.equal(seized.strings.has(k), false, 'an erased private prekey is in no decrypted record');
      assert.equal(seized.raw.includes(k), false, 'nor in the stored bytes');
    }
    for (const k of held) assert.equal(seized.strings.has(k), true, 'the test finds the prekeys that are kept');
    t.diagnostic(`${toBob.length} blobs recorded for bob; ${seized.keys.length} private keys on his device; ${erased.length} prekeys for alice made and erased, ${held.size} kept`);
  } finally { await op.close(); }
});
