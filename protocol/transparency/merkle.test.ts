/**
 * The Merkle tree (protocol/transparency/merkle.ts) against the published transparency-dev/merkle
 * vectors (test/fixtures/merkle-vectors.json: tree hashes of its eight leaf inputs, and every
 * inclusion and consistency case, valid and broken), and a property test: every proof generated
 * for random sizes verifies, and a changed byte, index or size makes it fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { consistencyProof, EMPTY_ROOT, inclusionProof, leafHash, nodesOf, rootOf, verifyConsistency, verifyInclusion } from './merkle.ts';

interface Inclusion { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean; file: string }
interface Consistency { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean; file: string }
const V = JSON.parse(readFileSync(new URL('../../test/fixtures/merkle-vectors.json', import.meta.url), 'utf8')) as {
  leafInputsHex: string[]; rootHashesHex: string[]; inclusion: Inclusion[]; consistency: Consistency[];
};
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const leaves = V.leafInputsHex.map((h) => leafHash(new Uint8Array(Buffer.from(h, 'hex'))));

test('the tree hash of the first n leaf inputs is the published root, for n = 0..8', async () => {
  assert.equal(hex(EMPTY_ROOT), V.rootHashesHex[0]);
  for (let n = 1; n <= 8; n++) assert.equal(hex(await rootOf(leaves.slice(0, n))), V.rootHashesHex[n], `size ${n}`);
});

test('every published inclusion vector verifies or fails as it says', () => {
  assert.ok(V.inclusion.length > 90);
  for (const v of V.inclusion) {
    const ok = verifyInclusion(b64(v.leafHash), v.leafIdx, v.treeSize, (v.proof ?? []).map(b64), b64(v.root));
    assert.equal(ok, !v.wantErr, v.file);
  }
});

test('every published consistency vector verifies or fails as it says', () => {
  assert.ok(V.consistency.length > 90);
  for (const v of V.consistency) {
    const ok = verifyConsistency(v.size1, v.size2, (v.proof ?? []).map(b64), b64(v.root1), b64(v.root2));
    assert.equal(ok, !v.wantErr, v.file);
  }
});

test('the generated proofs over the published leaves are the published happy-path proofs', async () => {
  const node = nodesOf(leaves);
  for (const v of V.inclusion.filter((x) => !x.wantErr && x.treeSize <= 8 && x.proof)) {
    assert.deepEqual((await inclusionProof(node, v.leafIdx, v.treeSize)).map(hex), v.proof!.map((p) => hex(b64(p))), v.file);
  }
  for (const v of V.consistency.filter((x) => !x.wantErr && x.size1 > 0 && x.size2 <= 8 && x.proof)) {
    assert.deepEqual((await consistencyProof(node, v.size1, v.size2)).map(hex), v.proof!.map((p) => hex(b64(p))), v.file);
  }
});

const flip = (proof: Uint8Array[], i: number, bit: number) => proof.map((p, j) => { const c = p.slice(); if (j === i) c[bit >> 3]! ^= 1 << (bit & 7); return c; });

test('property: every generated proof verifies, and a changed byte, leaf, index or root fails', async () => {
  const all = Array.from({ length: 300 }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
  const node = nodesOf(all), other = leafHash(new Uint8Array([1]));
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), fc.nat(255), async (size, a, b, bit) => {
    const index = a % size, size1 = 1 + (b % size);
    const root = await rootOf(all.slice(0, size)), root1 = await rootOf(all.slice(0, size1));
    const inc = await inclusionProof(node, index, size);
    assert.ok(verifyInclusion(all[index]!, index, size, inc, root));
    if (inc.length) assert.ok(!verifyInclusion(all[index]!, index, size, flip(inc, bit % inc.length, bit), root));
    assert.ok(!verifyInclusion(all[(index + 1) % 300]!, index, size, inc, root));
    if (size > 1) assert.ok(!verifyInclusion(all[index]!, (index + 1) % size, size, inc, root));
    const con = await consistencyProof(node, size1, size);
    assert.ok(verifyConsistency(size1, size, con, root1, root));
    if (con.length) assert.ok(!verifyConsistency(size1, size, flip(con, bit % con.length, bit), root1, root));
    if (size1 < size) {
      assert.ok(!verifyConsistency(size1, size, con, root, root1));
      assert.ok(!verifyConsistency(size1, size, con, root1, await rootOf([...all.slice(0, size - 1), other])));
    }
  }), { numRuns: 300 });
});
