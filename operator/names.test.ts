// The directory over HTTP on a real LevelDB (PROTOCOL.md §5): registering a name, looking it up
// in any case, rotating its record, deleting it; refused registrations change nothing.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorError } from '../protocol/client.ts';
import { signRecord, solvePow } from '../protocol/identity.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES, LIMITS } from '../protocol/wire.ts';
import { startTestOperator, snapshot, komrade } from '../test/support/operator.ts';

before(() => loadThemis());

const blob = (size = BLOB_SIZES[0]!) => randomBytes(size);
const rejects = (status: number) => (e: unknown) => e instanceof OperatorError && e.status === status;

test('register, look up (any case), rotate the prekey, delete the account', async () => {
  const op = await startTestOperator();
  try {
    const alice = komrade('Alice_1');
    const signed = await alice.register(op.client);
    assert.deepEqual(await op.client.lookup('alice_1'), signed);
    assert.deepEqual(await op.client.lookup('ALICE_1'), signed);
    await assert.rejects(op.client.lookup('nobody'), rejects(404));

    // same name, other case, other person: taken
    await assert.rejects(komrade('ALICE_1').register(op.client), rejects(409));

    // rotation: newer record, same identity and intro
    const rotated = signRecord(alice.identity.privateKey, { ...signed.record, prekey: { id: b64(randomBytes(8)), key: b64(new KeyPair().publicKey) }, ts: signed.record.ts + 1 });
    await op.client.replace(rotated);
    assert.deepEqual(await op.client.lookup('alice_1'), rotated);
    // replaying the older record is refused
    await assert.rejects(op.client.replace(signed), rejects(409));
    // a record signed by someone else is refused
    const mallory = new KeyPair();
    await assert.rejects(op.client.replace(signRecord(mallory.privateKey, { ...rotated.record, identityKey: b64(mallory.publicKey), ts: rotated.record.ts + 1 })), rejects(403));
    await assert.rejects(op.client.replace(signRecord(mallory.privateKey, { ...rotated.record, ts: rotated.record.ts + 1 })), rejects(401));

    // delete: only the identity key can; afterwards the name and intro mailbox are gone
    await assert.rejects(op.client.deleteName('alice_1', mallory.privateKey), rejects(401));
    await op.client.deposit(alice.intro, blob(), { intro: true });
    await op.client.deleteName('alice_1', alice.identity.privateKey, { id: alice.intro, key: alice.mailbox.privateKey });
    await assert.rejects(op.client.lookup('alice_1'), rejects(404));
    await assert.rejects(op.client.deposit(alice.intro, blob()), rejects(404));
    const left = (await snapshot(op)).filter((kv) => kv.startsWith('!n!') || kv.includes(alice.intro));
    assert.deepEqual(left, [], 'no name record, intro mailbox or blob of alice remains');
    // the name is free again
    await komrade('alice_1').register(op.client);
  } finally { await op.close(); }
});

test('registration needs proof of work, a valid signature and an existing intro mailbox', async () => {
  const op = await startTestOperator({ powBits: 12 });
  try {
    const bob = komrade('bob');
    await op.client.createMailbox(bob.intro, bob.mailbox);
    const signed = signRecord(bob.identity.privateKey, bob.record());
    const before = await snapshot(op);
    await assert.rejects(op.client.register(signed, '0'.repeat(1), bob.mailbox.privateKey), (e) => e instanceof OperatorError && e.status === 403 && /proof of work/.test(e.reason));
    const pow = await solvePow('bob', signed.record.identityKey, 12);
    await assert.rejects(op.client.register({ ...signed, sig: signRecord(new KeyPair().privateKey, signed.record).sig }, pow, bob.mailbox.privateKey), rejects(401));
    const noIntro = signRecord(bob.identity.privateKey, { ...signed.record, intro: b64(randomBytes(16)) });
    await assert.rejects(op.client.register(noIntro, pow, bob.mailbox.privateKey), rejects(404));
    const stale = signRecord(bob.identity.privateKey, { ...signed.record, ts: Date.now() - LIMITS.replayWindowMs - 60_000 });
    await assert.rejects(op.client.register(stale, await solvePow('bob', signed.record.identityKey, 12), bob.mailbox.privateKey), rejects(403));
    assert.deepEqual(await snapshot(op), before, 'refused registrations change nothing');
    await op.client.register(signed, pow, bob.mailbox.privateKey);
  } finally { await op.close(); }
});

test('availability (§5.12): free, taken, look-alike of a komrade or a collective, asked without proof of work; it changes nothing', async () => {
  const op = await startTestOperator();
  try {
    await komrade('alice').register(op.client);
    const before = await snapshot(op);
    assert.deepEqual(await op.client.available('bob'), { available: true });
    assert.deepEqual(await op.client.available('alice'), { available: false, reason: 'taken' });
    assert.deepEqual(await op.client.available('ALICE'), { available: false, reason: 'taken' });
    for (const like of ['a1ice', 'aIice', '_alice']) assert.deepEqual(await op.client.available(like), { available: false, reason: 'look-alike' }, like);
    assert.deepEqual(await snapshot(op), before, 'asking changes nothing');
    // and registering the look-alike says why, not "taken"
    await assert.rejects(komrade('a1ice').register(op.client), (e) => e instanceof OperatorError && e.status === 409 && /too similar/.test(e.reason));
    await assert.rejects(op.client.available('x'), rejects(400));
  } finally { await op.close(); }
});
