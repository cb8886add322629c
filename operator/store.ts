/**
 * The Operator's storage (PROTOCOL.md §6): names, mailboxes, pending blobs, spent nonces and
 * graves of deleted mailbox ids, in LevelDB. Each write that a client is told succeeded is
 * fsync'ed first (`sync: true`), so an acknowledged deposit survives `kill -9`.
 *
 * Forgetting is physical (§6.1): LevelDB deletes are tombstones, and neither compaction nor its
 * MANIFEST and LOG files promise to drop a deleted key's bytes. So a sweep that follows any
 * delete (or a restart) copies the live records into a fresh database directory, switches to it
 * atomically and removes the old directory: every file that held deleted data is unlinked.
 * Times are stored coarsely (hour/day) only.
 */
import { Level } from 'level';
import type { ClassicLevel } from 'classic-level';
import { mkdir, open as openFile, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { KeyedLock } from '../protocol/lock.ts';
import type { SignedRecord } from '../protocol/wire.ts';
import type { Auth } from '../protocol/wire.ts';
import { ACCEPTED_ROOTS, ROOT_MAX_AGE_MS, entryHash, type LogEntry, type SignedCharter, type SignedJoin } from '../protocol/collective.ts';
import { quorum } from '../protocol/quorum.ts';
import { rootOf } from '../protocol/vouch.ts';
import type { VouchProof } from '../protocol/vouch-wire.ts';
import { Gate } from './gate.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SYNC = { sync: true };
/** Records copied per batch during a rewrite. */
const COPY_BATCH = 2000;

type DB = ClassicLevel<string, string>;

/** One operation of an atomic batch, on any sublevel. */
interface Op { type: 'put' | 'del'; key: string; value?: unknown; sublevel: unknown }

/**
 * What the Operator keeps about one mailbox. `day` is the last owner activity, in whole days;
 * `intro` marks a name's intro mailbox (it needs proof of work to deposit and never idles out).
 */
export interface MailboxMeta { key: string; seq: number; count: number; bytes: number; day: number; intro?: true }

/** A deleted mailbox id's grave (§5.6): hashes only, so the id itself is gone from the disk. */
interface Grave { key: string; until: number }

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

/** A collective (COLLECTIVES.md §12): its charter, counts, current root and log head. */
export interface CollectiveMeta {
  charter: SignedCharter['charter']; sig: string;
  leaves: number; members: number; requests: number; seq: number; head: string; root: string;
}
/** An accepted root: the log entry that made it and that entry's hour. */
interface RootMeta { seq: number; ts: number }
/** An open join request and the vouches counted for it in its current epoch. */
export interface RequestRec { request: SignedJoin['request']; sig: string; vouches: number }
/** A current member: their leaf, commitment and identity key (from the join request or charter), and the vouches counted for them. */
export interface MemberRec { leaf: number; commitment: string; key: string; vouches: number }
/** A tree leaf's key: the collective and the leaf index (5 hex digits: up to 2^16 leaves). */
const leafKey = (c: string, leaf: number) => `${c}!${leaf.toString(16).padStart(5, '0')}`;

/** A collective's feed (POSTS.md §7): its current epoch (0 before the first), the last post's seq, how many posts are pending. */
export interface FeedMeta { epoch: number; seq: number; posts: number }
/** One epoch: its posting public key, the root and member count it was opened with, the seq before its first post, key envelopes stored. */
export interface EpochRec { postingKey: string; root: string; members: number; start: number; keys: number }
/** An anonymous cursor: its epoch, its own public key, the last seq acknowledged and the day last used. Nothing about its member. */
export interface CursorRec { epoch: number; key: string; pos: number; day: number }
/** Posts pending in one collective at most; more are refused (429). */
export const MAX_PENDING_POSTS = 10_000;
const epochKey = (n: number) => n.toString(16).padStart(8, '0');

/**
 * One request's spent nonces (PROTOCOL.md §4), reserved in memory at once (a concurrent reuse
 * is refused) and written in the same synced batch as the request's own first write, or alone
 * by `Store.settle` before it is answered: one fsync per request, never a nonce after its action.
 */
export class Spends {
  /** Reserved, not yet handed to a batch: nonce and its (minute-rounded) expiry. */
  readonly pending: { nonce: string; until: number }[] = [];
}

/** Something a request names does not exist; the app answers 404 with this message. */
export class Missing extends Error {}

/** Outcome of a deposit. */
export type DepositResult = 'stored' | 'unknown' | 'quota' | 'full';

const seqKey = (seq: number) => seq.toString(16).padStart(12, '0');
/** An hour number as it appears in expiry-index keys (sortable hex). */
const hourKey = (hour: number) => hour.toString(16).padStart(8, '0');
/** The hour stamp a stored blob value starts with. */
const stampOf = (value: Uint8Array) => new DataView(value.buffer, value.byteOffset).getUint32(0);
/** A one-way name for a mailbox id or key in the graves (the id itself must not stay on disk). */
const graveHash = (s: string) => createHash('sha256').update(`komrade grave\n${s}`).digest('hex');

/** The database directories: generation N lives in `db.N`; `db.current` names the live one. */
const genDir = (dir: string, gen: number) => (gen === 0 ? dir : join(dir, `db.${gen}`));
const POINTER = 'db.current';
/** Files of a database that v1 kept directly in the data directory (generation 0). */
const isLegacyDbFile = (f: string) => /^(CURRENT|LOCK|LOG|LOG\.old|MANIFEST-\d+|\d+\.(ldb|log|sst))$/.test(f);

/** Write a small file so that a crash leaves either the old or the new content. */
async function writeAtomic(dir: string, name: string, text: string) {
  const tmp = join(dir, `${name}.tmp`);
  await writeFile(tmp, text);
  const fh = await openFile(tmp, 'r+'); await fh.sync(); await fh.close();
  await rename(tmp, join(dir, name));
  const d = await openFile(dir, 'r'); await d.sync(); await d.close();
}

async function openDb(path: string): Promise<DB> {
  // in Node, `level` is classic-level (LevelDB): it has `sync` writes
  const db = new Level<string, string>(path, { valueEncoding: 'utf8' }) as unknown as DB;
  await db.open();
  return db;
}

/** LevelDB-backed storage with per-mailbox serialisation and a forgetting rewrite. */
export class Store {
  /** Per-key lock: the app serialises each mailbox (and each name's skeleton) with it. Take it before the store's own gate. */
  readonly lock = new KeyedLock();
  private readonly gate = new Gate();
  private db_!: DB;
  private gen = 0;
  private names!: ReturnType<Store['bind']>['names'];
  private skeletons!: ReturnType<Store['bind']>['skeletons'];
  private boxes!: ReturnType<Store['bind']>['boxes'];
  private blobs!: ReturnType<Store['bind']>['blobs'];
  private expiry!: ReturnType<Store['bind']>['expiry'];
  private nonces!: ReturnType<Store['bind']>['nonces'];
  private graves!: ReturnType<Store['bind']>['graves'];
  private collectives!: ReturnType<Store['bind']>['collectives'];
  private leaves!: ReturnType<Store['bind']>['leaves'];
  private roots!: ReturnType<Store['bind']>['roots'];
  private clog!: ReturnType<Store['bind']>['clog'];
  private requests!: ReturnType<Store['bind']>['requests'];
  private members!: ReturnType<Store['bind']>['members'];
  private epochs!: ReturnType<Store['bind']>['epochs'];
  private expels!: ReturnType<Store['bind']>['expels'];
  private nullifiers!: ReturnType<Store['bind']>['nullifiers'];
  private counts!: ReturnType<Store['bind']>['counts'];
  private feeds!: ReturnType<Store['bind']>['feeds'];
  private posts!: ReturnType<Store['bind']>['posts'];
  private keyBlobs!: ReturnType<Store['bind']>['keyBlobs'];
  private cursors!: ReturnType<Store['bind']>['cursors'];
  private postNullifiers!: ReturnType<Store['bind']>['postNullifiers'];
  /** Deleted data may be on disk: true at open (a restart may follow a delete) and after every delete. */
  private dirty = true;
  private totalBytes = 0;
  /** Batches waiting for the next group commit, and whether one is under way. */
  private pending: { ops: Op[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;
  /** Records of the mailboxes `withMailbox` is running on (undefined once deleted). */
  private readonly held = new Map<string, MailboxMeta | undefined>();
  /** Nonces some request has reserved and not yet written (or failed to write). */
  private readonly reserved = new Set<string>();
  /** While a rewrite copies, every write is also recorded here, to be replayed into the copy. */
  private tee: { ops: Op[]; deletes: boolean } | undefined;
  /** The name of each live sublevel object, so teed writes can be replayed on the copy's sublevels. */
  private subNames = new Map<unknown, keyof ReturnType<Store['bind']>>();

  private constructor(readonly dir: string, readonly opts: StoreOptions) {}

  /** The live database (tests read it directly). */
  get db(): DB { return this.db_; }

  private bind(db: DB) {
    return {
      names: db.sublevel<string, SignedRecord>('n', { valueEncoding: 'json' }),
      skeletons: db.sublevel<string, string>('k', { valueEncoding: 'utf8' }),
      boxes: db.sublevel<string, MailboxMeta>('m', { valueEncoding: 'json' }),
      blobs: db.sublevel<string, Uint8Array>('b', { valueEncoding: 'view' }),
      expiry: db.sublevel<string, string>('x', { valueEncoding: 'utf8' }),
      nonces: db.sublevel<string, number>('r', { valueEncoding: 'json' }),
      graves: db.sublevel<string, Grave>('g', { valueEncoding: 'json' }),
      // collectives (COLLECTIVES.md §12)
      collectives: db.sublevel<string, CollectiveMeta>('C', { valueEncoding: 'json' }),
      leaves: db.sublevel<string, string>('T', { valueEncoding: 'utf8' }),
      roots: db.sublevel<string, RootMeta>('A', { valueEncoding: 'json' }),
      clog: db.sublevel<string, LogEntry>('L', { valueEncoding: 'json' }),
      requests: db.sublevel<string, RequestRec>('J', { valueEncoding: 'json' }),
      members: db.sublevel<string, MemberRec>('M', { valueEncoding: 'json' }),
      epochs: db.sublevel<string, number>('E', { valueEncoding: 'json' }),
      expels: db.sublevel<string, number>('X', { valueEncoding: 'json' }),
      nullifiers: db.sublevel<string, VouchProof>('U', { valueEncoding: 'json' }),
      counts: db.sublevel<string, number>('W', { valueEncoding: 'json' }),
      // posts (POSTS.md §7)
      feeds: db.sublevel<string, FeedMeta | EpochRec>('F', { valueEncoding: 'json' }),
      posts: db.sublevel<string, Uint8Array>('P', { valueEncoding: 'view' }),
      keyBlobs: db.sublevel<string, Uint8Array>('Y', { valueEncoding: 'view' }),
      cursors: db.sublevel<string, CursorRec>('Q', { valueEncoding: 'json' }),
      postNullifiers: db.sublevel<string, number>('V', { valueEncoding: 'json' }),
    };
  }

  private use(db: DB, gen: number) {
    this.db_ = db; this.gen = gen;
    const subs = this.bind(db);
    Object.assign(this, subs);
    this.subNames = new Map(Object.entries(subs).map(([name, sub]) => [sub, name as keyof typeof subs]));
  }

  /** Open (creating if needed) the store in data directory `dir`. */
  static async open(dir: string, opts: StoreOptions): Promise<Store> {
    const store = new Store(dir, opts);
    await mkdir(dir, { recursive: true });
    let gen: number;
    if (existsSync(join(dir, POINTER))) gen = Number((await readFile(join(dir, POINTER), 'utf8')).trim());
    else if (existsSync(join(dir, 'CURRENT'))) gen = 0; // a v1 store, kept in the data dir itself
    else { gen = 1; await mkdir(genDir(dir, 1), { recursive: true }); await writeAtomic(dir, POINTER, '1\n'); }
    if (!Number.isInteger(gen) || gen < 0) throw new Error('the store pointer db.current is damaged');
    // a rewrite that a crash interrupted leaves a half-made generation behind: remove it
    for (const f of await readdir(dir)) {
      const m = /^db\.(\d+)$/.exec(f);
      if (m && Number(m[1]) !== gen) await rm(join(dir, f), { recursive: true, force: true });
    }
    store.use(await openDb(genDir(dir, gen)), gen);
    for await (const meta of store.boxes.values()) store.totalBytes += meta.bytes;
    return store;
  }

  /**
   * Write one request's batch durably. Group commit: batches that arrive while a sync is under
   * way are joined into the next single synced LevelDB batch, so many requests share one fsync;
   * each caller resumes only once its own operations are on disk. A crash loses only batches
   * whose callers were not yet answered.
   */
  private write(ops: Op[], spends?: Spends): Promise<void> {
    const nonces = spends?.pending.splice(0) ?? [];
    if (this.held.size) for (const op of ops) if (op.sublevel === this.boxes && this.held.has(op.key)) this.held.set(op.key, op.type === 'put' ? op.value as MailboxMeta : undefined);
    const all = nonces.length ? [...nonces.map(({ nonce, until }): Op => ({ type: 'put', key: nonce, value: until, sublevel: this.nonces })), ...ops] : ops;
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
        await this.db_.batch(ops as never, this.opts.sync === false ? {} : SYNC);
        if (this.tee) { this.tee.ops.push(...ops); this.tee.deletes ||= ops.some((op) => op.type === 'del'); }
        for (const w of group) w.resolve();
      } catch (e) {
        for (const w of group) w.reject(e);
      }
    }
    this.flushing = false;
  }

  /** Close the database cleanly. */
  close(): Promise<void> { return this.gate.exclusive(() => this.db_.close()); }

  private today(): number { return Math.floor(this.opts.now() / DAY); }

  // ---- names ----

  /** The signed record for a lower-cased name, if any. */
  getName(lower: string): Promise<SignedRecord | undefined> { return this.gate.shared(() => this.names.get(lower)); }

  /** The lower-cased name registered under a confusable skeleton, if any. */
  nameBySkeleton(skeleton: string): Promise<string | undefined> { return this.gate.shared(() => this.skeletons.get(skeleton)); }

  /**
   * Register a name: its record, its skeleton, and the intro flag on its mailbox, in one batch.
   * Call under the name's and the intro mailbox's locks.
   */
  registerName(lower: string, skeleton: string, rec: SignedRecord, spends?: Spends): Promise<void> {
    return this.gate.shared(async () => {
      const meta = await this.boxes.get(rec.record.intro);
      if (!meta) throw new Error('intro mailbox vanished');
      await this.write([
        { type: 'put', key: lower, value: rec, sublevel: this.names },
        { type: 'put', key: skeleton, value: lower, sublevel: this.skeletons },
        { type: 'put', key: rec.record.intro, value: { ...meta, intro: true }, sublevel: this.boxes },
      ], spends);
    });
  }

  /** Replace a name's record (same name, key and intro). Call under the name's lock. */
  replaceName(lower: string, rec: SignedRecord): Promise<void> {
    return this.gate.shared(() => this.write([{ type: 'put', key: lower, value: rec, sublevel: this.names }]));
  }

  /**
   * Delete a name and its skeleton; with `deleteIntro` also its intro mailbox and everything in
   * it (leaving a grave), otherwise the intro becomes an ordinary mailbox. Call under the name's
   * and the intro mailbox's locks.
   */
  deleteName(lower: string, skeleton: string, intro: string, deleteIntro: boolean, spends?: Spends): Promise<void> {
    return this.gate.shared(async () => {
      const ops: Op[] = [{ type: 'del', key: lower, sublevel: this.names }, { type: 'del', key: skeleton, sublevel: this.skeletons }];
      const meta = await this.boxes.get(intro);
      if (meta && deleteIntro) ops.push(...(await this.mailboxDeletes(intro, meta)));
      else if (meta) { const { intro: _, ...plain } = meta; ops.push({ type: 'put', key: intro, value: plain, sublevel: this.boxes }); }
      await this.write(ops, spends);
      if (meta && deleteIntro) this.totalBytes -= meta.bytes;
      this.dirty = true;
    });
  }

  // ---- mailboxes ----

  /**
   * Run `fn` on an existing mailbox under its lock (so nothing else touches it meanwhile);
   * throws `Missing` if there is no such mailbox. What every mailbox route does first.
   */
  withMailbox<T>(id: string, fn: (meta: MailboxMeta) => Promise<T>): Promise<T> {
    return this.lock.run(id, async () => {
      const meta = await this.getMailbox(id);
      if (!meta) throw new Missing('no such mailbox');
      // under the lock only this request changes the mailbox: its record is read once
      this.held.set(id, meta);
      try { return await fn(meta); } finally { this.held.delete(id); }
    });
  }

  /** A mailbox's record: the one `withMailbox` holds (kept current by `write`), else read. */
  private box(id: string): Promise<MailboxMeta | undefined> {
    return this.held.has(id) ? Promise.resolve(this.held.get(id)) : this.boxes.get(id);
  }

  /** Mailbox metadata, if the mailbox exists. */
  getMailbox(id: string): Promise<MailboxMeta | undefined> { return this.gate.shared(() => this.boxes.get(id)); }

  /**
   * Create a mailbox owned by `key`. 'taken' if the id exists, or was deleted within the TTL
   * and `key` is not the key it had (only its owner may make it again). Call under the mailbox lock.
   */
  createMailbox(id: string, key: string, spends?: Spends): Promise<'created' | 'taken'> {
    return this.gate.shared(async () => {
      if (await this.boxes.get(id)) return 'taken';
      const grave = await this.graves.get(graveHash(id));
      if (grave && grave.key !== graveHash(key)) return 'taken';
      const ops: Op[] = [{ type: 'put', key: id, value: { key, seq: 0, count: 0, bytes: 0, day: this.today() }, sublevel: this.boxes }];
      if (grave) ops.push({ type: 'del', key: graveHash(id), sublevel: this.graves });
      await this.write(ops, spends);
      return 'created';
    });
  }

  /** Append a blob to a mailbox, within its quota and the store's budget. Call under the mailbox lock. */
  deposit(id: string, data: Uint8Array, spends?: Spends): Promise<DepositResult> {
    return this.gate.shared(async () => {
      const meta = await this.box(id);
      if (!meta) return 'unknown';
      if (meta.count + 1 > this.opts.maxBlobsPerMailbox || meta.bytes + data.length > this.opts.maxBytesPerMailbox) return 'quota';
      if (this.opts.maxStoreBytes && this.totalBytes + data.length > this.opts.maxStoreBytes) return 'full';
      const seq = seqKey(meta.seq + 1);
      const hourNumber = Math.floor(this.opts.now() / HOUR);
      const stamped = new Uint8Array(4 + data.length);
      new DataView(stamped.buffer).setUint32(0, hourNumber);
      stamped.set(data, 4);
      this.totalBytes += data.length; // reserved before the write, so concurrent deposits cannot overshoot the budget
      try {
        await this.write([
          { type: 'put', key: `${id}!${seq}`, value: stamped, sublevel: this.blobs },
          { type: 'put', key: `${hourKey(hourNumber)}!${id}!${seq}`, value: '', sublevel: this.expiry },
          { type: 'put', key: id, value: { ...meta, seq: meta.seq + 1, count: meta.count + 1, bytes: meta.bytes + data.length }, sublevel: this.boxes },
        ], spends);
      } catch (e) { this.totalBytes -= data.length; throw e; }
      return 'stored';
    });
  }

  /** Up to `limit` pending blobs in deposit order; marks the owner active. Call under the mailbox lock. */
  fetch(id: string, limit: number, spends?: Spends): Promise<{ blobs: { id: string; data: Uint8Array }[]; more: boolean }> {
    return this.gate.shared(async () => {
      const meta = await this.box(id);
      if (!meta) return { blobs: [], more: false };
      if (meta.day !== this.today()) await this.write([{ type: 'put', key: id, value: { ...meta, day: this.today() }, sublevel: this.boxes }], spends);
      const blobs: { id: string; data: Uint8Array }[] = [];
      for await (const [key, value] of this.blobs.iterator({ gt: `${id}!`, lt: `${id}!~`, limit: limit + 1 })) {
        blobs.push({ id: key.slice(id.length + 1), data: value.subarray(4) });
      }
      const more = blobs.length > limit;
      return { blobs: blobs.slice(0, limit), more };
    });
  }

  /**
   * Delete the acknowledged blobs atomically; returns how many existed. `byOwner` marks the
   * mailbox active (the sweep passes false). Call under the mailbox lock.
   */
  ack(id: string, ids: readonly string[], byOwner = true, spends?: Spends): Promise<number> {
    return this.gate.shared(async () => {
      const meta = await this.box(id);
      if (!meta) return 0;
      const ops: Op[] = [];
      let count = 0, bytes = 0;
      // one read for the whole batch (an ack names up to 100 blobs)
      const seqs = [...new Set(ids)], values = await this.blobs.getMany(seqs.map((seq) => `${id}!${seq}`));
      for (const [i, seq] of seqs.entries()) {
        const value = values[i];
        if (!value) continue;
        ops.push({ type: 'del', key: `${id}!${seq}`, sublevel: this.blobs }, { type: 'del', key: `${hourKey(stampOf(value))}!${id}!${seq}`, sublevel: this.expiry });
        count++; bytes += value.length - 4;
      }
      if (count === 0) return 0;
      ops.push({ type: 'put', key: id, value: { ...meta, count: meta.count - count, bytes: meta.bytes - bytes, day: byOwner ? this.today() : meta.day }, sublevel: this.boxes });
      await this.write(ops, spends);
      this.totalBytes -= bytes;
      this.dirty = true;
      return count;
    });
  }

  /** The batch that deletes a mailbox, its blobs and their expiry entries, and leaves its grave. */
  private async mailboxDeletes(id: string, meta: MailboxMeta): Promise<Op[]> {
    const ops: Op[] = [
      { type: 'del', key: id, sublevel: this.boxes },
      { type: 'put', key: graveHash(id), value: { key: graveHash(meta.key), until: this.today() + Math.ceil(this.opts.ttlMs / DAY) }, sublevel: this.graves },
    ];
    for await (const [key, value] of this.blobs.iterator({ gt: `${id}!`, lt: `${id}!~` })) {
      ops.push({ type: 'del', key, sublevel: this.blobs }, { type: 'del', key: `${hourKey(stampOf(value))}!${key}`, sublevel: this.expiry });
    }
    return ops;
  }

  /** Delete a mailbox and every blob in it, leaving a grave for the TTL. Call under the mailbox lock. */
  deleteMailbox(id: string, spends?: Spends): Promise<void> {
    return this.gate.shared(async () => {
      const meta = await this.box(id);
      if (!meta) return;
      await this.write(await this.mailboxDeletes(id, meta), spends);
      this.totalBytes -= meta.bytes;
      this.dirty = true;
    });
  }

  // ---- replay protection ----

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

  // ---- collectives (COLLECTIVES.md §12) ----
  //
  // One collective is serialised by the app with `lock` key `collective:<name>` (taken before
  // the gate); each mutation below is one atomic batch. Nothing here is keyed by, or stored
  // next to, anything that identifies a voucher: a counted vouch or expel vote is its scope,
  // its nullifier and its proof, nothing else.

  /** A collective's record, if it exists (`c` lower-cased). */
  getCollective(c: string): Promise<CollectiveMeta | undefined> { return this.gate.shared(() => this.collectives.get(c)); }

  /** The tree's leaves in order (decimal commitments, "0" for removed members). */
  collectiveLeaves(c: string): Promise<string[]> { return this.gate.shared(() => this.leafList(c)); }

  private async leafList(c: string): Promise<string[]> {
    const out: string[] = [];
    for await (const v of this.leaves.values({ gt: `${c}!`, lt: `${c}!~` })) out.push(v);
    return out;
  }

  /** The roots proofs may name now: those since the last removal (at most ACCEPTED_ROOTS), none older than ROOT_MAX_AGE_MS except the current one. */
  acceptedRoots(c: string): Promise<string[]> {
    return this.gate.shared(async () => {
      const meta = await this.collectives.get(c);
      if (!meta) return [];
      const oldest = this.opts.now() - ROOT_MAX_AGE_MS, out: string[] = [];
      for await (const [key, r] of this.roots.iterator({ gt: `${c}!`, lt: `${c}!~` })) {
        const root = key.slice(c.length + 1);
        if (root === meta.root || r.ts >= oldest) out.push(root);
      }
      return out;
    });
  }

  /** A current member's record. */
  getMember(c: string, name: string): Promise<MemberRec | undefined> { return this.gate.shared(() => this.members.get(`${c}!${name}`)); }

  /** Expel votes counted against a member in the current expel epoch. */
  expelVotes(c: string, name: string): Promise<number> { return this.gate.shared(async () => (await this.expels.get(`${c}!${name}`)) ?? 0); }

  /** An open join request. */
  getRequest(c: string, name: string): Promise<RequestRec | undefined> { return this.gate.shared(() => this.requests.get(`${c}!${name}`)); }

  /** Every open join request of a collective, by name. */
  openRequests(c: string): Promise<RequestRec[]> {
    return this.gate.shared(async () => {
      const out: RequestRec[] = [];
      for await (const r of this.requests.values({ gt: `${c}!`, lt: `${c}!~` })) out.push(r);
      return out;
    });
  }

  /** The current epoch of proofs of `kind` about `name` in `c` (0 until bumped). */
  epoch(c: string, kind: 'vouch' | 'expel', name: string): Promise<number> {
    return this.gate.shared(async () => (await this.epochs.get(`${c}!${kind}!${name}`)) ?? 0);
  }

  /** True if this nullifier was already counted in this scope. */
  nullifierUsed(scope: string, nullifier: string): Promise<boolean> {
    return this.gate.shared(async () => (await this.nullifiers.get(`${scope}!${nullifier}`)) !== undefined);
  }

  /** Up to `limit` log entries from `from`. */
  collectiveLog(c: string, from: number, limit: number): Promise<{ entries: LogEntry[]; more: boolean }> {
    return this.gate.shared(async () => {
      const entries: LogEntry[] = [];
      for await (const e of this.clog.values({ gte: `${c}!${seqKey(from)}`, lt: `${c}!~`, limit: limit + 1 })) entries.push(e);
      return { entries: entries.slice(0, limit), more: entries.length > limit };
    });
  }

  /** The vouches counted for a komrade, per collective, in each one's current epoch. */
  vouchCounts(name: string): Promise<{ total: number; collectives: Record<string, number> }> {
    return this.gate.shared(async () => {
      const collectives: Record<string, number> = {};
      let total = 0;
      for await (const [key, n] of this.counts.iterator({ gt: `${name}!`, lt: `${name}!~` })) { collectives[key.slice(name.length + 1)] = n; total += n; }
      return { total, collectives };
    });
  }

  /**
   * Found a collective: its charter, its name's skeleton (shared with komrade names, so the two
   * conflict both ways), leaf 0 (the founder), the first root and the `found` log entry. Call
   * under the name's skeleton lock and the collective's lock, after checking both are free.
   */
  createCollective(c: string, skel: string, signed: SignedCharter): Promise<{ root: string }> {
    return this.gate.shared(async () => {
      const { charter } = signed, founder = charter.founder.toLowerCase();
      const root = rootOf([BigInt(charter.founderCommitment)]);
      const entry: LogEntry = { seq: 0, prev: '', ts: this.hour(), type: 'found', name: founder, leaf: 0, commitment: charter.founderCommitment, epoch: 0, charter: signed, proofs: [], root };
      const meta: CollectiveMeta = { charter, sig: signed.sig, leaves: 1, members: 1, requests: 0, seq: 0, head: entryHash(entry), root };
      await this.write([
        { type: 'put', key: skel, value: c, sublevel: this.skeletons },
        { type: 'put', key: c, value: meta, sublevel: this.collectives },
        { type: 'put', key: leafKey(c, 0), value: charter.founderCommitment, sublevel: this.leaves },
        { type: 'put', key: `${c}!${root}`, value: { seq: 0, ts: entry.ts }, sublevel: this.roots },
        { type: 'put', key: `${c}!${seqKey(0)}`, value: entry, sublevel: this.clog },
        { type: 'put', key: `${c}!${founder}`, value: { leaf: 0, commitment: charter.founderCommitment, key: charter.founderKey, vouches: 0 }, sublevel: this.members },
      ]);
      return { root };
    });
  }

  /**
   * Open a join request (the caller checked signature, directory key, freshness and that the
   * name is neither a member nor has an open request here); admitted at once when the rule
   * needs no vouch (`open`). Call under the collective's lock.
   */
  openRequest(c: string, signed: SignedJoin, spends?: Spends): Promise<{ epoch: number; vouches: number; needed: number; admitted: boolean; seq?: number }> {
    return this.gate.shared(async () => {
      const meta = await this.collectives.get(c);
      if (!meta) throw new Missing('unknown collective');
      const name = signed.request.name.toLowerCase();
      const epoch = (await this.epochs.get(`${c}!vouch!${name}`)) ?? 0;
      const rec: RequestRec = { ...signed, vouches: 0 };
      const needed = quorum(meta.charter.quorum, meta.members);
      const ops: Op[] = [];
      if (needed === 0) {
        const { seq } = await this.admitOps(c, meta, rec, epoch, [], false, ops);
        await this.write(ops, spends);
        return { epoch, vouches: 0, needed, admitted: true, seq };
      }
      ops.push({ type: 'put', key: `${c}!${name}`, value: rec, sublevel: this.requests },
        { type: 'put', key: c, value: { ...meta, requests: meta.requests + 1 }, sublevel: this.collectives });
      await this.write(ops, spends);
      return { epoch, vouches: 0, needed, admitted: false };
    });
  }

  /**
   * Count a verified vouch for a candidate or a member (the caller verified the proof against
   * the current epoch and an accepted root, and that its nullifier is unused): store the
   * nullifier with the proof, count it, and at quorum admit the candidate (leaf, root, log
   * entry with every proof of this scope). Call under the collective's lock.
   */
  countVouch(c: string, name: string, proof: VouchProof): Promise<{ vouches: number; needed: number; state: 'open' | 'admitted' | 'member'; seq?: number }> {
    return this.gate.shared(async () => {
      const meta = await this.collectives.get(c);
      if (!meta) throw new Missing('unknown collective');
      const needed = quorum(meta.charter.quorum, meta.members);
      const ops: Op[] = [{ type: 'put', key: `${proof.scope}!${proof.nullifier}`, value: proof, sublevel: this.nullifiers }];
      const member = await this.members.get(`${c}!${name}`);
      if (member) {
        const vouches = member.vouches + 1;
        ops.push({ type: 'put', key: `${c}!${name}`, value: { ...member, vouches }, sublevel: this.members },
          { type: 'put', key: `${name}!${c}`, value: vouches, sublevel: this.counts });
        await this.write(ops);
        return { vouches, needed, state: 'member' };
      }
      const rec = await this.requests.get(`${c}!${name}`);
      if (!rec) throw new Missing('no such request or member');
      const vouches = rec.vouches + 1;
      ops.push({ type: 'put', key: `${name}!${c}`, value: vouches, sublevel: this.counts });
      if (vouches < needed) {
        ops.push({ type: 'put', key: `${c}!${name}`, value: { ...rec, vouches }, sublevel: this.requests });
        await this.write(ops);
        return { vouches, needed, state: 'open' };
      }
      const proofs = [...(await this.proofsOf(proof.scope)), proof];
      const epoch = (await this.epochs.get(`${c}!vouch!${name}`)) ?? 0;
      const { seq } = await this.admitOps(c, meta, { ...rec, vouches }, epoch, proofs, true, ops);
      await this.write(ops);
      return { vouches, needed, state: 'admitted', seq };
    });
  }

  /**
   * Count a verified expel vote against a member (checked like a vouch by the caller); at
   * quorum (the charter's rule, `log2` for an `open` collective) zero their leaf and log an
   * `expel` entry with the votes. Call under the collective's lock.
   */
  countExpelVote(c: string, name: string, proof: VouchProof): Promise<{ votes: number; needed: number; expelled: boolean; seq?: number }> {
    return this.gate.shared(async () => {
      const meta = await this.collectives.get(c);
      const member = await this.members.get(`${c}!${name}`);
      if (!meta || !member) throw new Missing('not a member');
      const needed = quorum(meta.charter.quorum === 'open' ? 'log2' : meta.charter.quorum, meta.members);
      const votes = ((await this.expels.get(`${c}!${name}`)) ?? 0) + 1;
      const ops: Op[] = [{ type: 'put', key: `${proof.scope}!${proof.nullifier}`, value: proof, sublevel: this.nullifiers }];
      if (votes < needed) {
        ops.push({ type: 'put', key: `${c}!${name}`, value: votes, sublevel: this.expels });
        await this.write(ops);
        return { votes, needed, expelled: false };
      }
      const proofs = [...(await this.proofsOf(proof.scope)), proof];
      const epoch = (await this.epochs.get(`${c}!expel!${name}`)) ?? 0;
      const { seq } = await this.removeOps(c, meta, name, member, { type: 'expel', epoch, proofs }, ops);
      await this.write(ops);
      this.dirty = true;
      return { votes, needed, expelled: true, seq };
    });
  }

  /** A member leaves (the caller checked their Auth): leaf zeroed, `leave` log entry. Call under the collective's lock. */
  leaveCollective(c: string, name: string, auth: Auth, spends?: Spends): Promise<{ seq: number }> {
    return this.gate.shared(async () => {
      const meta = await this.collectives.get(c);
      const member = await this.members.get(`${c}!${name}`);
      if (!meta || !member) throw new Missing('not a member');
      const ops: Op[] = [];
      const { seq } = await this.removeOps(c, meta, name, member, { type: 'leave', epoch: 0, proofs: [], leave: { auth } }, ops);
      await this.write(ops, spends);
      this.dirty = true;
      return { seq };
    });
  }

  /** The hour now, in ms: the only precision collective times are kept at. */
  private hour(): number { return Math.floor(this.opts.now() / HOUR) * HOUR; }

  /** Every proof counted in a scope (the vouches of one request's epoch, the votes of one expulsion round). */
  private async proofsOf(scope: string): Promise<VouchProof[]> {
    const out: VouchProof[] = [];
    for await (const p of this.nullifiers.values({ gt: `${scope}!`, lt: `${scope}!~` })) out.push(p);
    return out;
  }

  /** Append a log entry: returns the ops' new collective record fields. */
  private logOps(c: string, meta: CollectiveMeta, e: Omit<LogEntry, 'seq' | 'prev' | 'ts'>, ops: Op[]): { seq: number; head: string; ts: number } {
    const entry: LogEntry = { seq: meta.seq + 1, prev: meta.head, ts: this.hour(), ...e };
    ops.push({ type: 'put', key: `${c}!${seqKey(entry.seq)}`, value: entry, sublevel: this.clog });
    return { seq: entry.seq, head: entryHash(entry), ts: entry.ts };
  }

  /** The ops that admit a candidate: next leaf, new root (oldest accepted roots beyond the limit dropped), log entry, member record. */
  private async admitOps(c: string, meta: CollectiveMeta, rec: RequestRec, epoch: number, proofs: VouchProof[], fromRequest: boolean, ops: Op[]): Promise<{ seq: number }> {
    const name = rec.request.name.toLowerCase(), leaves = await this.leafList(c), leaf = leaves.length;
    leaves.push(rec.request.commitment);
    const root = rootOf(leaves.map(BigInt));
    const { seq, head, ts } = this.logOps(c, meta, { type: 'admit', name, leaf, commitment: rec.request.commitment, epoch, request: { request: rec.request, sig: rec.sig }, proofs, root }, ops);
    const roots: [string, number][] = [];
    for await (const [key, r] of this.roots.iterator({ gt: `${c}!`, lt: `${c}!~` })) roots.push([key, r.seq]);
    roots.sort((a, b) => a[1] - b[1]);
    for (const [key] of roots.slice(0, Math.max(0, roots.length + 1 - ACCEPTED_ROOTS))) ops.push({ type: 'del', key, sublevel: this.roots });
    ops.push(
      { type: 'put', key: leafKey(c, leaf), value: rec.request.commitment, sublevel: this.leaves },
      { type: 'put', key: `${c}!${root}`, value: { seq, ts }, sublevel: this.roots },
      { type: 'put', key: `${c}!${name}`, value: { leaf, commitment: rec.request.commitment, key: rec.request.identityKey, vouches: rec.vouches }, sublevel: this.members },
      { type: 'put', key: c, value: { ...meta, leaves: leaf + 1, members: meta.members + 1, requests: meta.requests - (fromRequest ? 1 : 0), seq, head, root }, sublevel: this.collectives },
    );
    if (fromRequest) ops.push({ type: 'del', key: `${c}!${name}`, sublevel: this.requests });
    return { seq };
  }

  /**
   * The ops that remove a member (leave or expel): leaf zeroed, every earlier root dropped (a
   * removed member must not prove against them), log entry; the member's vouch and expel
   * epochs bumped and their count dropped; and every open request's vouches and every pending
   * expel vote reset under a bumped epoch (the removed member may have cast some of them).
   */
  private async removeOps(c: string, meta: CollectiveMeta, name: string, member: MemberRec, e: Pick<LogEntry, 'type' | 'epoch' | 'proofs' | 'leave'>, ops: Op[]): Promise<{ seq: number }> {
    const leaves = await this.leafList(c);
    leaves[member.leaf] = '0';
    const root = rootOf(leaves.map(BigInt));
    const { seq, head, ts } = this.logOps(c, meta, { ...e, name, leaf: member.leaf, commitment: member.commitment, root }, ops);
    const bump = async (kind: 'vouch' | 'expel', who: string) => {
      const key = `${c}!${kind}!${who}`;
      ops.push({ type: 'put', key, value: ((await this.epochs.get(key)) ?? 0) + 1, sublevel: this.epochs });
    };
    for await (const key of this.roots.keys({ gt: `${c}!`, lt: `${c}!~` })) ops.push({ type: 'del', key, sublevel: this.roots });
    for await (const [key, rec] of this.requests.iterator({ gt: `${c}!`, lt: `${c}!~` })) {
      if (rec.vouches === 0) continue;
      const who = key.slice(c.length + 1);
      await bump('vouch', who);
      ops.push({ type: 'put', key, value: { ...rec, vouches: 0 }, sublevel: this.requests }, { type: 'del', key: `${who}!${c}`, sublevel: this.counts });
    }
    for await (const key of this.expels.keys({ gt: `${c}!`, lt: `${c}!~` })) {
      const who = key.slice(c.length + 1);
      if (who !== name) await bump('expel', who);
      ops.push({ type: 'del', key, sublevel: this.expels });
    }
    await bump('vouch', name);
    await bump('expel', name);
    ops.push(
      { type: 'put', key: leafKey(c, member.leaf), value: '0', sublevel: this.leaves },
      { type: 'put', key: `${c}!${root}`, value: { seq, ts }, sublevel: this.roots },
      { type: 'del', key: `${c}!${name}`, sublevel: this.members },
      { type: 'del', key: `${name}!${c}`, sublevel: this.counts },
      { type: 'put', key: c, value: { ...meta, members: meta.members - 1, seq, head, root }, sublevel: this.collectives },
    );
    return { seq };
  }

  // ---- posts (POSTS.md §7) ----
  //
  // Serialised per collective by the app (lock `collective:<name>`, taken before the gate).
  // Sublevels: F feeds (`c` → FeedMeta, `c!epoch` → EpochRec), P posts (`c!seq` → u32 hour |
  // u32 epoch | 32-byte delete hash | blob), Y key envelopes (`c!epoch!prekey!hash` → u32 hour |
  // blob), Q cursors (`c!id` → CursorRec), V the nullifiers of epoch and cursor proofs
  // (`c!epoch!kind!nullifier` → day). A cursor record holds no name, commitment or key of its
  // member, and no nullifier: the nullifiers are stored apart, not tied to any cursor id.

  /** A collective's feed: current epoch (0 = none yet), last seq, pending posts. */
  feed(c: string): Promise<FeedMeta> { return this.gate.shared(() => this.feedOf(c)); }
  private async feedOf(c: string): Promise<FeedMeta> { return ((await this.feeds.get(c)) as FeedMeta | undefined) ?? { epoch: 0, seq: 0, posts: 0 }; }

  /** One epoch's record. */
  getEpoch(c: string, n: number): Promise<EpochRec | undefined> { return this.gate.shared(() => this.feeds.get(`${c}!${epochKey(n)}`) as Promise<EpochRec | undefined>); }

  /** True if this epoch or cursor proof's nullifier was already used in its scope. */
  postNullifierUsed(c: string, n: number, kind: 'epoch' | 'cursor', nullifier: string): Promise<boolean> {
    return this.gate.shared(async () => (await this.postNullifiers.get(`${c}!${epochKey(n)}!${kind}!${nullifier}`)) !== undefined);
  }

  /** Open epoch n (the caller checked n = current + 1, the root, the proof and its nullifier). */
  openEpoch(c: string, n: number, rec: Omit<EpochRec, 'start' | 'keys'>, nullifier: string): Promise<void> {
    return this.gate.shared(async () => {
      const feed = await this.feedOf(c);
      if (feed.epoch + 1 !== n) throw new Error('epoch moved under the lock');
      await this.write([
        { type: 'put', key: c, value: { ...feed, epoch: n }, sublevel: this.feeds },
        { type: 'put', key: `${c}!${epochKey(n)}`, value: { ...rec, start: feed.seq, keys: 0 }, sublevel: this.feeds },
        { type: 'put', key: `${c}!${epochKey(n)}!epoch!${nullifier}`, value: this.today(), sublevel: this.postNullifiers },
      ]);
    });
  }

  /** Store key envelopes of epoch n (the same blob twice is stored once); returns how many are new, or 'quota'. */
  storeKeys(c: string, n: number, blobs: readonly Uint8Array[], prekeyOf: (b: Uint8Array) => string): Promise<number | 'quota'> {
    return this.gate.shared(async () => {
      const rec = (await this.feeds.get(`${c}!${epochKey(n)}`)) as EpochRec | undefined;
      if (!rec) throw new Missing('no such epoch');
      const hour = Math.floor(this.opts.now() / HOUR);
      const fresh = new Map<string, Uint8Array>();
      for (const blob of blobs) {
        const key = `${c}!${epochKey(n)}!${prekeyOf(blob)}!${createHash('sha256').update(blob).digest('hex').slice(0, 32)}`;
        if (fresh.has(key) || (await this.keyBlobs.get(key)) !== undefined) continue;
        const stamped = new Uint8Array(4 + blob.length);
        new DataView(stamped.buffer).setUint32(0, hour);
        stamped.set(blob, 4);
        fresh.set(key, stamped);
      }
      if (rec.keys + fresh.size > 2 * rec.members + 1000) return 'quota';
      if (!fresh.size) return 0;
      await this.write([
        ...[...fresh].map(([key, value]): Op => ({ type: 'put', key, value, sublevel: this.keyBlobs })),
        { type: 'put', key: `${c}!${epochKey(n)}`, value: { ...rec, keys: rec.keys + fresh.size }, sublevel: this.feeds },
      ]);
      return fresh.size;
    });
  }

  /** The key envelopes of epoch n whose header names this prekey id. */
  fetchKeys(c: string, n: number, prekey: string): Promise<Uint8Array[]> {
    return this.gate.shared(async () => {
      const out: Uint8Array[] = [], prefix = `${c}!${epochKey(n)}!${prekey}!`;
      for await (const v of this.keyBlobs.values({ gt: prefix, lt: `${prefix}~` })) out.push(v.subarray(4));
      return out;
    });
  }

  /** Store a post of the current epoch (epoch, signature and quota checked by the caller); returns its seq. */
  addPost(c: string, epoch: number, blob: Uint8Array, deleteHash: Uint8Array, spends?: Spends): Promise<number> {
    return this.gate.shared(async () => {
      const feed = await this.feedOf(c);
      if (feed.epoch !== epoch) throw new Error('epoch moved under the lock');
      const seq = feed.seq + 1;
      const value = new Uint8Array(40 + blob.length), dv = new DataView(value.buffer);
      dv.setUint32(0, Math.floor(this.opts.now() / HOUR)); dv.setUint32(4, epoch);
      value.set(deleteHash, 8); value.set(blob, 40);
      await this.write([
        { type: 'put', key: `${c}!${seqKey(seq)}`, value, sublevel: this.posts },
        { type: 'put', key: c, value: { ...feed, seq, posts: feed.posts + 1 }, sublevel: this.feeds },
      ], spends);
      return seq;
    });
  }

  /** Delete a pending post whose delete hash is `hash`: 'missing', 'wrong' (hash differs) or 'deleted'. */
  deletePost(c: string, seq: number, hash: Uint8Array): Promise<'missing' | 'wrong' | 'deleted'> {
    return this.gate.shared(async () => {
      const value = await this.posts.get(`${c}!${seqKey(seq)}`);
      if (!value) return 'missing';
      if (Buffer.compare(value.subarray(8, 40), hash) !== 0) return 'wrong';
      const feed = await this.feedOf(c);
      await this.write([
        { type: 'del', key: `${c}!${seqKey(seq)}`, sublevel: this.posts },
        { type: 'put', key: c, value: { ...feed, posts: feed.posts - 1 }, sublevel: this.feeds },
      ]);
      this.dirty = true;
      return 'deleted';
    });
  }

  /** Open a cursor for epoch n (the caller checked the proof and its nullifier): a random id, positioned before the epoch's first post. */
  openCursor(c: string, n: number, key: string, nullifier: string): Promise<string> {
    return this.gate.shared(async () => {
      const rec = (await this.feeds.get(`${c}!${epochKey(n)}`)) as EpochRec | undefined;
      if (!rec) throw new Missing('no such epoch');
      const id = createHash('sha256').update(crypto.getRandomValues(new Uint8Array(32))).digest('base64url').slice(0, 22);
      await this.write([
        { type: 'put', key: `${c}!${id}`, value: { epoch: n, key, pos: rec.start, day: this.today() }, sublevel: this.cursors },
        { type: 'put', key: `${c}!${epochKey(n)}!cursor!${nullifier}`, value: this.today(), sublevel: this.postNullifiers },
      ]);
      return id;
    });
  }

  /** A cursor's record. */
  getCursor(c: string, id: string): Promise<CursorRec | undefined> { return this.gate.shared(() => this.cursors.get(`${c}!${id}`)); }

  /** Up to `limit` posts of the cursor's epoch after its position; marks it used today. */
  readCursor(c: string, id: string, limit: number, spends?: Spends): Promise<{ posts: { seq: number; blob: Uint8Array }[]; more: boolean }> {
    return this.gate.shared(async () => {
      const cur = await this.cursors.get(`${c}!${id}`);
      if (!cur) throw new Missing('no such cursor');
      if (cur.day !== this.today()) await this.write([{ type: 'put', key: `${c}!${id}`, value: { ...cur, day: this.today() }, sublevel: this.cursors }], spends);
      const posts: { seq: number; blob: Uint8Array }[] = [];
      for await (const [key, v] of this.posts.iterator({ gt: `${c}!${seqKey(cur.pos)}`, lt: `${c}!~` })) {
        const epoch = new DataView(v.buffer, v.byteOffset).getUint32(4);
        if (epoch > cur.epoch) break;
        if (epoch < cur.epoch) continue;
        posts.push({ seq: parseInt(key.slice(c.length + 1), 16), blob: v.subarray(40) });
        if (posts.length > limit) break;
      }
      return { posts: posts.slice(0, limit), more: posts.length > limit };
    });
  }

  /**
   * Move a cursor to `upTo` (never back, never past the last post); then, if the epoch has as
   * many cursors as it had members, delete its posts every cursor has passed. Returns how many
   * posts were deleted.
   */
  ackCursor(c: string, id: string, upTo: number, spends?: Spends): Promise<number> {
    return this.gate.shared(async () => {
      const cur = await this.cursors.get(`${c}!${id}`);
      if (!cur) throw new Missing('no such cursor');
      const feed = await this.feedOf(c);
      const rec = (await this.feeds.get(`${c}!${epochKey(cur.epoch)}`)) as EpochRec;
      const pos = Math.max(cur.pos, Math.min(upTo, feed.seq));
      const ops: Op[] = [{ type: 'put', key: `${c}!${id}`, value: { ...cur, pos, day: this.today() }, sublevel: this.cursors }];
      let n = 0, low = Infinity;
      for await (const [key, other] of this.cursors.iterator({ gt: `${c}!`, lt: `${c}!~` })) {
        if (other.epoch !== cur.epoch) continue;
        n++; low = Math.min(low, key === `${c}!${id}` ? pos : other.pos);
      }
      // a member admitted during the current epoch may read it too (POSTS.md §4): its posts wait
      // for as many cursors as the collective has members now, not only as it had at the opening
      const needed = cur.epoch === feed.epoch ? Math.max(rec.members, (await this.collectives.get(c))?.members ?? 0) : rec.members;
      let deleted = 0;
      if (n >= needed && low > rec.start) {
        for await (const [key, v] of this.posts.iterator({ gt: `${c}!${seqKey(rec.start)}`, lte: `${c}!${seqKey(low)}` })) {
          if (new DataView(v.buffer, v.byteOffset).getUint32(4) !== cur.epoch) continue;
          ops.push({ type: 'del', key, sublevel: this.posts }); deleted++;
        }
        if (deleted) ops.push({ type: 'put', key: c, value: { ...feed, posts: feed.posts - deleted }, sublevel: this.feeds });
      }
      await this.write(ops, spends);
      if (deleted) this.dirty = true;
      return deleted;
    });
  }

  /** The sweep's part for one collective's feed: posts and key envelopes past the TTL, idle cursors, nullifiers of past epochs older than the TTL. */
  private async sweepFeed(c: string, cutoffHour: number, idleDay: number): Promise<number> {
    const ops: Op[] = [], range = { gt: `${c}!`, lt: `${c}!~` };
    const feed = await this.feedOf(c);
    let expired = 0;
    for await (const [key, v] of this.posts.iterator(range)) {
      if (new DataView(v.buffer, v.byteOffset).getUint32(0) >= cutoffHour) continue;
      ops.push({ type: 'del', key, sublevel: this.posts }); expired++;
    }
    if (expired) ops.push({ type: 'put', key: c, value: { ...feed, posts: feed.posts - expired }, sublevel: this.feeds });
    for await (const [key, v] of this.keyBlobs.iterator(range)) if (new DataView(v.buffer, v.byteOffset).getUint32(0) < cutoffHour) ops.push({ type: 'del', key, sublevel: this.keyBlobs });
    for await (const [key, v] of this.cursors.iterator(range)) if (v.day < idleDay) ops.push({ type: 'del', key, sublevel: this.cursors });
    for await (const [key, day] of this.postNullifiers.iterator(range)) {
      if (day < idleDay && parseInt(key.split('!')[1]!, 16) < feed.epoch) ops.push({ type: 'del', key, sublevel: this.postNullifiers });
    }
    if (ops.length) { await this.write(ops); this.dirty = true; }
    return expired;
  }

  // ---- housekeeping ----

  /** Remove expired blobs, idle mailboxes (not intros), old nonces and old graves. Returns counts only. */
  async sweep(): Promise<{ blobs: number; mailboxes: number; nonces: number; posts: number }> {
    const now = this.opts.now();
    const cutoffHour = hourKey(Math.floor((now - this.opts.ttlMs) / HOUR));
    const idleDay = Math.floor((now - this.opts.ttlMs) / DAY);
    let blobs = 0, mailboxes = 0;
    const byBox = new Map<string, string[]>();
    const idle: string[] = [];
    await this.gate.shared(async () => {
      for await (const key of this.expiry.keys({ lt: cutoffHour })) {
        const [, box, seq] = key.split('!') as [string, string, string];
        byBox.set(box, [...(byBox.get(box) ?? []), seq]);
      }
      for await (const [id, meta] of this.boxes.iterator()) if (meta.day < idleDay && !meta.intro) idle.push(id);
    });
    // blobs and their expiry entries are always written and deleted together, so ack removes both
    for (const [box, seqs] of byBox) blobs += await this.lock.run(box, () => this.ack(box, seqs, false));
    for (const id of idle) {
      await this.lock.run(id, async () => {
        const meta = await this.getMailbox(id);
        if (meta && meta.day < idleDay && !meta.intro) { await this.deleteMailbox(id); mailboxes++; }
      });
    }
    const nonces = await this.gate.shared(async () => {
      const ops: Op[] = [];
      for await (const [nonce, expires] of this.nonces.iterator()) if (expires < now) ops.push({ type: 'del', key: nonce, sublevel: this.nonces });
      const today = this.today();
      for await (const [key, grave] of this.graves.iterator()) if (grave.until < today) ops.push({ type: 'del', key, sublevel: this.graves });
      if (ops.length) await this.write(ops);
      return ops.filter((op) => op.sublevel === this.nonces).length;
    });
    // posts (POSTS.md §4): one collective at a time, under its lock
    const feeds: string[] = [];
    await this.gate.shared(async () => { for await (const key of this.feeds.keys()) if (!key.includes('!')) feeds.push(key); });
    let posts = 0;
    for (const c of feeds) posts += await this.lock.run(`collective:${c}`, () => this.gate.shared(() => this.sweepFeed(c, Math.floor((now - this.opts.ttlMs) / HOUR), idleDay)));
    return { blobs, mailboxes, nonces, posts };
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
        for await (const [key, value] of this.db_.iterator<Uint8Array, Uint8Array>(raw)) {
          batch.push({ type: 'put', key, value });
          if (batch.length >= COPY_BATCH) { await fresh.batch(batch as never, raw as never); batch = []; }
        }
        if (batch.length) await fresh.batch(batch as never, raw as never);
      });
      await this.gate.exclusive(async () => {
        const tee = this.tee!;
        this.tee = undefined;
        const subs = this.bind(fresh);
        // replayed in order; the sync also makes every earlier (unsynced) copy batch durable
        const replay = tee.ops.map((op) => ({ ...op, sublevel: subs[this.subNames.get(op.sublevel)!] }));
        const marker = { type: 'put', key: '~rewrite', value: '', sublevel: subs.nonces };
        await fresh.batch([...replay, marker, { ...marker, type: 'del' }] as never, SYNC);
        if (tee.deletes) this.dirty = true;
        await writeAtomic(this.dir, POINTER, `${gen}\n`);
        const old = this.db_, oldGen = this.gen;
        this.use(fresh, gen);
        await old.close();
        if (oldGen === 0) {
          for (const f of await readdir(this.dir)) if (isLegacyDbFile(f)) await rm(join(this.dir, f), { force: true });
        } else {
          await rm(genDir(this.dir, oldGen), { recursive: true, force: true });
        }
      });
    } catch (e) {
      this.tee = undefined; this.dirty = true;
      if (fresh.status === 'open' && this.db_ !== fresh) { await fresh.close(); await rm(path, { recursive: true, force: true }); }
      throw e;
    }
    return true;
  }
}
