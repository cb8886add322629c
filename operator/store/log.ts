/**
 * The key-transparency log (PROTOCOL.md §5.11, §6): an append-only Merkle tree (RFC 9162 §2.1)
 * of every change of a name's identity key. A leaf is SHA-256(0x00 ‖ opening ‖ canonical JSON
 * {name, key, seq}) with a random 32-byte opening and seq its own index; the opening is kept
 * with the live name only and erased with it, so a deleted name's leaf is an opaque hash.
 *
 * The tree is stored as the hashes of its perfect subtrees, so an append writes O(log n) nodes
 * and a proof reads O(log n). Appends run one at a time; each writes its nodes, the new signed
 * checkpoint and the caller's own operations in one synced batch.
 *
 * Tables: H tree nodes (`<level hex2>!<index hex12>` → 32 bytes), O live openings (folded name
 * → {index, key, opening}), I live indexes (`<index hex12>` → folded name), K log state
 * (`seed` → the checkpoint key's seed; `head` → {size, note}).
 */
import { b64, randomBytes, unb64 } from '../../protocol/bytes.ts';
import { KeyedLock } from '../../protocol/lock.ts';
import { consistencyProof, EMPTY_ROOT, inclusionProof, nodeHash, subtreeHash, type NodeSource } from '../../protocol/transparency/merkle.ts';
import { logLeaf } from '../../protocol/transparency/verify.ts';
import { CheckpointSigner } from '../transparency/signer.ts';
import type { Core } from './core.ts';
import type { Op, Table } from './tables.ts';

/** A live name's place in the log: its leaf index (also its seq), identity key and opening (b64). */
export interface LiveLeaf { index: number; key: string; opening: string }
/** The log's newest signed checkpoint: its size and note text. */
export interface Head { size: number; note: string }
/** One entry of the log as monitors see it: the leaf hash, and for a live name what opens it. */
export interface LogEntry { index: number; leaf: Uint8Array; live?: { name: string; key: string; opening: string } }

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
const nodeKey = (level: number, index: number) => `${hex(level, 2)}!${hex(index, 12)}`;
/** Nodes at this level and up (one per 2^HIGH leaves) stay in memory once read. */
const HIGH = 6;
const DUMMY = new Uint8Array(32);

/** The Operator's key-transparency log, over the store's tables. */
export class Log {
  private readonly nodes: Table<Uint8Array>;
  private readonly openings: Table<LiveLeaf>;
  private readonly indexes: Table<string>;
  private readonly state: Table<unknown>;
  private readonly appending = new KeyedLock();
  private signer_: CheckpointSigner | undefined;
  private head_: Head = { size: 0, note: '' };
  private readonly high = new Map<string, Uint8Array>();

  constructor(private readonly core: Core) {
    this.nodes = core.table('H', 'view');
    this.openings = core.table('O', 'json');
    this.indexes = core.table('I', 'utf8');
    this.state = core.table('K', 'json');
  }

  /** Load the checkpoint key (making one on first open) and the newest checkpoint. */
  async load(): Promise<void> {
    let seed = (await this.state.get('seed')) as string | undefined;
    if (!seed) { seed = b64(randomBytes(32)); await this.core.write([this.state.put('seed', seed)]); }
    this.signer_ = new CheckpointSigner(unb64(seed));
    const head = (await this.state.get('head')) as Head | undefined;
    this.head_ = head ?? { size: 0, note: this.signer_.checkpoint({ size: 0, root: EMPTY_ROOT }) };
  }

  /** The checkpoint signer (its vkey is announced in `/v2/info`). */
  get signer(): CheckpointSigner {
    if (!this.signer_) throw new Error('the log is not loaded');
    return this.signer_;
  }

  /** The newest signed checkpoint. */
  get head(): Head { return this.head_; }

  /** Perfect-subtree hashes from the live database, with `extra` (this batch's) first; high nodes are kept in memory (they never change). */
  private source(extra?: Map<string, Uint8Array>): NodeSource {
    return async (level, index) => {
      const key = nodeKey(level, index);
      const h = extra?.get(key) ?? this.high.get(key) ?? (await this.nodes.get(key));
      if (!h) throw new Error(`log node ${key} is missing`);
      if (level >= HIGH) this.high.set(key, h);
      return h;
    };
  }

