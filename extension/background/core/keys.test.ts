// Keys in Node against a real Operator: changed keys, forgeries, first contacts the directory does not vouch for, prekey rotation.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { b64, randomBytes, unb64 } from '../../../protocol/bytes.ts';
import { OperatorError } from '../../../protocol/client.ts';
import { open, seal } from '../../../protocol/envelope.ts';
import { KeyPair, privateKey } from '../../../protocol/themis.ts';
import { pendingBlobs, startTestOperator } from '../../../test/support/operator.ts';
import { forge } from '../../../test/forge.ts';
import { PREKEY_GRACE_MS, PREKEY_ROTATE_MS } from '../komrade.ts';
import { PASS, account, editAccount, stateOf, userError } from '../../../test/support/addon.ts';

before(() => loadThemis());

test('a changed key warns and blocks sending until accepted', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_k'), bob = await account(op.url, 'bob_k');
    await alice.k.addContact({ name: 'bob_k' });
    const before = (await alice.k.contacts()).contacts[0]!;
    await alice.k.setVerified({ name: 'bob_k', verified: true });
    // bob loses his device, deletes the account and starts again under the same name
    await bob.k.deleteAccount({ passphrase: PASS });
    const bob2 = await account(op.url, 'bob_k');
    await bob2.k.addContact({ name: 'alice_k' });
    await bob2.k.send({ name: 'alice_k', text: 'new phone, same bob' });
    assert.equal((await alice.k.poll()).received, 1);
    const c = (await alice.k.contacts()).contacts[0]!;
    assert.ok(c.keyChanged, 'the contact shows a changed key');
    assert.notDeepEqual(c.keyChanged!.safetyWords, before.safetyWords);
    assert.equal((await alice.k.inbox())[0]!.keyChanged, true);
    const th = await alice.k.thread({ name: 'bob_k' });
    assert.equal(th.messages.at(-1)!.newKey, true);
    await assert.rejects(alice.k.send({ name: 'bob_k', text: 'x' }), userError(/key changed/));
    const accepted = await alice.k.acceptKey({ name: 'bob_k' });
    assert.equal(accepted.verified, false, 'a new key starts unverified');
    assert.deepEqual(accepted.safetyWords, (await bob2.k.contacts()).me.safetyWords);
    await alice.k.send({ name: 'bob_k', text: 'welcome back' });
    assert.equal((await bob2.k.poll()).received, 1);
  } finally { await op.close(); }
});

test('a first message from a key the directory does not vouch for is dropped', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_i'), mallory = await account(op.url, 'mallory_i');
    await account(op.url, 'carol_i');
    // mallory adds alice and sends, but claims to be carol by editing her own name in the vault
    await mallory.k.addContact({ name: 'alice_i' });
    await editAccount(mallory, (a) => { a.me.name = 'carol_i'; });
    await mallory.k.send({ name: 'alice_i', text: 'this is carol, honest' });
    assert.equal((await alice.k.poll()).received, 0);
    assert.deepEqual(await alice.k.inbox(), []);
  } finally { await op.close(); }
});

test('prekeys rotate weekly and old private halves are erased after the grace period', async () => {
  const op = await startTestOperator();
  try {
    const clock = { t: Date.now() };
    const now = () => clock.t;
    const alice = await account(op.url, 'alice_p', now), bob = await account(op.url, 'bob_p', now);
    await alice.k.addContact({ name: 'bob_p' });
    const firstPrekey = (await op.client.lookup('bob_p')).record.prekey.id;
    clock.t += PREKEY_ROTATE_MS + 1000;
    await bob.k.poll();
    const rotated = (await op.client.lookup('bob_p')).record.prekey.id;
    assert.notEqual(rotated, firstPrekey, 'bob published a new prekey');
    // alice still seals to the old one (she has not heard from bob): bob can open it within the grace period
    await alice.k.send({ name: 'bob_p', text: 'to the old prekey' });
    assert.equal((await bob.k.poll()).received, 1);
    const state = () => stateOf(bob);
    assert.deepEqual((await state()).prekeys.map((p) => p.id), [firstPrekey, rotated]);
    clock.t += PREKEY_GRACE_MS + 1000;
    await bob.k.poll();
    assert.ok(!(await state()).prekeys.some((p) => p.id === firstPrekey), 'the retired prekey was erased');
  } finally { await op.close(); }
});

