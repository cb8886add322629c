// Protocol encoding and validation: schemas accept what the protocol allows and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, unb64, canonicalJson, randomBytes } from './bytes.ts';
import { Name, MailboxId, Deposit, Ack, Register, BLOB_SIZES, LIMITS, statement } from './wire.ts';
import { signAuth, verifyAuth } from './identity.ts';
import { KeyPair, loadThemis } from './themis.ts';

test('base64url round-trips all byte values and rejects foreign alphabets', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(unb64(b64(all)), all);
  for (let n = 0; n < 6; n++) { const r = randomBytes(n); assert.deepEqual(unb64(b64(r)), r); }
  assert.throws(() => unb64('ab+/'));
  assert.throws(() => unb64('abcde'));
  assert.equal(b64(new Uint8Array([251, 255])), '-_8');
});

test('canonical JSON sorts keys at every depth', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 2 } }), '{"a":{"c":2,"d":[3,{"y":2,"z":1}]},"b":1}');
});

test('names: 3-32 of [A-Za-z0-9_]', () => {
  for (const ok of ['abc', 'a_b_9', 'X'.repeat(32)]) assert.ok(Name.safeParse(ok).success, ok);
  for (const bad of ['ab', 'x'.repeat(33), 'al ice', 'élan', 'a-b', '', '<script>']) assert.ok(!Name.safeParse(bad).success, bad);
});

test('mailbox ids are exactly 16 bytes of base64url', () => {
  assert.ok(MailboxId.safeParse(b64(randomBytes(16))).success);
  assert.ok(!MailboxId.safeParse(b64(randomBytes(15))).success);
  assert.ok(!MailboxId.safeParse('../../etc/passwd_______').success);
});

test('deposits must be one of the padded sizes; extra fields are refused', () => {
  assert.deepEqual(BLOB_SIZES, LIMITS.buckets.map((b) => b + 106));
  assert.ok(Deposit.safeParse({ blob: b64(randomBytes(BLOB_SIZES[0]!)) }).success);
  assert.ok(!Deposit.safeParse({ blob: b64(randomBytes(BLOB_SIZES.at(-1)! + 1)) }).success);
  assert.ok(!Deposit.safeParse({ blob: b64(randomBytes(10)) }).success);
  assert.ok(!Deposit.safeParse({ blob: b64(randomBytes(BLOB_SIZES[0]!)), from: 'alice' }).success);
  assert.ok(!Deposit.safeParse({ blob: 42 }).success);
});

test('acks carry 1..100 well-formed ids', () => {
  const auth = { ts: 1, nonce: b64(randomBytes(16)), sig: b64(randomBytes(100)) };
  assert.ok(Ack.safeParse({ ids: ['000000000001'], auth }).success);
  assert.ok(!Ack.safeParse({ ids: [], auth }).success);
  assert.ok(!Ack.safeParse({ ids: Array(101).fill('000000000001'), auth }).success);
  assert.ok(!Ack.safeParse({ ids: ['zz'], auth }).success);
});

test('registration shape: record fields, types and pow counter', () => {
  const rec = { v: 1, name: 'alice', identityKey: b64(randomBytes(45)), intro: b64(randomBytes(16)), prekey: { id: b64(randomBytes(8)), key: b64(randomBytes(45)) }, ts: 5 };
  const ok = { record: rec, sig: b64(randomBytes(120)), pow: '123', introAuth: { ts: 1, nonce: b64(randomBytes(16)), sig: b64(randomBytes(120)) } };
  assert.ok(Register.safeParse(ok).success);
  assert.ok(!Register.safeParse({ ...ok, pow: 'x' }).success);
  const { introAuth: _, ...noIntroAuth } = ok;
  assert.ok(!Register.safeParse(noIntroAuth).success, 'registration must prove the intro mailbox key');
  assert.ok(!Register.safeParse({ ...ok, record: { ...rec, v: 2 } }).success);
  assert.ok(!Register.safeParse({ ...ok, record: { ...rec, identityKey: b64(randomBytes(44)) } }).success);
});

// Each field of a signed statement is bound: change any one and the signed bytes differ,
// and an Auth whose field was altered after signing no longer verifies.
test('statements bind action, target, time, nonce and payload', () => {
  const a = statement('ack', 'm', 1, 'n', 'p');
  assert.deepEqual(a, statement('ack', 'm', 1, 'n', 'p'), 'deterministic');
  assert.notDeepEqual(a, statement('fetch', 'm', 1, 'n', 'p'), 'action');
  assert.notDeepEqual(a, statement('ack', 'm2', 1, 'n', 'p'), 'target');
  assert.notDeepEqual(a, statement('ack', 'm', 2, 'n', 'p'), 'ts');
  assert.notDeepEqual(a, statement('ack', 'm', 1, 'n2', 'p'), 'nonce');
  assert.notDeepEqual(a, statement('ack', 'm', 1, 'n', 'p2'), 'payload');
});

test('an Auth altered after signing is refused (action, target, ts, nonce, payload)', async () => {
  await loadThemis();
  const k = new KeyPair(), key = b64(k.publicKey);
  const auth = signAuth(k.privateKey, 'ack', 'box', 'a,b');
  assert.ok(verifyAuth(key, auth, 'ack', 'box', 'a,b'), 'precondition: the untouched Auth verifies');
  assert.ok(!verifyAuth(key, { ...auth, nonce: b64(randomBytes(16)) }, 'ack', 'box', 'a,b'), 'nonce');
  assert.ok(!verifyAuth(key, { ...auth, ts: auth.ts + 1 }, 'ack', 'box', 'a,b'), 'ts');
  assert.ok(!verifyAuth(key, auth, 'fetch', 'box', 'a,b'), 'action');
  assert.ok(!verifyAuth(key, auth, 'ack', 'box2', 'a,b'), 'target');
  assert.ok(!verifyAuth(key, auth, 'ack', 'box', 'a,c'), 'payload');
});
