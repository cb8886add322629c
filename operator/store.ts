/**
 * The Operator's storage: names, mailboxes, pending blobs and spent nonces in LevelDB.
 * Each write that a client is told succeeded is fsync'ed first (`sync: true`), so an
 * acknowledged deposit survives `kill -9`. Deletes are followed by compaction so that
 * acknowledged ciphertext leaves the disk. Times are stored coarsely (hour/day) only.
 */
import { Level } from 'level';
import type { ClassicLevel } from 'classic-level';
import { KeyedLock } from '../protocol/lock.ts';
import type { SignedRecord } from '../protocol/wire.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SYNC = { sync: true };

/** One operation of an atomic batch, on any sublevel. */
interface Op { type: 'put' | 'del'; key: string; value?: unknown; sublevel: unknown }

/** What the Operator keeps about one mailbox. `day` is the last owner activity, in whole days. */
export interface MailboxMeta { key: string; seq: number; count: number; bytes: number; day: number }

/** Store settings. */
export interface StoreOptions {
  /** Blobs older than this, and mailboxes idle this long, are removed (ms). */
  ttlMs: number;
  maxBlobsPerMailbox: number;
  maxBytesPerMailbox: number;
  /** The clock; injectable for tests. */
  now: () => number;
}

/** Outcome of a deposit. */
export type DepositResult = 'stored' | 'unknown' | 'quota';

const seqKey = (seq: number) => seq.toString(16).padStart(12, '0');
/** An hour number as it appears in expiry-index keys (sortable hex). */
const hourKey = (hour: number) => hour.toString(16).padStart(8, '0');
/** The hour stamp a stored blob value starts with. */
const stampOf = (value: Uint8Array) => new DataView(value.buffer, value.byteOffset).getUint32(0);

/** LevelDB-backed storage with per-mailbox serialisation. */
export class Store {
  readonly lock = new KeyedLock();
  private readonly names;
  private readonly boxes;
  private readonly blobs;
  private readonly expiry;
  private readonly nonces;
  private deletesSinceCompaction = 0;

  private constructor(readonly db: ClassicLevel<string, string>, readonly opts: StoreOptions) {
    this.names = db.sublevel<string, SignedRecord>('n', { valueEncoding: 'json' });
    this.boxes = db.sublevel<string, MailboxMeta>('m', { valueEncoding: 'json' });
    this.blobs = db.sublevel<string, Uint8Array>('b', { valueEncoding: 'view' });
    this.expiry = db.sublevel<string, string>('x', { valueEncoding: 'utf8' });
    this.nonces = db.sublevel<string, number>('r', { valueEncoding: 'json' });
  }

  /** Open (creating if needed) the store in `dir`. */
  static async open(dir: string, opts: StoreOptions): Promise<Store> {
    // in Node, `level` is classic-level (LevelDB): it has `sync` writes and compactRange
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' }) as unknown as ClassicLevel<string, string>;
    await db.open();
    return new Store(db, opts);
  }

  private write(ops: Op[]): Promise<void> { return this.db.batch(ops as never, SYNC); }

  /** Close the database cleanly. */
  close(): Promise<void> { return this.db.close(); }

  private today(): number { return Math.floor(this.opts.now() / DAY); }

  // ---- names ----

  /** The signed record for a lower-cased name, if any. */
  getName(lower: string): Promise<SignedRecord | undefined> { return this.names.get(lower); }

  /** Store (create or replace) a name record. */
  putName(lower: string, rec: SignedRecord): Promise<void> { return this.write([{ type: 'put', key: lower, value: rec, sublevel: this.names }]); }

  /** Delete a name and its intro mailbox with everything in it, in one batch. */
  async deleteName(lower: string, intro: string): Promise<void> {
    await this.lock.run(intro, async () => {
      await this.write([{ type: 'del', key: lower, sublevel: this.names }, ...(await this.mailboxDeletes(intro))]);
    });
    this.deletesSinceCompaction++;
  }

  // ---- mailboxes ----

  /** Mailbox metadata, if the mailbox exists. */
  getMailbox(id: string): Promise<MailboxMeta | undefined> { return this.boxes.get(id); }

  /** Create a mailbox owned by `key`; false if the id is taken. Call under the mailbox lock. */
  async createMailbox(id: string, key: string): Promise<boolean> {
    if (await this.boxes.get(id)) return false;
    await this.write([{ type: 'put', key: id, value: { key, seq: 0, count: 0, bytes: 0, day: this.today() }, sublevel: this.boxes }]);
    return true;
  }

  /** Append a blob to a mailbox, within quota. Call under the mailbox lock. */
  async deposit(id: string, data: Uint8Array): Promise<DepositResult> {
    const meta = await this.boxes.get(id);
    if (!meta) return 'unknown';
    if (meta.count + 1 > this.opts.maxBlobsPerMailbox || meta.bytes + data.length > this.opts.maxBytesPerMailbox) return 'quota';
    const seq = seqKey(meta.seq + 1);
    const hourNumber = Math.floor(this.opts.now() / HOUR);
    const hour = hourKey(hourNumber);
    const stamped = new Uint8Array(4 + data.length);
    new DataView(stamped.buffer).setUint32(0, hourNumber);
    stamped.set(data, 4);
    await this.write([
      { type: 'put', key: `${id}!${seq}`, value: stamped, sublevel: this.blobs },
      { type: 'put', key: `${hour}!${id}!${seq}`, value: '', sublevel: this.expiry },
      { type: 'put', key: id, value: { ...meta, seq: meta.seq + 1, count: meta.count + 1, bytes: meta.bytes + data.length }, sublevel: this.boxes },
    ]);
    return 'stored';
  }

