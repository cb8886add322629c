// Checkpoints (PROTOCOL.md §5.11.2): the signed note round-trips; a changed size, root, origin or
// signature, a wrong key or a malformed note is refused; the vkey's id must match its key; and
// without Ed25519 in WebCrypto (Firefox 128) the signature is still checked (@noble/curves).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointSigner } from '../../operator/transparency/signer.ts';
import { openCheckpoint, parseVkey } from './checkpoint.ts';
import { verifyExtends } from './verify.ts';

const signer = new CheckpointSigner(new Uint8Array(32).fill(7));
const note = signer.checkpoint({ size: 5, root: new Uint8Array(32).fill(1) });
const key = parseVkey(signer.vkey);

test('a signed checkpoint opens; every change to it is refused with a specific error', async () => {
  const cp = await openCheckpoint(note, key);
  assert.equal(cp.size, 5); assert.equal(cp.origin, signer.origin);
  await assert.rejects(openCheckpoint(note.replace('\n5\n', '\n6\n'), key), /signature is invalid/);
  await assert.rejects(openCheckpoint(note.replace('AQEB', 'AQEC'), key), /signature is invalid/);
  await assert.rejects(openCheckpoint(note, parseVkey(new CheckpointSigner(new Uint8Array(32).fill(8), signer.origin).vkey)), /no signature by the Operator/);
  await assert.rejects(openCheckpoint(note, parseVkey(new CheckpointSigner(new Uint8Array(32).fill(8)).vkey)), /another log/);
  for (const bad of ['', 'x\n', note.replace('\n\n', '\n'), note.replace('\n5\n', '\n05\n'), note.replace('— ', '- '), 'x'.repeat(5000)]) {
    await assert.rejects(openCheckpoint(bad, key));
  }
  assert.throws(() => parseVkey(signer.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')), /id does not match/);
});

test('without Ed25519 in WebCrypto the signature is still checked', async (t) => {
  t.mock.method(crypto.subtle, 'importKey', async () => { throw new DOMException('Ed25519', 'NotSupportedError'); });
  const fresh = signer.checkpoint({ size: 6, root: new Uint8Array(32).fill(2) }); // not in the verified-notes memo
  assert.equal((await openCheckpoint(fresh, key)).size, 6);
  await assert.rejects(openCheckpoint(fresh.replace('\n6\n', '\n7\n'), key), /signature is invalid/);
});

test('the name index root rides in a signed extension line; two indexes for one tree are caught', async () => {
  const idx = new Uint8Array(32).fill(3), withIndex = signer.checkpoint({ size: 5, root: new Uint8Array(32).fill(1), index: idx });
  const cp = await openCheckpoint(withIndex, key);
  assert.deepEqual(cp.index, idx);
  assert.match(withIndex, /\nkomrade-name-index AwMD[A-Za-z0-9+/]{39}=\n\n/);
  await assert.rejects(openCheckpoint(withIndex.replace('komrade-name-index AwMD', 'komrade-name-index AwME'), key), /signature is invalid/);
  const other = await openCheckpoint(signer.checkpoint({ size: 5, root: new Uint8Array(32).fill(1), index: new Uint8Array(32).fill(4) }), key);
  assert.throws(() => verifyExtends(cp, other, []), /two name indexes for its log at 5 entries/);
  verifyExtends(cp, cp, []);
});
