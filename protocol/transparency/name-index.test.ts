// The name index (PROTOCOL.md §5.11.6) against a naive recomputation: any sequence of sets and
// removals, applied incrementally along one path at a time (as the Operator stores it), gives
// the root computed from scratch; a proof of every position (present or absent) checks out and
// says what the index holds; a changed value, sibling, bitmap or bucket is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { b64, unb64 } from '../bytes.ts';
import {
  bucketHash, bucketOf, comparePositions, DEFAULTS, DEPTH, EMPTY_INDEX, indexRoot, makeProof, position, updatePath, verifyIndexProof,
  type IndexEntry, type IndexProof,
} from './name-index.ts';

/** An incremental index as the Operator keeps it: buckets and non-default nodes. */
class Incremental {
  readonly buckets = new Map<number, IndexEntry[]>();
  readonly nodes = new Map<string, Uint8Array>();
  root = EMPTY_INDEX;
  async set(p: Uint8Array, v: { index: number; leaf: Uint8Array } | undefined): Promise<void> {
    const b = bucketOf(p), es = (this.buckets.get(b) ?? []).filter((e) => comparePositions(e.position, p) !== 0);
    if (v) es.push({ position: p, ...v });
    es.sort((x, y) => comparePositions(x.position, y.position));
    if (es.length) this.buckets.set(b, es); else this.buckets.delete(b);
    const h = bucketHash(es);
    this.put(0, b, h);
    for (const n of await updatePath(b, h, (l, at) => this.nodes.get(`${l}:${at}`))) this.put(n.level, n.at, n.hash);
    this.root = this.nodes.get(`${DEPTH}:0`) ?? EMPTY_INDEX;
  }
  private put(level: number, at: number, h: Uint8Array) {
    if (Buffer.from(h).equals(DEFAULTS[level]!)) this.nodes.delete(`${level}:${at}`); else this.nodes.set(`${level}:${at}`, h);
  }
  prove(p: Uint8Array): IndexProof {
    const sib: (Uint8Array | undefined)[] = [];
    for (let l = 0, at = bucketOf(p); l < DEPTH; l++, at >>>= 1) sib.push(this.nodes.get(`${l}:${at ^ 1}`));
    return makeProof(this.buckets.get(bucketOf(p)) ?? [], sib);
  }
}

// positions from few names and some sharing one bucket (first 20 bits equal), so buckets hold several
const names = ['bob', 'alice', 'carol', 'dave', 'erin', 'komrades'];
const twin = (n: number) => { const p = position(`twin${n}`); p[0] = 0xab; p[1] = 0xcd; p[2] = (p[2]! & 0x0f) | 0xe0; return p; };
const positions = [...names.map(position), ...[0, 1, 2, 3].map(twin)];
const leaf = (n: number) => new Uint8Array(32).fill(n % 251);

test('incremental updates match the naive root; proofs of every position check and tell the value', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(positions.length - 1), fc.option(fc.nat(1000))), { maxLength: 30 }), async (ops) => {
    const inc = new Incremental(), model = new Map<string, IndexEntry>();
    for (const [i, v] of ops) {
      const p = positions[i]!;
      await inc.set(p, v === null ? undefined : { index: v, leaf: leaf(v) });
      if (v === null) model.delete(b64(p)); else model.set(b64(p), { position: p, index: v, leaf: leaf(v) });
      assert.deepEqual(inc.root, indexRoot(model.values()));
    }
    for (const p of positions) {
      const got = verifyIndexProof(inc.root, p, inc.prove(p)), want = model.get(b64(p));
      assert.deepEqual(got && { index: got.index, leaf: b64(got.leaf) }, want && { index: want.index, leaf: b64(want.leaf) });
    }
    if ([...inc.buckets.keys()].length === 0) assert.deepEqual(inc.root, EMPTY_INDEX, 'removing everything leaves the empty index');
  }), { numRuns: 150 });
});

test('a proof that does not match the root, or is malformed, is refused', async () => {
  const inc = new Incremental();
  for (const [i, p] of positions.entries()) await inc.set(p, { index: i, leaf: leaf(i) });
  const p = positions[6]!, good = inc.prove(p);
  assert.equal(good.bucket.length, 4, 'the twins share a bucket');
  assert.equal(verifyIndexProof(inc.root, p, good)!.index, 6);
  const other = new Uint8Array(32).fill(9);
  const bad: [string, IndexProof][] = [
    ['changed value', { ...good, bucket: good.bucket.map((e, i) => (i === 1 ? { ...e, index: e.index + 1 } : e)) }],
    ['dropped entry', { ...good, bucket: good.bucket.filter((e) => e.position !== b64(p)) }],
    ['unsorted', { ...good, bucket: [...good.bucket].reverse() }],
    ['foreign entry', { ...good, bucket: [...good.bucket, { position: b64(position('zed')), index: 1, leaf: b64(other) }] }],
    ['changed sibling', { ...good, siblings: [b64(other), ...good.siblings.slice(1)] }],
    ['bitmap flip', { ...good, bitmap: good.bitmap ^ (1 << 19) }],
    ['extra sibling', { ...good, siblings: [...good.siblings, b64(other)] }],
  ];
  for (const [what, proof] of bad) assert.throws(() => verifyIndexProof(inc.root, p, proof), /index proof/, what);
  assert.throws(() => verifyIndexProof(other, p, good), /does not hash/);
  assert.equal(unb64(good.siblings[0]!).length, 32);
});
