// Identity proofs: safety words/numbers, signed requests, self-signed records, proof of work.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from './bytes.ts';
import { KeyPair, loadThemis } from './themis.ts';
import { safetyWords, safetyNumber, signAuth, verifyAuth, signRecord, verifyRecord, solvePow, checkPow } from './identity.ts';
import type { NameRecord } from './wire.ts';

before(() => loadThemis());

test('safety words and number are stable per key and differ between keys', () => {
  const a = new KeyPair().publicKey, b = new KeyPair().publicKey;
  assert.deepEqual(safetyWords(a), safetyWords(new Uint8Array(a)));
  assert.equal(safetyWords(a).length, 6);
  assert.notDeepEqual(safetyWords(a), safetyWords(b));
  assert.match(safetyNumber(a), /^\d{5}( \d{5}){5}$/);
  assert.notEqual(safetyNumber(a), safetyNumber(b));
});

test('signed requests verify only for the same key, action, target and payload', () => {
  const k = new KeyPair();
  const key = b64(k.publicKey);
  const auth = signAuth(k.privateKey, 'ack', 'box', 'a,b');
  assert.ok(verifyAuth(key, auth, 'ack', 'box', 'a,b'));
  assert.ok(!verifyAuth(key, auth, 'ack', 'box', 'a'));
  assert.ok(!verifyAuth(key, auth, 'fetch', 'box', 'a,b'));
  assert.ok(!verifyAuth(key, auth, 'ack', 'other', 'a,b'));
  assert.ok(!verifyAuth(key, { ...auth, ts: auth.ts + 1 }, 'ack', 'box', 'a,b'));
  assert.ok(!verifyAuth(b64(new KeyPair().publicKey), auth, 'ack', 'box', 'a,b'));
  assert.ok(!verifyAuth(key, { ...auth, sig: b64(randomBytes(120)) }, 'ack', 'box', 'a,b'));
});

test('records verify under their own identity key and break on any change', () => {
  const id = new KeyPair();
  const record: NameRecord = { v: 1, name: 'alice', identityKey: b64(id.publicKey), intro: b64(randomBytes(16)), prekey: { id: b64(randomBytes(8)), key: b64(new KeyPair().publicKey) }, ts: 1 };
  const signed = signRecord(id.privateKey, record);
  assert.ok(verifyRecord(signed));
  assert.ok(!verifyRecord({ ...signed, record: { ...record, intro: b64(randomBytes(16)) } }));
  assert.ok(!verifyRecord({ ...signed, record: { ...record, identityKey: b64(new KeyPair().publicKey) } }));
  assert.ok(!verifyRecord(signRecord(new KeyPair().privateKey, record)));
});

// A proof of work is bound to the name and to the key, each on its own: a counter solved
// for (name, key) must not also pass for another name with the same key, nor for the same
// name with another key. A chance pass at 12 bits is 1 in 4096, so allow one in 16 checks;
// if either input were dropped from the hash, every check of that kind would pass.
test('proof of work is found, checks, and is bound to name and key', async () => {
  const bits = 12;
  let otherName = 0, otherKey = 0;
  for (let i = 0; i < 4; i++) {
    const key = b64(randomBytes(45));
    const pow = await solvePow('Alice', key, bits);
    assert.ok(checkPow('alice', key, pow, bits), 'name compared ignoring case');
    assert.ok(!checkPow('alice', key, pow, 40));
    for (const name of ['bob', 'alicf', 'alice_', 'xalice']) {
      if (checkPow(name, key, pow, bits)) otherName++;
      if (checkPow('alice', b64(randomBytes(45)), pow, bits)) otherKey++;
    }
  }
  assert.ok(otherName <= 1, `passes for another name with the same key (${otherName}/16)`);
  assert.ok(otherKey <= 1, `passes for the same name with another key (${otherKey}/16)`);
});
