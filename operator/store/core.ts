/**
 * The store's machinery (PROTOCOL.md §4, §6, §6.1), apart from any record family: the live
 * database and its generations, the registry of tables, group-commit writes (each write a
 * client is told succeeded is fsync'ed first, `sync: true`, so an acknowledged request survives
 * `kill -9`), spent nonces, the gate, and the forgetting rewrite.
 *
 * Forgetting is physical (§6.1): LevelDB deletes are tombstones, and neither compaction nor its
 * MANIFEST and LOG files promise to drop a deleted key's bytes. So after any delete (or a
 * restart) `compact` copies the live records of every registered table into a fresh database
 * directory, switches to it atomically and removes the old directory with all its files.
 */
import { rm } from 'node:fs/promises';
import { KeyedLock } from '../../protocol/lock.ts';
import { Gate } from '../gate.ts';
import { currentGeneration, genDir, openDb, pointTo, removeGeneration } from './generations.ts';
import { Table, type AnyTable, type DB, type Encoding, type Op } from './tables.ts';

const MINUTE = 60_000;
/** One hour, in ms. */
export const HOUR = 60 * MINUTE;
/** One day, in ms. */
export const DAY = 24 * HOUR;
const SYNC = { sync: true };
/** Records copied per batch during a rewrite. */
const COPY_BATCH = 2000;

/** Store settings. */
export interface StoreOptions {
  /** Blobs older than this, and mailboxes idle this long, are removed; graves last this long (ms). */
  ttlMs: number;
  maxBlobsPerMailbox: number;
  maxBytesPerMailbox: number;
  /** All pending blob bytes together, at most (0 or undefined = no limit). */
  maxStoreBytes?: number;
  /** The clock; injectable for tests. */
  now: () => number;
  /** fsync every write (default true). Only benchmarks that fill a store in bulk turn it off. */
  sync?: boolean;
}

/**
 * One request's spent nonces (PROTOCOL.md §4), reserved in memory at once (a concurrent reuse
 * is refused) and written in the same synced batch as the request's own first write, or alone
 * by `settle` before it is answered: one fsync per request, never a nonce after its action.
 */
export class Spends {
  /** Reserved, not yet handed to a batch: nonce and its (minute-rounded) expiry. */
  readonly pending: { nonce: string; until: number }[] = [];
}

/** Something a request names does not exist; the app answers 404 with this message. */
export class Missing extends Error {}

