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
 * Each checkpoint also carries the root of the name index (name-index.ts, §5.11.6), which maps
 * each live name to its current leaf; a deletion's leaf records the leaf index it removes.
 * Readers of the index see it at one checkpoint: an epoch counter, odd while an append writes,
 * makes them read again if an append landed meanwhile.
 *
 * Tables: H tree nodes (`<level hex2>!<index hex12>` → 32 bytes), O live openings (folded name
 * → {index, key, opening}), I live indexes (`<index hex12>` → folded name), R removals
 * (`<deletion's index hex12>` → the removed leaf index), K log state (`seed` → the checkpoint
 * key's seed; `head` → {size, note}).
 */
import { b64, randomBytes, unb64 } from '../../protocol/bytes.ts';
import { KeyedLock } from '../../protocol/lock.ts';
import { consistencyProof, EMPTY_ROOT, inclusionProof, nodeHash, subtreeHash, type NodeSource } from '../../protocol/transparency/merkle.ts';
import type { IndexProof } from '../../protocol/transparency/name-index.ts';
import { logLeaf } from '../../protocol/transparency/verify.ts';
import { CheckpointSigner } from '../transparency/signer.ts';
import type { Core } from './core.ts';
import { NameIndex } from './name-index.ts';
import type { Op, Table } from './tables.ts';

/** A live name's place in the log: its leaf index (also its seq), identity key and opening (b64). */
export interface LiveLeaf { index: number; key: string; opening: string }
/** The log's newest signed checkpoint: its size and note text. */
export interface Head { size: number; note: string }
/** One entry of the log as monitors see it: the leaf hash, and for a live name what opens it. */
export interface LogEntry { index: number; leaf: Uint8Array; live?: { name: string; key: string; opening: string }; removes?: number }

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
  private readonly removals: Table<string>;
  /** The name index whose root each checkpoint carries. */
  readonly names: NameIndex;
  private epoch = 0;
  private readonly appending = new KeyedLock();
  private signer_: CheckpointSigner | undefined;
  private head_: Head = { size: 0, note: '' };
  private readonly high = new Map<string, Uint8Array>();

  constructor(private readonly core: Core) {
    this.nodes = core.table('H', 'view');
    this.openings = core.table('O', 'json');
    this.indexes = core.table('I', 'utf8');
    this.state = core.table('K', 'json');
    this.removals = core.table('R', 'utf8');
    this.names = new NameIndex(core);
  }

  /** Load the checkpoint key (making one on first open) and the newest checkpoint. */
  async load(): Promise<void> {
    let seed = (await this.state.get('seed')) as string | undefined;
    if (!seed) { seed = b64(randomBytes(32)); await this.core.write([this.state.put('seed', seed)]); }
    this.signer_ = new CheckpointSigner(unb64(seed));
    await this.names.load();
    const head = (await this.state.get('head')) as Head | undefined;
    this.head_ = head ?? { size: 0, note: this.signer_.checkpoint({ size: 0, root: EMPTY_ROOT, index: this.names.root }) };
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
      const removed = key === null ? await this.openings.get(name) : undefined;
      const names = await this.names.set(name, key === null ? undefined : { index, leaf });
      const head: Head = { size: index + 1, note: this.signer.checkpoint({ size: index + 1, root, index: names.root }) };
      const ops: Op[] = [...[...added].map(([k, v]) => this.nodes.put(k, v)), ...names.ops, this.state.put('head', head)];
      if (key !== null) ops.push(this.openings.put(name, { index, key, opening: b64(opening) }), this.indexes.put(hex(index, 12), name));
      if (removed) ops.push(this.removals.put(hex(index, 12), String(removed.index)));
      this.epoch++;
      try {
        await write(ops);
        this.names.commit(names.root);
        this.head_ = head;
      } finally { this.epoch++; }
    });
  }

  /** The operations that forget a live name's opening and index (its leaf becomes opaque). Call inside the gate. */
  async forget(name: string): Promise<Op[]> {
    const live = await this.openings.get(name);
    return live ? [this.openings.del(name), this.indexes.del(hex(live.index, 12))] : [];
  }

  /** A live name's leaf, if any. Call inside the gate. */
  live(name: string): Promise<LiveLeaf | undefined> { return this.openings.get(name); }

  /** `read` at one checkpoint: read again if an append was written meanwhile (the index changes in place). */
  private async stable<T>(read: (head: Head) => Promise<T>): Promise<T> {
    for (;;) {
      const e = this.epoch;
      if (e % 2 === 0) { const r = await read(this.head_); if (this.epoch === e) return r; }
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** A live name's leaf, its inclusion proof, the checkpoint it is proved in and its index proof there. */
  lookup(name: string): Promise<{ leaf: LiveLeaf; proof: Uint8Array[]; head: Head; names: IndexProof } | undefined> {
    return this.core.gate.shared(() => this.stable(async (head) => {
      const leaf = await this.openings.get(name);
      if (!leaf || leaf.index >= head.size) return undefined;
      const [proof, names] = await Promise.all([this.batched((node) => inclusionProof(node, leaf.index, head.size)), this.names.prove(name)]);
      return { leaf, proof, head, names };
    }));
  }

  /** A name's index proof at the newest checkpoint (§5.11.6), and that checkpoint. */
  indexProof(name: string): Promise<{ proof: IndexProof; head: Head }> {
    return this.core.gate.shared(() => this.stable(async (head) => ({ proof: await this.names.prove(name), head })));
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
      const at = Array.from({ length: Math.max(0, end - from) }, (_, k) => hex(from + k, 12));
      const [leaves, names, removals] = await Promise.all([this.nodes.sub.getMany(at.map((k) => `00!${k}`)), this.indexes.sub.getMany(at), this.removals.sub.getMany(at)]);
      const lives = await this.openings.sub.getMany(names.filter((n): n is string => !!n));
      let next = 0;
      at.forEach((_, k) => {
        const i = from + k, leaf = leaves[k]!, name = names[k], live = name ? lives[next++] : undefined, removes = removals[k];
        out.push(live && name && live.index === i ? { index: i, leaf, live: { name, key: live.key, opening: live.opening } } : removes ? { index: i, leaf, removes: Number(removes) } : { index: i, leaf });
      });
      return out;
    });
  }
}