test('a forged message for a contact (another key, not in the directory) is refused with a quiet notice; sending still reaches the real bob', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_f'), bob = await account(op.url, 'bob_f');
    await alice.k.addContact({ name: 'bob_f' });
    await alice.k.setVerified({ name: 'bob_f', verified: true });
    await bob.k.addContact({ name: 'alice_f' });
    await bob.k.send({ name: 'alice_f', text: 'hi alice' });
    assert.equal((await alice.k.poll()).received, 1);
    await alice.k.thread({ name: 'bob_f' });
    const before = (await alice.k.contacts()).contacts[0]!;

    // mallory, with no name of her own, seals a message signed by her key claiming to be bob
    const { intro } = await forge(op.client, { to: 'alice_f', from: 'bob_f', text: 'FORGED: bob here, new key' });
    assert.equal((await alice.k.poll()).received, 0, 'the forgery is not a message');
    assert.equal(await pendingBlobs(op, intro), 0, 'it was acknowledged (gone from the Operator)');
    const c = (await alice.k.contacts()).contacts[0]!;
    assert.equal(c.keyChanged, undefined, 'no key-change warning');
    assert.equal(c.verified, true);
    assert.deepEqual(c.safetyWords, before.safetyWords, 'the stored key is untouched');
    const inbox = await alice.k.inbox();
    assert.equal(inbox[0]!.keyChanged, false);
    assert.equal(inbox[0]!.last!.text, 'hi alice', 'the notice is not shown as the last message');
    assert.equal((await alice.k.status()).unread, 0, 'a quiet notice: not unread');
    let th = await alice.k.thread({ name: 'bob_f' });
    assert.equal(th.messages.at(-1)!.notice, 'forged', 'the thread shows that a forgery was refused');
    assert.equal(th.messages.at(-1)!.count, 1);
    assert.ok(!JSON.stringify(await stateOf(alice)).includes('FORGED'), 'the forged text is kept nowhere');

    // again, with the name in capitals: the same note counts two
    await forge(op.client, { to: 'alice_f', from: 'BOB_F', text: 'FORGED again' });
    assert.equal((await alice.k.poll()).received, 0);
    th = await alice.k.thread({ name: 'bob_f' });
    assert.equal(th.messages.filter((m) => m.notice).length, 1);
    assert.equal(th.messages.at(-1)!.count, 2);
    assert.equal(th.contact.keyChanged, undefined);

    // sending to bob is not blocked and reaches the real bob
    const sent = await alice.k.send({ name: 'bob_f', text: 'are you really bob?' });
    assert.equal(sent.messages.at(-1)!.state, 'sent');
    assert.equal((await bob.k.poll()).received, 1);
    assert.equal((await bob.k.thread({ name: 'alice_f' })).messages.at(-1)!.text, 'are you really bob?');
  } finally { await op.close(); }
});

