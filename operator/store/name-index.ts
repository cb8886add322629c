/**
 * The Operator's name index (PROTOCOL.md §5.11.6; protocol/transparency/name-index.ts): each
 * live name's position → its current log leaf, as a fixed-depth sparse Merkle tree whose
 * non-default nodes and non-empty buckets are stored. A removed name's entry leaves its bucket
 * (an emptied bucket and its default nodes are deleted), so after the forgetting rewrite no
 * file holds its position. Changes are made by the log (log.ts) inside its append, one at a time.
 *
 * Tables: N nodes (`<level hex2>!<at hex6>` → 32 bytes, level 0 = a bucket's hash), B buckets
 * (`<bucket hex6>` → its entries' bytes, 72 each, sorted by position).
 */
import { bytesEqual } from '../../protocol/bytes.ts';
import {
  bucketHash, bucketOf, comparePositions, DEFAULTS, DEPTH, EMPTY_INDEX, entryBytes, makeProof, position, updatePath,
  type IndexEntry, type IndexProof,
} from '../../protocol/transparency/name-index.ts';
import type { Core } from './core.ts';
import type { Op, Table } from './tables.ts';

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
const nodeKey = (level: number, at: number) => `${hex(level, 2)}!${hex(at, 6)}`;
const ENTRY = 72;

function decode(bytes: Uint8Array | undefined): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (let i = 0; bytes && i + ENTRY <= bytes.length; i += ENTRY) {
    const e = bytes.subarray(i, i + ENTRY);
    out.push({ position: e.slice(0, 32), index: Number(new DataView(e.buffer, e.byteOffset + 32, 8).getBigUint64(0)), leaf: e.slice(40, 72) });
  }
  return out;
}

/** The index's stored tree. */
export class NameIndex {
  private readonly nodes: Table<Uint8Array>;
  private readonly buckets: Table<Uint8Array>;
  private root_: Uint8Array = EMPTY_INDEX;

  constructor(core: Core) {
    this.nodes = core.table('N', 'view');
    this.buckets = core.table('B', 'view');
  }

  /** Read the root (at open). */
  async load(): Promise<void> { this.root_ = (await this.nodes.get(nodeKey(DEPTH, 0))) ?? EMPTY_INDEX; }

  /** The current root (the one the newest checkpoint carries once an append is written). */
  get root(): Uint8Array { return this.root_; }

  /**
   * The operations that point `name`'s position at `value` (or remove it), and the new root.
   * The caller writes them and then calls `commit(root)`.
   */
  async set(name: string, value: { index: number; leaf: Uint8Array } | undefined): Promise<{ ops: Op[]; root: Uint8Array }> {
    const p = position(name), b = bucketOf(p);
    const entries = decode(await this.buckets.get(hex(b, 6))).filter((e) => comparePositions(e.position, p) !== 0);
    if (value) entries.push({ position: p, ...value });
    entries.sort((x, y) => comparePositions(x.position, y.position));
    const ops: Op[] = [entries.length ? this.buckets.put(hex(b, 6), Buffer.concat(entries.map(entryBytes))) : this.buckets.del(hex(b, 6))];
    const h = bucketHash(entries);
    const put = (level: number, at: number, hash: Uint8Array) =>
      ops.push(bytesEqual(hash, DEFAULTS[level]!) ? this.nodes.del(nodeKey(level, at)) : this.nodes.put(nodeKey(level, at), hash));
    put(0, b, h);
    const path = await updatePath(b, h, (level, at) => this.nodes.get(nodeKey(level, at)));
    for (const n of path) put(n.level, n.at, n.hash);
    return { ops, root: path.at(-1)!.hash };
  }

  /** Take `root` as current (after its operations are written). */
  commit(root: Uint8Array): void { this.root_ = root; }

  /** The proof of `name`'s position in the current index. */
  async prove(name: string): Promise<IndexProof> {
    const p = position(name), b = bucketOf(p), keys: string[] = [];
    for (let l = 0, at = b; l < DEPTH; l++, at >>>= 1) keys.push(nodeKey(l, at ^ 1));
    const [bucket, siblings] = await Promise.all([this.buckets.get(hex(b, 6)), this.nodes.sub.getMany(keys)]);
    return makeProof(decode(bucket), siblings);
  }
}