  /** Up to `limit` pending blobs in deposit order; marks the owner active. Call under the mailbox lock. */
  async fetch(id: string, limit: number): Promise<{ blobs: { id: string; data: Uint8Array }[]; more: boolean }> {
    const meta = await this.boxes.get(id);
    if (!meta) return { blobs: [], more: false };
    if (meta.day !== this.today()) await this.write([{ type: 'put', key: id, value: { ...meta, day: this.today() }, sublevel: this.boxes }]);
    const blobs: { id: string; data: Uint8Array }[] = [];
    for await (const [key, value] of this.blobs.iterator({ gt: `${id}!`, lt: `${id}!~`, limit: limit + 1 })) {
      blobs.push({ id: key.slice(id.length + 1), data: value.subarray(4) });
    }
    const more = blobs.length > limit;
    return { blobs: blobs.slice(0, limit), more };
  }

  /**
   * Delete the acknowledged blobs atomically; returns how many existed. `byOwner` marks the
   * mailbox active (the sweep passes false). Call under the mailbox lock.
   */
  async ack(id: string, ids: readonly string[], byOwner = true): Promise<number> {
    const meta = await this.boxes.get(id);
    if (!meta) return 0;
    const ops: Op[] = [];
    let count = 0, bytes = 0;
    for (const seq of new Set(ids)) {
      const value = await this.blobs.get(`${id}!${seq}`);
      if (!value) continue;
      ops.push({ type: 'del', key: `${id}!${seq}`, sublevel: this.blobs }, { type: 'del', key: `${hourKey(stampOf(value))}!${id}!${seq}`, sublevel: this.expiry });
      count++; bytes += value.length - 4;
    }
    if (count === 0) return 0;
    ops.push({ type: 'put', key: id, value: { ...meta, count: meta.count - count, bytes: meta.bytes - bytes, day: byOwner ? this.today() : meta.day }, sublevel: this.boxes });
    await this.write(ops);
    this.deletesSinceCompaction += count;
    return count;
  }

  private async mailboxDeletes(id: string): Promise<Op[]> {
    const ops: Op[] = [{ type: 'del', key: id, sublevel: this.boxes }];
    for await (const [key, value] of this.blobs.iterator({ gt: `${id}!`, lt: `${id}!~` })) {
      ops.push({ type: 'del', key, sublevel: this.blobs }, { type: 'del', key: `${hourKey(stampOf(value))}!${key}`, sublevel: this.expiry });
    }
    return ops;
  }

  /** Delete a mailbox and every blob in it. Call under the mailbox lock. */
  async deleteMailbox(id: string): Promise<void> {
    await this.write(await this.mailboxDeletes(id));
    this.deletesSinceCompaction++;
  }

  // ---- replay protection ----

  /** Record a request nonce until `expires`; false if it was already used. */
  async spendNonce(nonce: string, expires: number): Promise<boolean> {
    return this.lock.run(`nonce:${nonce}`, async () => {
      if ((await this.nonces.get(nonce)) !== undefined) return false;
      await this.write([{ type: 'put', key: nonce, value: expires, sublevel: this.nonces }]);
      return true;
    });
  }

  // ---- housekeeping ----

  /** Remove expired blobs, idle mailboxes and old nonces. Returns counts only. */
  async sweep(): Promise<{ blobs: number; mailboxes: number; nonces: number }> {
    const now = this.opts.now();
    const cutoffHour = hourKey(Math.floor((now - this.opts.ttlMs) / HOUR));
    let blobs = 0, mailboxes = 0, nonces = 0;
    const byBox = new Map<string, string[]>();
    for await (const key of this.expiry.keys({ lt: cutoffHour })) {
      const [, box, seq] = key.split('!') as [string, string, string];
      byBox.set(box, [...(byBox.get(box) ?? []), seq]);
    }
    for (const [box, seqs] of byBox) {
      // blobs and their expiry entries are always written and deleted together, so ack removes both
      blobs += await this.lock.run(box, () => this.ack(box, seqs, false));
    }
    const idleDay = Math.floor((now - this.opts.ttlMs) / DAY);
    const idle: string[] = [];
    for await (const [id, meta] of this.boxes.iterator()) if (meta.day < idleDay) idle.push(id);
    for (const id of idle) {
      await this.lock.run(id, async () => {
        const meta = await this.boxes.get(id);
        if (meta && meta.day < idleDay) { await this.deleteMailbox(id); mailboxes++; }
      });
    }
    const spent: string[] = [];
    for await (const [nonce, expires] of this.nonces.iterator()) if (expires < now) spent.push(nonce);
    if (spent.length) await this.write(spent.map((key) => ({ type: 'del' as const, key, sublevel: this.nonces })));
    nonces = spent.length;
    return { blobs, mailboxes, nonces };
  }

  /** Compact the whole keyspace if anything was deleted since the last time, so tombstoned data leaves the disk. */
  async compact(force = false): Promise<boolean> {
    if (!force && this.deletesSinceCompaction === 0) return false;
    this.deletesSinceCompaction = 0;
    await this.db.compactRange('\x00', '\xff');
    return true;
  }
}