test('a genuine key change (the directory lists the new key) is pending: refuse keeps the old key and unblocks sending, accept takes the new one; the old key cannot clear it', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_r'), bob = await account(op.url, 'bob_r');
    await alice.k.addContact({ name: 'bob_r' });
    await alice.k.setVerified({ name: 'bob_r', verified: true });
    const before = (await alice.k.contacts()).contacts[0]!;
    const oldIdentity = (await stateOf(bob)).me.identity;

    await bob.k.deleteAccount({ passphrase: PASS });
    assert.equal((await bob.k.status()).phase, 'new', 'deleteAccount wiped the device');
    await assert.rejects(op.client.lookup('bob_r'), (e) => e instanceof OperatorError && e.status === 404, 'and the name');
    const bob2 = await account(op.url, 'bob_r');
    await bob2.k.addContact({ name: 'alice_r' });
    await bob2.k.send({ name: 'alice_r', text: 'new phone, same bob' });
    assert.equal((await alice.k.poll()).received, 1);
    let c = (await alice.k.contacts()).contacts[0]!;
    assert.ok(c.keyChanged, 'pending');
    assert.equal(c.verified, false, '"verified" is not shown while a change is pending');
    assert.deepEqual(c.keyChanged!.safetyWords, (await bob2.k.contacts()).me.safetyWords);
    await assert.rejects(alice.k.setVerified({ name: 'bob_r', verified: true }), userError(/Accept or refuse/));
    await assert.rejects(alice.k.send({ name: 'bob_r', text: 'x' }), userError(/key changed/));

    // a late message signed by the OLD key (into the mailbox alice made for bob) is filed, marked,
    // and neither clears nor replaces the pending change
    const a = await stateOf(alice);
    const oldBox = b64(randomBytes(16)), oldBoxKeys = new KeyPair(), oldPrekey = new KeyPair(), oldPrekeyId = b64(randomBytes(8));
    await op.client.createMailbox(oldBox, oldBoxKeys);
    const current = a.prekeys.at(-1)!;
    const { blob } = seal({
      senderIdentity: { privateKey: privateKey(unb64(oldIdentity.priv)), publicKey: unb64(oldIdentity.pub) },
      recipientIdentityKey: unb64(a.me.identity.pub), prekey: { id: current.id, key: unb64(current.pub) },
      body: { kind: 'msg', from: 'bob_r', text: 'old key here', replyTo: oldBox, prekey: { id: oldPrekeyId, key: b64(oldPrekey.publicKey) } },
    });
    await op.client.deposit(a.contacts.bob_r!.inbox, blob);
    assert.equal((await alice.k.poll()).received, 1);
    c = (await alice.k.contacts()).contacts[0]!;
    assert.deepEqual(c.keyChanged?.safetyWords, (await bob2.k.contacts()).me.safetyWords, 'still pending, same new key');
    assert.deepEqual(c.safetyWords, before.safetyWords);
    const th = await alice.k.thread({ name: 'bob_r' });
    assert.equal(th.messages.at(-1)!.text, 'old key here');
    assert.equal(th.messages.at(-1)!.oldKey, true);
    await assert.rejects(alice.k.send({ name: 'bob_r', text: 'x' }), userError(/key changed/), 'still blocked');

    // refuse: the old key stays, verified as before, and sending works again (to the old key)
    const refused = await alice.k.refuseKey({ name: 'bob_r' });
    assert.equal(refused.keyChanged, undefined);
    assert.deepEqual(refused.safetyWords, before.safetyWords);
    assert.equal(refused.verified, true);
    assert.equal((await alice.k.inbox())[0]!.keyChanged, false);
    await assert.rejects(alice.k.refuseKey({ name: 'bob_r' }), userError(/No new key/));
    const sent = await alice.k.send({ name: 'bob_r', text: 'to the key I know' });
    assert.equal(sent.messages.at(-1)!.state, 'sent');
    const got = await op.client.fetchBlobs(oldBox, oldBoxKeys.privateKey);
    const opened = open(got.blobs[0]!.blob, { prekey: (id) => (id === oldPrekeyId ? oldPrekey.privateKey : undefined), myIdentityKey: unb64(oldIdentity.pub), seen: () => false, now: Date.now() });
    assert.equal((opened.body as { text: string }).text, 'to the key I know', 'sealed to the old key');

    // the new key writes again: pending again; this time alice accepts
    await bob2.k.send({ name: 'alice_r', text: 'it really is me' });
    assert.equal((await alice.k.poll()).received, 1);
    assert.ok((await alice.k.contacts()).contacts[0]!.keyChanged);
    const accepted = await alice.k.acceptKey({ name: 'bob_r' });
    assert.deepEqual(accepted.safetyWords, (await bob2.k.contacts()).me.safetyWords);
    assert.equal(accepted.verified, false);
    await alice.k.send({ name: 'bob_r', text: 'welcome back' });
    assert.equal((await bob2.k.poll()).received, 1);
    assert.equal((await bob2.k.thread({ name: 'alice_r' })).messages.at(-1)!.text, 'welcome back');
  } finally { await op.close(); }
});
