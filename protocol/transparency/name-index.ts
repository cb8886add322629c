/**
 * The name index of the key-transparency log (PROTOCOL.md §5.11.6): a sparse Merkle tree that
 * maps each live name's position, SHA-256("komrade/name-index/v1" ‖ 0x00 ‖ folded name), to
 * its current log leaf (leaf index, leaf hash). It is a fixed-depth binary tree over the first
 * DEPTH bits of the position; each bottom bucket holds its entries sorted by position and
 * hashes as an RFC 9162 leaf, SHA-256(0x00 ‖ entries), each interior node as SHA-256(0x01 ‖
 * left ‖ right); empty subtrees have precomputed default hashes. A proof of a position is its
 * bucket's entries and the non-default siblings, a bitmap saying which levels have one. Pure
 * functions: hash rules, a naive in-memory root (tests, the witness) and proof check.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { b64, bytesEqual, concat, unb64, utf8 } from '../bytes.ts';
import { leafHash, nodeHash } from './merkle.ts';

/** Levels of the tree: 2²⁰ buckets, about one name per bucket at 10⁶ names, a proof of at most 20 siblings. */
export const DEPTH = 20;
/** Most entries one bucket may hold (2⁻²⁰ of the names; far more than any real bucket). */
export const MAX_BUCKET = 64;
const TAG = utf8('komrade/name-index/v1\0');

/** What the index maps a live name to: its current leaf's index and hash. */
export interface IndexValue { index: number; leaf: Uint8Array }
/** One entry of a bucket: a position and its value. */
export interface IndexEntry extends IndexValue { position: Uint8Array }
/** A proof of one position: its bucket's entries (sorted), the bitmap of non-default siblings (bit k = level k, bottom-up) and those siblings. */
export interface IndexProof { bucket: { position: string; index: number; leaf: string }[]; bitmap: number; siblings: string[] }

/** The position of a folded name in the index. */
export function position(name: string): Uint8Array { return sha256(concat(TAG, utf8(name))); }

/** The bucket of a position: its first DEPTH bits as a number. */
export function bucketOf(p: Uint8Array): number { return ((p[0]! << 12) | (p[1]! << 4) | (p[2]! >> 4)) >>> 0; }

/** An entry's bytes: position ‖ 8-byte big-endian leaf index ‖ leaf hash. */
export function entryBytes(e: IndexEntry): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(e.index));
  return concat(e.position, n, e.leaf);
}

