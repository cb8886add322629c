/**
 * The Merkle tree of the key-transparency log (PROTOCOL.md §5.11; RFC 9162 §2.1): SHA-256 with
 * domain-separated leaf (0x00) and node (0x01) hashes, the tree hash of n leaves, inclusion and
 * consistency proofs — generated from a source of perfect-subtree hashes (so a stored tree
 * answers with O(log n) reads) and verified as RFC 9162 §2.1.3.2 and §2.1.4.2 describe.
 */
import { sha256 } from '@noble/hashes/sha2.js';

/** The size of every hash in the tree, in bytes. */
export const HASH_BYTES = 32;

/** The hash of a leaf's data: SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Uint8Array {
  const b = new Uint8Array(data.length + 1);
  b.set(data, 1);
  return sha256(b);
}

/** The hash of an interior node: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const b = new Uint8Array(1 + left.length + right.length);
  b[0] = 1; b.set(left, 1); b.set(right, 1 + left.length);
  return sha256(b);
}

/** The tree hash of no leaves: SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** The hash of the perfect subtree at `level` (0 = leaves) and position `index` within that level. */
export type NodeSource = (level: number, index: number) => Uint8Array | Promise<Uint8Array>;

/** The largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** log2 of a power of two, or -1 if n is not one. */
function perfectLevel(n: number): number {
  let l = 0;
  while (n > 1) { if (n % 2) return -1; n /= 2; l++; }
  return l;
}

/** MTH(D[start:end]) (RFC 9162 §2.1.1) from perfect-subtree hashes: O(log n) reads. */
export async function subtreeHash(node: NodeSource, start: number, end: number): Promise<Uint8Array> {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  const level = perfectLevel(n);
  if (level >= 0 && start % n === 0) return node(level, start / n);
  const k = split(n);
  return nodeHash(await subtreeHash(node, start, start + k), await subtreeHash(node, start + k, end));
}

/** The tree hash of a list of leaf hashes (small trees and tests). */
export function rootOf(leaves: Uint8Array[]): Promise<Uint8Array> {
  return subtreeHash(nodesOf(leaves), 0, leaves.length);
}

/** A node source over an in-memory list of leaf hashes (computes interior nodes on demand). */
export function nodesOf(leaves: Uint8Array[]): NodeSource {
  const memo = new Map<string, Uint8Array>();
  const get = (level: number, index: number): Uint8Array => {
    if (level === 0) return leaves[index]!;
    const key = `${level}:${index}`;
    let h = memo.get(key);
    if (!h) { h = nodeHash(get(level - 1, 2 * index), get(level - 1, 2 * index + 1)); memo.set(key, h); }
    return h;
  };
  return get;
}

/** The inclusion proof PATH(m, D[n]) of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1). */
export async function inclusionProof(node: NodeSource, index: number, size: number): Promise<Uint8Array[]> {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path: Uint8Array[] = [];
  let start = 0, end = size;
  // walk down from the root, collecting the sibling subtrees; the proof lists them leaf-first
  while (end - start > 1) {
    const k = split(end - start);
    if (index < start + k) { path.push(await subtreeHash(node, start + k, end)); end = start + k; }
    else { path.push(await subtreeHash(node, start, start + k)); start += k; }
  }
  return path.reverse();
}

/** The consistency proof PROOF(m, D[n]) between the trees of `size1` and `size2` leaves (RFC 9162 §2.1.4.1). */
export async function consistencyProof(node: NodeSource, size1: number, size2: number): Promise<Uint8Array[]> {
  if (!(size1 > 0 && size1 <= size2)) throw new RangeError(`no consistency proof from ${size1} to ${size2}`);
  const proof: Uint8Array[] = [];
  let m = size1, start = 0, end = size2, complete = true;
  while (m !== end - start) {
    const k = split(end - start);
    if (m <= k) { proof.push(await subtreeHash(node, start + k, end)); end = start + k; }
    else { proof.push(await subtreeHash(node, start, start + k)); start += k; m -= k; complete = false; }
  }
  if (!complete) proof.push(await subtreeHash(node, start, end));
  return proof.reverse();
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const wellFormed = (hashes: Uint8Array[]) => hashes.every((h) => h.length === HASH_BYTES);

/** Whether `proof` shows leaf hash `leaf` at `index` in the tree of `size` leaves with root `root` (RFC 9162 §2.1.3.2). */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: Uint8Array[], root: Uint8Array): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false;
  if (leaf.length !== HASH_BYTES || !wellFormed(proof)) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else r = nodeHash(r, p);
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/**
 * Whether `proof` shows the tree of `size1` leaves with root `root1` is a prefix of the tree of
 * `size2` leaves with root `root2` (RFC 9162 §2.1.4.2). As transparency-dev/merkle does, a proof
 * from the empty tree is refused as meaningless, and equal sizes need equal roots and no proof.
 */
export function verifyConsistency(size1: number, size2: number, proof: Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2)) || size1 <= 0 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  if (proof.length === 0 || !wellFormed(proof)) return false;
  const path = perfectLevel(size1) >= 0 ? [root1, ...proof] : proof;
  let fn = size1 - 1, sn = size2 - 1;
  while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  let fr = path[0]!, sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr); sr = nodeHash(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else sr = nodeHash(sr, c);
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, root1) && equal(sr, root2);
}