  /** A proof made by `make` over nodes read in one LevelDB call: a dry run names them, then they are read together. */
  private async batched<T>(make: (node: NodeSource) => Promise<T>): Promise<T> {
    const wanted = new Set<string>();
    await make((level, index) => { const k = nodeKey(level, index); if (!this.high.has(k)) wanted.add(k); return DUMMY; });
    const keys = [...wanted], values = keys.length ? await this.nodes.sub.getMany(keys) : [];
    const got = new Map(keys.map((k, i) => [k, values[i]!]).filter(([, v]) => v) as [string, Uint8Array][]);
    return make(this.source(got));
  }

  /**
   * Append one leaf for `name` — with its identity `key`, or `null` for a deletion (whose
   * opening is dropped at once) — and write it with the caller's own operations: `write` gets
   * the log's operations to add to its batch. Call inside the gate; appends queue here.
   */
  append(name: string, key: string | null, write: (ops: Op[]) => Promise<void>): Promise<void> {
    return this.appending.run('log', async () => {
      const index = this.head_.size, opening = randomBytes(32);
      const leaf = logLeaf(opening, name, key ?? '', index);
      const added = new Map<string, Uint8Array>([[nodeKey(0, index), leaf]]);
      let h = leaf, level = 0, at = index;
      while (at % 2 === 1) {
        h = nodeHash(await this.source(added)(level, at - 1), h);
        level++; at = (at - 1) / 2;
        added.set(nodeKey(level, at), h);
      }
      const root = await subtreeHash(this.source(added), 0, index + 1);
      const head: Head = { size: index + 1, note: this.signer.checkpoint({ size: index + 1, root }) };
      const ops: Op[] = [...[...added].map(([k, v]) => this.nodes.put(k, v)), this.state.put('head', head)];
      if (key !== null) ops.push(this.openings.put(name, { index, key, opening: b64(opening) }), this.indexes.put(hex(index, 12), name));
      await write(ops);
      this.head_ = head;
    });
  }

  /** The operations that forget a live name's opening and index (its leaf becomes opaque). Call inside the gate. */
  async forget(name: string): Promise<Op[]> {
    const live = await this.openings.get(name);
    return live ? [this.openings.del(name), this.indexes.del(hex(live.index, 12))] : [];
  }

  /** A live name's leaf, if any. Call inside the gate. */
  live(name: string): Promise<LiveLeaf | undefined> { return this.openings.get(name); }

  /** A live name's leaf, its inclusion proof and the checkpoint it is proved in. */
  lookup(name: string): Promise<{ leaf: LiveLeaf; proof: Uint8Array[]; head: Head } | undefined> {
    return this.core.gate.shared(async () => {
      const head = this.head_, leaf = await this.openings.get(name);
      if (!leaf || leaf.index >= head.size) return undefined;
      return { leaf, proof: await this.batched((node) => inclusionProof(node, leaf.index, head.size)), head };
    });
  }

  /** The inclusion proof of leaf `index` in the newest checkpoint's tree. */
  inclusion(index: number): Promise<Uint8Array[]> {
    return this.core.gate.shared(() => this.batched((node) => inclusionProof(node, index, this.head_.size)));
  }

  /** The consistency proof between the trees of `size1` and `size2` leaves (both within the newest checkpoint). */
  consistency(size1: number, size2: number): Promise<Uint8Array[]> {
    return this.core.gate.shared(() => this.batched((node) => consistencyProof(node, size1, size2)));
  }

  /** Up to `limit` entries from index `from`, within the newest checkpoint. */
  entries(from: number, limit: number): Promise<LogEntry[]> {
    return this.core.gate.shared(async () => {
      const end = Math.min(this.head_.size, from + limit), out: LogEntry[] = [];
      for (let i = from; i < end; i++) {
        const leaf = (await this.nodes.get(nodeKey(0, i)))!, name = await this.indexes.get(hex(i, 12));
        const live = name ? await this.openings.get(name) : undefined;
        out.push(live && name && live.index === i ? { index: i, leaf, live: { name, key: live.key, opening: live.opening } } : { index: i, leaf });
      }
      return out;
    });
  }
}
