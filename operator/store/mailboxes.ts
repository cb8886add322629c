/**
 * Mailboxes (PROTOCOL.md §5.2–§5.6, §6): each mailbox's record, its pending blobs, the expiry
 * index that finds blobs past the TTL, and the graves of deleted mailbox ids (hashes only).
 * Times are kept coarsely: a blob's hour, a mailbox's last owner activity in whole days.
 *
 * Tables: m mailboxes (`id` → MailboxMeta), b blobs (`id!seq` → u32 hour | blob), x expiry
 * (`hour!id!seq` → ''), g graves (`sha256(id)` → Grave).
 */
import { createHash } from 'node:crypto';
import { DAY, HOUR, Missing, type Core, type Spends } from './core.ts';
import { seqKey, stamped, stampOf } from './keys.ts';
import type { Op, Table } from './tables.ts';

/**
 * What the Operator keeps about one mailbox. `day` is the last owner activity, in whole days;
 * `intro` marks a name's intro mailbox (it needs proof of work to deposit and never idles out).
 */
export interface MailboxMeta { key: string; seq: number; count: number; bytes: number; day: number; intro?: true }

/** A deleted mailbox id's grave (§5.6): hashes only, so the id itself is gone from the disk. */
interface Grave { key: string; until: number }

/** Outcome of a deposit. */
export type DepositResult = 'stored' | 'unknown' | 'quota' | 'full';

/** An hour number as it appears in expiry-index keys (sortable hex). */
const hourKey = (hour: number) => hour.toString(16).padStart(8, '0');
/** A one-way name for a mailbox id or key in the graves (the id itself must not stay on disk). */
const graveHash = (s: string) => createHash('sha256').update(`komrade grave\n${s}`).digest('hex');

/** The mailbox records: create, deposit, fetch, ack, delete, and their part of the sweep. */
export class Mailboxes {
  /** Mailbox records (names.ts sets and clears the intro flag on them). */
  readonly boxes: Table<MailboxMeta>;
  private readonly blobs: Table<Uint8Array>;
  private readonly expiry: Table<string>;
  private readonly graves: Table<Grave>;
  /** All pending blob bytes (for `maxStoreBytes`). */
  private totalBytes = 0;
  /** Records of the mailboxes `with` is running on (undefined once deleted). */
  private readonly held = new Map<string, MailboxMeta | undefined>();

  constructor(private readonly core: Core) {
    this.boxes = core.table('m', 'json');
    this.blobs = core.table('b', 'view');
    this.expiry = core.table('x', 'utf8');
    this.graves = core.table('g', 'json');
    this.boxes.watch = (op) => { if (this.held.has(op.key)) this.held.set(op.key, op.type === 'put' ? op.value as MailboxMeta : undefined); };
  }

  /** Count the pending bytes of an opened store (call once after open). */
  async load(): Promise<void> {
    for await (const meta of this.boxes.sub.values()) this.totalBytes += meta.bytes;
  }

  /**
   * Run `fn` on an existing mailbox under its lock (so nothing else touches it meanwhile);
   * throws `Missing` if there is no such mailbox. What every mailbox route does first.
   */
  with<T>(id: string, fn: (meta: MailboxMeta) => Promise<T>): Promise<T> {
    return this.core.lock.run(id, async () => {
      const meta = await this.get(id);
      if (!meta) throw new Missing('no such mailbox');
      // under the lock only this request changes the mailbox: its record is read once
      this.held.set(id, meta);
      try { return await fn(meta); } finally { this.held.delete(id); }
    });
  }

  /** A mailbox's record: the one `with` holds (kept current by the table's watch), else read. */
  private box(id: string): Promise<MailboxMeta | undefined> {
    return this.held.has(id) ? Promise.resolve(this.held.get(id)) : this.boxes.get(id);
  }

  /** Mailbox metadata, if the mailbox exists. */
  get(id: string): Promise<MailboxMeta | undefined> { return this.core.gate.shared(() => this.boxes.get(id)); }

  /**
   * Create a mailbox owned by `key`. 'taken' if the id exists, or was deleted within the TTL
   * and `key` is not the key it had (only its owner may make it again). Call under the mailbox lock.
   */
  create(id: string, key: string, spends?: Spends): Promise<'created' | 'taken'> {
    return this.core.gate.shared(async () => {
      if (await this.boxes.get(id)) return 'taken';
      const grave = await this.graves.get(graveHash(id));
      if (grave && grave.key !== graveHash(key)) return 'taken';
      const ops: Op[] = [this.boxes.put(id, { key, seq: 0, count: 0, bytes: 0, day: this.core.today() })];
      if (grave) ops.push(this.graves.del(graveHash(id)));
      await this.core.write(ops, spends);
      return 'created';
    });
  }