/** The database, its tables, group commit, nonces and the rewrite; record families build on it. */
export class Core {
  /** Per-key lock: the app serialises each mailbox, name and collective with it. Take it before the gate. */
  readonly lock = new KeyedLock();
  /** Requests share it; the rewrite's switch runs alone. */
  readonly gate = new Gate();
  private db_: DB | undefined;
  private gen = 0;
  private readonly tables: AnyTable[] = [];
  /** Spent request nonces (§4): nonce → expiry (ms). */
  private readonly nonces = this.table<number>('r', 'json');
  /** Deleted data may be on disk: true at open (a restart may follow a delete) and after every delete. */
  private dirty = true;
  /** Batches waiting for the next group commit, and whether one is under way. */
  private pending: { ops: Op[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;
  /** Nonces some request has reserved and not yet written (or failed to write). */
  private readonly reserved = new Set<string>();
  /** While a rewrite copies, every write is also recorded here, to be replayed into the copy. */
  private tee: { ops: Op[]; deletes: boolean } | undefined;

  constructor(readonly dir: string, readonly opts: StoreOptions) {}

  /** Register a table (a sublevel prefix letter, used by no other table); record families call it when they are made. */
  table<V>(prefix: string, encoding: Encoding): Table<V> {
    if (this.tables.some((t) => t.prefix === prefix)) throw new Error(`table prefix ${prefix} registered twice`);
    const t = new Table<V>(prefix, encoding);
    this.tables.push(t);
    if (this.db_) t.use(this.db_);
    return t;
  }

  /** The prefix letters of every registered table (PROTOCOL.md §6 lists them). */
  get prefixes(): string[] { return this.tables.map((t) => t.prefix); }

  /** The live database (tests read it directly). */
  get db(): DB {
    if (!this.db_) throw new Error('the store is not open');
    return this.db_;
  }

  private use(db: DB, gen: number) {
    this.db_ = db; this.gen = gen;
    for (const t of this.tables) t.use(db);
  }

  /** Open the live generation of the data directory (creating it if needed). */
  async open(): Promise<void> {
    const gen = await currentGeneration(this.dir);
    this.use(await openDb(genDir(this.dir, gen)), gen);
  }

  /** Close the database cleanly. */
  close(): Promise<void> { return this.gate.exclusive(() => this.db.close()); }

  /** Whole days since the epoch: the precision activity is kept at. */
  today(): number { return Math.floor(this.opts.now() / DAY); }

  /** The hour now, in ms: the only precision collective times are kept at. */
  hour(): number { return Math.floor(this.opts.now() / HOUR) * HOUR; }

  /** Mark that deleted data may be on disk, for the next `compact`. */
  deleted(): void { this.dirty = true; }

  /**
   * Write one request's batch durably (call inside the gate). Group commit: batches that arrive
   * while a sync is under way are joined into the next single synced LevelDB batch, so many
   * requests share one fsync; each caller resumes only once its own operations are on disk.
   * A crash loses only batches whose callers were not yet answered.
   */
  write(ops: Op[], spends?: Spends): Promise<void> {
    const nonces = spends?.pending.splice(0) ?? [];
    for (const op of ops) op.table.watch?.(op);
    const all = nonces.length ? [...nonces.map(({ nonce, until }) => this.nonces.put(nonce, until)), ...ops] : ops;
    const done = new Promise<void>((resolve, reject) => {
      this.pending.push({ ops: all, resolve, reject });
      if (!this.flushing) void this.flush();
    });
    // once written the database answers for the nonce; a failed write leaves it unspent
    if (nonces.length) { const release = () => { for (const n of nonces) this.reserved.delete(n.nonce); }; done.then(release, release); }
    return done;
  }

  /** Write a request's spent nonces that no write of its own carried (a read, a refusal after the check). */
  settle(spends: Spends): Promise<void> {
    return spends.pending.length ? this.gate.shared(() => this.write([], spends)) : Promise.resolve();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length) {
      const group = this.pending.splice(0);
      const ops = group.flatMap((w) => w.ops);
      try {
        await this.db.batch(ops.map((op) => ({ type: op.type, key: op.key, value: op.value, sublevel: op.table.sub })) as never, this.opts.sync === false ? {} : SYNC);
        if (this.tee) { this.tee.ops.push(...ops); this.tee.deletes ||= ops.some((op) => op.type === 'del'); }
        for (const w of group) w.resolve();
      } catch (e) {
        for (const w of group) w.reject(e);
      }
    }
    this.flushing = false;
  }

  /**
   * Spend a request nonce (or a spent proof of work) until `expires`; false if it was already
   * used or is reserved by a request in flight. With `spends` the nonce is reserved now and
   * written with that request's first write (or by `settle`); without, it is written now. The
   * expiry is kept rounded up to the next whole minute, so the store never holds a request's
   * time finer than that (PROTOCOL.md §6).
   */
  async spendNonce(nonce: string, expires: number, spends?: Spends): Promise<boolean> {
    const until = Math.ceil(expires / MINUTE) * MINUTE;
    if (this.reserved.has(nonce)) return false;
    this.reserved.add(nonce);
    try {
      if ((await this.gate.shared(() => this.nonces.get(nonce))) !== undefined) { this.reserved.delete(nonce); return false; }
    } catch (e) { this.reserved.delete(nonce); throw e; }
    const own = spends ?? new Spends();
    own.pending.push({ nonce, until });
    if (!spends) await this.settle(own);
    return true;
  }

  /** Give back what a refused request reserved and no batch wrote: its nonces stay unspent (a refusal changes nothing). */
  unspend(spends: Spends): void {
    for (const { nonce } of spends.pending.splice(0)) this.reserved.delete(nonce);
  }

  /** The sweep's part for nonces: remove those past their expiry; returns how many. */
  sweepNonces(): Promise<number> {
    return this.gate.shared(async () => {
      const now = this.opts.now(), ops: Op[] = [];
      for await (const [nonce, expires] of this.nonces.sub.iterator()) if (expires < now) ops.push(this.nonces.del(nonce));
      if (ops.length) await this.write(ops);
      return ops.length;
    });
  }

  /**
   * Forget physically (PROTOCOL.md §6.1): if anything was deleted since the last rewrite (or
   * the store was reopened), copy the live records into a fresh database while requests go on
   * (their writes are recorded and replayed onto the copy), then, with requests held for the
   * replay only, switch to the copy and remove the old database with all its files. A delete
   * made during the copy is replayed as a tombstone, so the store stays marked for the next
   * sweep. Returns true if it rewrote.
   */
  async compact(force = false): Promise<boolean> {
    if (!force && !this.dirty) return false;
    const gen = this.gen + 1, path = genDir(this.dir, gen);
    const raw = { keyEncoding: 'view', valueEncoding: 'view' } as const;
    await rm(path, { recursive: true, force: true });
    const fresh = await openDb(path);
    try {
      await this.gate.shared(async () => {
        this.dirty = false;
        this.tee = { ops: [], deletes: false };
        let batch: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = [];
        // the iterator reads a snapshot taken now; later writes are in the tee
        for await (const [key, value] of this.db.iterator<Uint8Array, Uint8Array>(raw)) {
          batch.push({ type: 'put', key, value });
          if (batch.length >= COPY_BATCH) { await fresh.batch(batch as never, raw as never); batch = []; }
        }
        if (batch.length) await fresh.batch(batch as never, raw as never);
      });
      await this.gate.exclusive(async () => {
        const tee = this.tee!;
        this.tee = undefined;
        const subs = new Map(this.tables.map((t) => [t, t.in(fresh)]));
        // replayed in order; the sync also makes every earlier (unsynced) copy batch durable
        const replay = tee.ops.map((op) => ({ type: op.type, key: op.key, value: op.value, sublevel: subs.get(op.table)! }));
        const marker = { type: 'put', key: '~rewrite', value: '', sublevel: subs.get(this.nonces)! };
        await fresh.batch([...replay, marker, { ...marker, type: 'del' }] as never, SYNC);
        if (tee.deletes) this.dirty = true;
        await pointTo(this.dir, gen);
        const old = this.db, oldGen = this.gen;
        this.use(fresh, gen);
        await old.close();
        await removeGeneration(this.dir, oldGen);
      });
    } catch (e) {
      this.tee = undefined; this.dirty = true;
      if (fresh.status === 'open' && this.db_ !== fresh) { await fresh.close(); await rm(path, { recursive: true, force: true }); }
      throw e;
    }
    return true;
  }
}