/** Order of entries in a bucket: by position, bytewise. */
export function comparePositions(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The hash of a bucket (entries sorted by position): SHA-256(0x00 ‖ entries). */
export function bucketHash(entries: IndexEntry[]): Uint8Array { return leafHash(concat(...entries.map(entryBytes))); }

/** The default hash of an empty subtree at each level (0 = an empty bucket, DEPTH = the empty index's root). */
export const DEFAULTS: readonly Uint8Array[] = (() => {
  const d = [bucketHash([])];
  for (let l = 0; l < DEPTH; l++) d.push(nodeHash(d[l]!, d[l]!));
  return d;
})();

/** The root of the empty index. */
export const EMPTY_INDEX: Uint8Array = DEFAULTS[DEPTH]!;

/** The root over a bucket's hash at `bucket` and the siblings `sibling(level)` along its path (undefined = default). */
export function pathRoot(bucket: number, hash: Uint8Array, sibling: (level: number) => Uint8Array | undefined): Uint8Array {
  let h = hash, at = bucket;
  for (let l = 0; l < DEPTH; l++, at >>>= 1) {
    const s = sibling(l) ?? DEFAULTS[l]!;
    h = at & 1 ? nodeHash(s, h) : nodeHash(h, s);
  }
  return h;
}

/** The nodes on a bucket's path after its hash becomes `hash`: level 1..DEPTH, each `{ level, at, hash }`, reading siblings by `read(level, at)` (undefined = default). */
export async function updatePath(bucket: number, hash: Uint8Array, read: (level: number, at: number) => Promise<Uint8Array | undefined> | Uint8Array | undefined): Promise<{ level: number; at: number; hash: Uint8Array }[]> {
  const out: { level: number; at: number; hash: Uint8Array }[] = [];
  let h = hash, at = bucket;
  for (let l = 0; l < DEPTH; l++, at >>>= 1) {
    const s = (await read(l, at ^ 1)) ?? DEFAULTS[l]!;
    h = at & 1 ? nodeHash(s, h) : nodeHash(h, s);
    out.push({ level: l + 1, at: at >>> 1, hash: h });
  }
  return out;
}

/** The root of an index given as all its entries (naive recomputation: tests and the witness). */
export function indexRoot(entries: Iterable<IndexEntry>): Uint8Array {
  const buckets = new Map<number, IndexEntry[]>();
  for (const e of entries) { const b = bucketOf(e.position); buckets.set(b, [...(buckets.get(b) ?? []), e]); }
  let level = new Map<number, Uint8Array>();
  for (const [b, es] of buckets) level.set(b, bucketHash(es.sort((x, y) => comparePositions(x.position, y.position))));
  for (let l = 0; l < DEPTH; l++) {
    const up = new Map<number, Uint8Array>();
    for (const at of level.keys()) {
      const p = at >>> 1;
      if (up.has(p)) continue;
      up.set(p, nodeHash(level.get(2 * p) ?? DEFAULTS[l]!, level.get(2 * p + 1) ?? DEFAULTS[l]!));
    }
    level = up;
  }
  return level.get(0) ?? EMPTY_INDEX;
}

/** A proof's wire form from a bucket's entries and the siblings along its path (undefined = default). */
export function makeProof(entries: IndexEntry[], siblings: (Uint8Array | undefined)[]): IndexProof {
  let bitmap = 0;
  const out: string[] = [];
  siblings.forEach((s, l) => { if (s && !bytesEqual(s, DEFAULTS[l]!)) { bitmap |= 1 << l; out.push(b64(s)); } });
  return { bucket: entries.map((e) => ({ position: b64(e.position), index: e.index, leaf: b64(e.leaf) })), bitmap: bitmap >>> 0, siblings: out };
}

/**
 * Check `proof` of position `p` against index root `root`: returns the value it maps `p` to, or
 * undefined if `p` is absent. Throws if the proof is malformed or does not hash to `root`.
 */
export function verifyIndexProof(root: Uint8Array, p: Uint8Array, proof: IndexProof): IndexValue | undefined {
  const memo = `${b64(root)} ${b64(p)} ${JSON.stringify(proof)}`;
  if (verified.has(memo)) return verified.get(memo);
  const value = checkProof(root, p, proof);
  verified.set(memo, value);
  if (verified.size > 64) verified.delete(verified.keys().next().value!);
  return value;
}

/** Proofs already checked (root, position, proof → value): a name looked up again at the same checkpoint needs no second check. */
const verified = new Map<string, IndexValue | undefined>();

function checkProof(root: Uint8Array, p: Uint8Array, proof: IndexProof): IndexValue | undefined {
  const b = bucketOf(p);
  if (proof.bucket.length > MAX_BUCKET) throw new Error('index proof: bucket too large');
  const entries = proof.bucket.map((e) => ({ position: unb64(e.position), index: e.index, leaf: unb64(e.leaf) }));
  entries.forEach((e, i) => {
    if (e.position.length !== 32 || e.leaf.length !== 32) throw new Error('index proof: malformed entry');
    if (bucketOf(e.position) !== b) throw new Error('index proof: an entry is in another bucket');
    if (i > 0 && comparePositions(entries[i - 1]!.position, e.position) >= 0) throw new Error('index proof: bucket not sorted');
  });
  const given = proof.siblings.map(unb64);
  if (given.some((s) => s.length !== 32)) throw new Error('index proof: malformed sibling');
  let next = 0;
  const sib: (Uint8Array | undefined)[] = [];
  for (let l = 0; l < DEPTH; l++) sib.push(proof.bitmap & (1 << l) ? given[next++] : undefined);
  if (next !== given.length || proof.bitmap >= 2 ** DEPTH || sib.some((s, l) => proof.bitmap & (1 << l) && !s)) throw new Error('index proof: bitmap and siblings disagree');
  if (!bytesEqual(pathRoot(b, bucketHash(entries), (l) => sib[l]), root)) throw new Error("index proof: does not hash to the checkpoint's index root");
  const hit = entries.find((e) => bytesEqual(e.position, p));
  return hit && { index: hit.index, leaf: hit.leaf };
}

/** One log entry as replayed: its leaf, the name and key while it lives, the leaf a deletion removes. */
export interface ReplayedEntry { index: number; leaf: Uint8Array; live?: { name: string }; removes?: number }

/**
 * The index recomputed from the log's entries in order (the witness, tests): a live entry moves
 * its name's position to itself; a deletion removes the position of the leaf it names, if known.
 */
export class IndexReplay {
  private readonly byPosition = new Map<string, IndexEntry>();
  private readonly byIndex = new Map<number, string>();

  /** A replay resumed from `saved` (as `save` gave it). */
  constructor(saved: [string, number, string][] = []) {
    for (const [p, index, leaf] of saved) this.put({ position: unb64(p), index, leaf: unb64(leaf) });
  }

  private put(e: IndexEntry): void {
    const p = b64(e.position), old = this.byPosition.get(p);
    if (old) this.byIndex.delete(old.index);
    this.byPosition.set(p, e); this.byIndex.set(e.index, p);
  }

  /** Apply the next entry. */
  apply(e: ReplayedEntry): void {
    if (e.live) this.put({ position: position(e.live.name), index: e.index, leaf: e.leaf });
    else if (e.removes !== undefined) {
      const p = this.byIndex.get(e.removes);
      if (p !== undefined) { this.byIndex.delete(e.removes); this.byPosition.delete(p); }
    }
  }

  /** The index's root now. */
  root(): Uint8Array { return indexRoot(this.byPosition.values()); }

  /** The entries, to resume from. */
  save(): [string, number, string][] { return [...this.byPosition.values()].map((e) => [b64(e.position), e.index, b64(e.leaf)]); }
}
