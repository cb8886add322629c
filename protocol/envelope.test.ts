// The sealed envelope with real wasm-themis: round trip, padding, tampering, wrong key, replay.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from './bytes.ts';
import { KeyPair, loadThemis, type PrivateKey } from './themis.ts';
import { seal, open, EnvelopeError } from './envelope.ts';
import { BLOB_SIZES } from './wire.ts';

before(() => loadThemis());

function party() {
  const identity = new KeyPair();
  const prekey = new KeyPair();
  const prekeyId = b64(randomBytes(8));
  return { identity, prekey, prekeyId, prekeys: new Map<string, PrivateKey>([[prekeyId, prekey.privateKey]]) };
}
const alice = () => party();

function sealTo(from: ReturnType<typeof party>, to: ReturnType<typeof party>, body: unknown, now?: number) {
  return seal({ senderIdentity: from.identity, recipientIdentityKey: to.identity.publicKey, prekey: { id: to.prekeyId, key: to.prekey.publicKey }, body, now });
}
function openAs(me: ReturnType<typeof party>, blob: Uint8Array, seen = new Set<string>()) {
  return open(blob, { prekey: (id) => me.prekeys.get(id), myIdentityKey: me.identity.publicKey, seen: (id) => seen.has(id) });
}
const fault = (f: string) => (e: unknown) => e instanceof EnvelopeError && e.fault === f;

test('round trip: body and verified sender identity come out', () => {
  const a = alice(), b = party();
  const { blob, id } = sealTo(a, b, { text: 'hello <b>bob</b>' });
  const got = openAs(b, blob);
  assert.deepEqual(got.body, { text: 'hello <b>bob</b>' });
  assert.deepEqual(got.from, new Uint8Array(a.identity.publicKey));
  assert.equal(got.id, id);
});

test('blob sizes reveal only the bucket, never the length', () => {
  const a = alice(), b = party();
  const sizes = [0, 1, 100, 700].map((n) => sealTo(a, b, { text: 'x'.repeat(n) }).blob.length);
  assert.equal(new Set(sizes).size, 1);
  assert.equal(sizes[0], BLOB_SIZES[0]);
  assert.equal(sealTo(a, b, { text: 'x'.repeat(2000) }).blob.length, BLOB_SIZES[1]);
  assert.throws(() => sealTo(a, b, { text: 'x'.repeat(70000) }), fault('too-large'));
});

/**
 * Every 8-byte run of `blob` outside the fields that are the same in every envelope of one
 * bucket, as hex. Fixed: version and prekey id (bytes 0-8), the ephemeral key's "UEC2" tag
 * and length (9-16), the Secure Message and Secure Cell headers: type, lengths, algorithm
 * (54-77). What is left is the ephemeral key itself, then IV, auth tag and ciphertext.
 */
function runs(blob: Uint8Array): Set<string> {
  const out = new Set<string>();
  for (const [from, to] of [[17, 54], [78, blob.length]] as const) {
    for (let i = from; i + 8 <= to; i++) out.add(Buffer.from(blob.subarray(i, i + 8)).toString('hex'));
  }
  return out;
}

// Sealing the same body twice, to the same or another recipient, gives blobs that share
// no run of 8+ bytes outside the fixed header fields: fresh ephemeral key, all plaintext
// (padding included) encrypted.
test('two seals of the same message share no bytes beyond the header', () => {
  const a = alice(), b = party(), c = party();
  const x = sealTo(a, b, { text: 'same' }).blob, y = sealTo(a, b, { text: 'same' }).blob, z = sealTo(a, c, { text: 'same' }).blob;
  assert.deepEqual(x.subarray(0, 9), y.subarray(0, 9));
  assert.notDeepEqual(x.subarray(9, 54), y.subarray(9, 54), 'fresh ephemeral key each time');
  for (const [p, q, what] of [[x, y, 'same recipient'], [x, z, 'other recipient'], [y, z, 'other recipient']] as const) {
    const seen = runs(p);
    const common = [...runs(q)].filter((r) => seen.has(r));
    assert.equal(common.length, 0, `${what}: ${common.length} shared 8-byte runs, e.g. ${common[0]}`);
  }
  assert.ok(runs(x).size > 1000, 'the compared runs cover key and ciphertext');
});

test('tampering anywhere is detected', () => {
  const a = alice(), b = party();
  const { blob } = sealTo(a, b, { text: 'hi' });
  for (const at of [9, 30, 60, 200, blob.length - 1]) {
    const bad = new Uint8Array(blob);
    bad[at]! ^= 1;
    assert.throws(() => openAs(b, bad), (e) => e instanceof EnvelopeError, `byte ${at}`);
  }
  const bad = new Uint8Array(blob); bad[1]! ^= 1;
  assert.throws(() => openAs(b, bad), fault('unknown-prekey'));
});

test('a wrong prekey cannot open it', () => {
  const a = alice(), b = party(), eve = party();
  const { blob } = sealTo(a, b, { text: 'hi' });
  eve.prekeys.set(b.prekeyId, eve.prekey.privateKey);
  assert.throws(() => openAs(eve, blob), fault('decrypt'));
});

test('a message signed for someone else is refused (no surreptitious forwarding)', () => {
  const a = alice(), b = party(), c = party();
  // c holds b's prekey but is not the addressee
  c.prekeys.set(b.prekeyId, b.prekey.privateKey);
  assert.throws(() => openAs(c, sealTo(a, b, { text: 'for b only' }).blob), fault('not-for-me'));
});

test('a replayed message id is refused', () => {
  const a = alice(), b = party();
  const { blob, id } = sealTo(a, b, { text: 'once' });
  const seen = new Set<string>();
  openAs(b, blob, seen);
  seen.add(id);
  assert.throws(() => openAs(b, blob, seen), fault('replay'));
});

test('messages from the far past or future are refused', () => {
  const a = alice(), b = party();
  assert.throws(() => openAs(b, sealTo(a, b, 1, Date.now() - 40 * 86_400_000).blob), fault('stale'));
  assert.throws(() => openAs(b, sealTo(a, b, 1, Date.now() + 2 * 86_400_000).blob), fault('stale'));
});

test('an erased prekey makes old envelopes unreadable', () => {
  const a = alice(), b = party();
  const { blob } = sealTo(a, b, { text: 'before rotation' });
  b.prekeys.clear();
  assert.throws(() => openAs(b, blob), fault('unknown-prekey'));
});
