/**
 * The Operator's storage (PROTOCOL.md §6, COLLECTIVES.md §12, POSTS.md §7) in LevelDB: one
 * object per record family — the directory (`names`) and its key-transparency `log`, `mailboxes`, `collectives`, `posts` —
 * each owning its tables, over the shared machinery (core.ts: generations, group commit, spent
 * nonces, the gate, the forgetting rewrite). Times are stored coarsely (hour/day) only.
 */
import { Core, type Spends, type StoreOptions } from './core.ts';
import { Collectives } from './collectives.ts';
import { Log } from './log.ts';
import { Mailboxes } from './mailboxes.ts';
import { Names } from './names.ts';
import { Posts } from './posts.ts';
import type { DB } from './tables.ts';

/** The record types and settings callers name, from the modules that own them. */
export { Missing, Spends, type StoreOptions } from './core.ts';
export type { CollectiveMeta, MemberRec, RequestRec } from './collective-records.ts';
export type { DepositResult, MailboxMeta } from './mailboxes.ts';
export { MAX_PENDING_POSTS, type CursorRec, type EpochRec, type FeedMeta } from './posts.ts';

/** What one sweep removed: counts only. */
export interface SweepCounts { blobs: number; mailboxes: number; nonces: number; posts: number }

/** LevelDB-backed storage, by record family, with per-key serialisation and a forgetting rewrite. */
export class Store {
  /** Mailboxes, their blobs, expiry index and graves. */
  readonly mailboxes: Mailboxes;
  /** Registered names and their confusable skeletons. */
  readonly names: Names;
  /** The key-transparency log of name keys (PROTOCOL.md §5.11). */
  readonly log: Log;
  /** Collectives: trees, roots, logs, requests, members, proofs. */
  readonly collectives: Collectives;
  /** Posts: feeds, epochs, key envelopes, posts, cursors. */
  readonly posts: Posts;

  private constructor(private readonly core: Core) {
    this.mailboxes = new Mailboxes(core);
    this.log = new Log(core);
    this.names = new Names(core, this.mailboxes, this.log);
    this.collectives = new Collectives(core, this.names);
    this.posts = new Posts(core, this.collectives);
  }

  /** Open (creating if needed) the store in data directory `dir`. */
  static async open(dir: string, opts: StoreOptions): Promise<Store> {
    const store = new Store(new Core(dir, opts));
    await store.core.open();
    await store.mailboxes.load();
    await store.log.load();
    await store.names.backfill();
    return store;
  }

  /** Per-key lock (operator/lock-keys.ts): take it before the store's own gate. */
  get lock() { return this.core.lock; }
  /** The data directory. */
  get dir(): string { return this.core.dir; }
  /** The settings the store was opened with. */
  get opts(): StoreOptions { return this.core.opts; }
  /** The live database (tests read it directly). */
  get db(): DB { return this.core.db; }

  /** The prefix letters of every table the record families registered. */
  get prefixes(): string[] { return this.core.prefixes; }

  /** Spend a request nonce until `expires`; false if already spent or reserved (see `Core.spendNonce`). */
  spendNonce(nonce: string, expires: number, spends?: Spends): Promise<boolean> { return this.core.spendNonce(nonce, expires, spends); }

  /** Give back the nonces a refused request reserved and nothing wrote (core.ts `unspend`). */
  unspend(spends: Spends): void { this.core.unspend(spends); }

  /** Write a request's spent nonces that no write of its own carried. */
  settle(spends: Spends): Promise<void> { return this.core.settle(spends); }

  /** Remove expired blobs, idle mailboxes (not intros), old nonces and graves, expired posts. Returns counts only. */
  async sweep(): Promise<SweepCounts> {
    const { blobs, mailboxes } = await this.mailboxes.sweep();
    const nonces = await this.core.sweepNonces();
    const posts = await this.posts.sweep();
    return { blobs, mailboxes, nonces, posts };
  }

  /** Forget physically (PROTOCOL.md §6.1): rewrite the live records if anything was deleted; true if it rewrote. */
  compact(force = false): Promise<boolean> { return this.core.compact(force); }

  /** Close the database cleanly. */
  close(): Promise<void> { return this.core.close(); }
}
