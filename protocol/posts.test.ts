// Posts (POSTS.md §1, §3): sealed to an epoch, one of the envelope sizes, signed inside by the
// author; unreadable with another epoch's key; a forged author or a tampered blob is refused.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis, KeyPair } from './themis.ts';
import { BLOB_SIZES } from './wire.ts';
import { newEpochBundle, openPost, sealPost, deleteHashOf, PostError } from './posts.ts';

let alice: { name: string; identity: KeyPair };
before(async () => { await loadThemis(); alice = { name: 'Alice', identity: new KeyPair() }; });

test('a post opens with its epoch bundle, is an envelope size, and carries its author and delete hash', () => {
  const e1 = newEpochBundle('Portland', 1, '123');
  for (const text of ['hello', 'x'.repeat(5000), 'ü'.repeat(10_000)]) {
    const { blob, id, deleteSecret } = sealPost(e1, alice, { text });
    assert.ok(BLOB_SIZES.includes(blob.length), `blob of ${blob.length} bytes is an envelope size`);
    const { payload, authorKey } = openPost(e1, blob);
    assert.equal(payload.kind, 'post');
    assert.equal(payload.id, id);
    assert.equal(payload.author, 'alice');
    assert.deepEqual([...authorKey], [...alice.identity.publicKey]);
    if (payload.kind === 'post') { assert.equal(payload.text, text); assert.equal(payload.deleteHash, deleteHashOf(deleteSecret!)); }
  }
});

test('another epoch, another collective, or a tampered blob cannot be read', () => {
  const e1 = newEpochBundle('portland', 1, '1'), e2 = newEpochBundle('portland', 2, '1');
  const { blob } = sealPost(e1, alice, { text: 'only epoch 1' });
  assert.throws(() => openPost(e2, blob), PostError, 'a later epoch (a leaver holds only old ones, and vice versa)');
  assert.throws(() => openPost({ ...e1, collective: 'seattle' }, blob), PostError, 'the context binds the collective');
  for (const at of [1, 60, blob.length >> 1]) {
    const bad = blob.slice(); bad[at]! ^= 1;
    assert.throws(() => openPost(e1, bad), PostError, `tampered at ${at}`);
  }
});

test('the signature inside binds the author: a member cannot post as another', () => {
  const e1 = newEpochBundle('portland', 1, '1');
  const mallory = { name: 'mallory', identity: new KeyPair() };
  const { blob } = sealPost(e1, { name: 'alice', identity: mallory.identity }, { text: 'I am alice' });
  const { payload, authorKey } = openPost(e1, blob);
  assert.equal(payload.author, 'alice');
  assert.notDeepEqual([...authorKey], [...alice.identity.publicKey], 'the reader sees the key that signed; it is not alice\'s, so the reader must refuse it');
});