  /** Append a blob to a mailbox, within its quota and the store's budget. Call under the mailbox lock. */
  deposit(id: string, data: Uint8Array, spends?: Spends): Promise<DepositResult> {
    const { opts } = this.core;
    return this.core.gate.shared(async () => {
      const meta = await this.box(id);
      if (!meta) return 'unknown';
      if (meta.count + 1 > opts.maxBlobsPerMailbox || meta.bytes + data.length > opts.maxBytesPerMailbox) return 'quota';
      if (opts.maxStoreBytes && this.totalBytes + data.length > opts.maxStoreBytes) return 'full';
      const seq = seqKey(meta.seq + 1);
      const hourNumber = Math.floor(opts.now() / HOUR);
      this.totalBytes += data.length; // reserved before the write, so concurrent deposits cannot overshoot the budget
      try {
        await this.core.write([
          this.blobs.put(`${id}!${seq}`, stamped(hourNumber, data)),
          this.expiry.put(`${hourKey(hourNumber)}!${id}!${seq}`, ''),
          this.boxes.put(id, { ...meta, seq: meta.seq + 1, count: meta.count + 1, bytes: meta.bytes + data.length }),
        ], spends);
      } catch (e) { this.totalBytes -= data.length; throw e; }
      return 'stored';
    });
  }

  /** Up to `limit` pending blobs in deposit order; marks the owner active. Call under the mailbox lock. */
  fetch(id: string, limit: number, spends?: Spends): Promise<{ blobs: { id: string; data: Uint8Array }[]; more: boolean }> {
    return this.core.gate.shared(async () => {
      const meta = await this.box(id), today = this.core.today();
      if (!meta) return { blobs: [], more: false };
      if (meta.day !== today) await this.core.write([this.boxes.put(id, { ...meta, day: today })], spends);
      const blobs: { id: string; data: Uint8Array }[] = [];
      for await (const [key, value] of this.blobs.sub.iterator({ gt: `${id}!`, lt: `${id}!~`, limit: limit + 1 })) {
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
    return this.core.gate.shared(async () => {
      const meta = await this.box(id);
      if (!meta) return 0;
      const ops: Op[] = [];
      let count = 0, bytes = 0;
      // one read for the whole batch (an ack names up to 100 blobs)
      const seqs = [...new Set(ids)], values = await this.blobs.sub.getMany(seqs.map((seq) => `${id}!${seq}`));
      for (const [i, seq] of seqs.entries()) {
        const value = values[i];
        if (!value) continue;
        ops.push(this.blobs.del(`${id}!${seq}`), this.expiry.del(`${hourKey(stampOf(value))}!${id}!${seq}`));
        count++; bytes += value.length - 4;
      }
      if (count === 0) return 0;
      ops.push(this.boxes.put(id, { ...meta, count: meta.count - count, bytes: meta.bytes - bytes, day: byOwner ? this.core.today() : meta.day }));
      await this.core.write(ops, spends);
      this.totalBytes -= bytes;
      this.core.deleted();
      return count;
    });
  }

  /** The batch that deletes a mailbox, its blobs and their expiry entries, and leaves its grave (call inside the gate). */
  async deletes(id: string, meta: MailboxMeta): Promise<Op[]> {
    const ops: Op[] = [
      this.boxes.del(id),
      this.graves.put(graveHash(id), { key: graveHash(meta.key), until: this.core.today() + Math.ceil(this.core.opts.ttlMs / DAY) }),
    ];
    for await (const [key, value] of this.blobs.sub.iterator({ gt: `${id}!`, lt: `${id}!~` })) {
      ops.push(this.blobs.del(key), this.expiry.del(`${hourKey(stampOf(value))}!${key}`));
    }
    return ops;
  }

  /** A deleted mailbox's bytes leave the budget once its `deletes` batch is written. */
  forgotten(meta: MailboxMeta): void { this.totalBytes -= meta.bytes; }

  /** Delete a mailbox and every blob in it, leaving a grave for the TTL. Call under the mailbox lock. */
  delete(id: string, spends?: Spends): Promise<void> {
    return this.core.gate.shared(async () => {
      const meta = await this.box(id);
      if (!meta) return;
      await this.core.write(await this.deletes(id, meta), spends);
      this.forgotten(meta);
      this.core.deleted();
    });
  }

  /** The sweep's part: expired blobs, idle mailboxes (not intros), old graves. Returns counts only. */
  async sweep(): Promise<{ blobs: number; mailboxes: number }> {
    const now = this.core.opts.now(), ttl = this.core.opts.ttlMs, { gate, lock } = this.core;
    const cutoffHour = hourKey(Math.floor((now - ttl) / HOUR)), idleDay = Math.floor((now - ttl) / DAY);
    let blobs = 0, mailboxes = 0;
    const byBox = new Map<string, string[]>(), idle: string[] = [];
    await gate.shared(async () => {
      for await (const key of this.expiry.sub.keys({ lt: cutoffHour })) {
        const [, box, seq] = key.split('!') as [string, string, string];
        byBox.set(box, [...(byBox.get(box) ?? []), seq]);
      }
      for await (const [id, meta] of this.boxes.sub.iterator()) if (meta.day < idleDay && !meta.intro) idle.push(id);
    });
    // blobs and their expiry entries are always written and deleted together, so ack removes both
    for (const [box, seqs] of byBox) blobs += await lock.run(box, () => this.ack(box, seqs, false));
    for (const id of idle) {
      await lock.run(id, async () => {
        const meta = await this.get(id);
        if (meta && meta.day < idleDay && !meta.intro) { await this.delete(id); mailboxes++; }
      });
    }
    await gate.shared(async () => {
      const ops: Op[] = [], today = this.core.today();
      for await (const [key, grave] of this.graves.sub.iterator()) if (grave.until < today) ops.push(this.graves.del(key));
      if (ops.length) await this.core.write(ops);
    });
    return { blobs, mailboxes };
  }
}
