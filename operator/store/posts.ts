/**
 * Posts in the store (POSTS.md §7): each collective's feed and key epochs, the pending posts,
 * the sealed key envelopes of each epoch, anonymous read cursors, and the nullifiers of epoch
 * and cursor proofs. Serialised per collective by the app (`collectiveLock`, taken before the
 * gate). A cursor record holds no name, commitment or key of its member, and no nullifier: the
 * nullifiers are stored apart, not tied to any cursor id.
 *
 * Tables: F feeds (`c` → FeedMeta, `c!epoch` → EpochRec), P posts (`c!seq` → u32 hour | u32
 * epoch | 32-byte delete hash | blob), Y key envelopes (`c!epoch!prekey!hash` → u32 hour |
 * blob), Q cursors (`c!id` → CursorRec), V proof nullifiers (`c!epoch!kind!nullifier` → day).
 */
import { createHash } from 'node:crypto';
import type { FoldedName } from '../../protocol/names.ts';
import { collectiveLock } from '../lock-keys.ts';
import type { Collectives } from './collectives.ts';
import { DAY, HOUR, Missing, type Core, type Spends } from './core.ts';
import { seqKey, stamped, stampOf } from './keys.ts';
import type { Op, Table } from './tables.ts';

/** A collective's feed: its current epoch (0 before the first), the last post's seq, how many posts are pending. */
export interface FeedMeta { epoch: number; seq: number; posts: number }
/** One epoch: its posting public key, the root and member count it was opened with, the seq before its first post, key envelopes stored. */
export interface EpochRec { postingKey: string; root: string; members: number; start: number; keys: number }
/** An anonymous cursor: its epoch, its own public key, the last seq acknowledged and the day last used. Nothing about its member. */
export interface CursorRec { epoch: number; key: string; pos: number; day: number }
/** Posts pending in one collective at most; more are refused (429). */
export const MAX_PENDING_POSTS = 10_000;
const epochKey = (n: number) => n.toString(16).padStart(8, '0');

/** The post records: epochs, key envelopes, posts, cursors, and their part of the sweep. */
export class Posts {
  private readonly feeds: Table<FeedMeta | EpochRec>;
  private readonly posts: Table<Uint8Array>;
  private readonly keyBlobs: Table<Uint8Array>;
  private readonly cursors: Table<CursorRec>;
  private readonly postNullifiers: Table<number>;

  constructor(private readonly core: Core, private readonly collectives: Collectives) {
    this.feeds = core.table('F', 'json');
    this.posts = core.table('P', 'view');
    this.keyBlobs = core.table('Y', 'view');
    this.cursors = core.table('Q', 'json');
    this.postNullifiers = core.table('V', 'json');
  }

  /** A collective's feed: current epoch (0 = none yet), last seq, pending posts. */
  feed(c: FoldedName): Promise<FeedMeta> { return this.core.gate.shared(() => this.feedOf(c)); }
  private async feedOf(c: FoldedName): Promise<FeedMeta> { return ((await this.feeds.get(c)) as FeedMeta | undefined) ?? { epoch: 0, seq: 0, posts: 0 }; }

  /** One epoch's record. */
  epoch(c: FoldedName, n: number): Promise<EpochRec | undefined> { return this.core.gate.shared(() => this.feeds.get(`${c}!${epochKey(n)}`) as Promise<EpochRec | undefined>); }

  /** True if this epoch or cursor proof's nullifier was already used in its scope. */
  nullifierUsed(c: FoldedName, n: number, kind: 'epoch' | 'cursor', nullifier: string): Promise<boolean> {
    return this.core.gate.shared(async () => (await this.postNullifiers.get(`${c}!${epochKey(n)}!${kind}!${nullifier}`)) !== undefined);
  }

  /** Open epoch n (the caller checked n = current + 1, the root, the proof and its nullifier). */
  openEpoch(c: FoldedName, n: number, rec: Omit<EpochRec, 'start' | 'keys'>, nullifier: string): Promise<void> {
    return this.core.gate.shared(async () => {
      const feed = await this.feedOf(c);
      if (feed.epoch + 1 !== n) throw new Error('epoch moved under the lock');
      await this.core.write([
        this.feeds.put(c, { ...feed, epoch: n }),
        this.feeds.put(`${c}!${epochKey(n)}`, { ...rec, start: feed.seq, keys: 0 }),
        this.postNullifiers.put(`${c}!${epochKey(n)}!epoch!${nullifier}`, this.core.today()),
      ]);
    });
  }

  /** Store key envelopes of epoch n (the same blob twice is stored once); returns how many are new, or 'quota'. */
  storeKeys(c: FoldedName, n: number, blobs: readonly Uint8Array[], prekeyOf: (b: Uint8Array) => string): Promise<number | 'quota'> {
    return this.core.gate.shared(async () => {
      const rec = (await this.feeds.get(`${c}!${epochKey(n)}`)) as EpochRec | undefined;
      if (!rec) throw new Missing('no such epoch');
      const hour = Math.floor(this.core.opts.now() / HOUR);
      const fresh = new Map<string, Uint8Array>();
      for (const blob of blobs) {
        const key = `${c}!${epochKey(n)}!${prekeyOf(blob)}!${createHash('sha256').update(blob).digest('hex').slice(0, 32)}`;
        if (fresh.has(key) || (await this.keyBlobs.get(key)) !== undefined) continue;
        fresh.set(key, stamped(hour, blob));
      }
      if (rec.keys + fresh.size > 2 * rec.members + 1000) return 'quota';
      if (!fresh.size) return 0;
      await this.core.write([
        ...[...fresh].map(([key, value]): Op => this.keyBlobs.put(key, value)),
        this.feeds.put(`${c}!${epochKey(n)}`, { ...rec, keys: rec.keys + fresh.size }),
      ]);
      return fresh.size;
    });
  }

  /** The key envelopes of epoch n whose header names this prekey id. */
  fetchKeys(c: FoldedName, n: number, prekey: string): Promise<Uint8Array[]> {
    return this.core.gate.shared(async () => {
      const out: Uint8Array[] = [], prefix = `${c}!${epochKey(n)}!${prekey}!`;
      for await (const v of this.keyBlobs.sub.values({ gt: prefix, lt: `${prefix}~` })) out.push(v.subarray(4));
      return out;
    });
  }

  /** Store a post of the current epoch (epoch, signature and quota checked by the caller); returns its seq. */
  add(c: FoldedName, epoch: number, blob: Uint8Array, deleteHash: Uint8Array, spends?: Spends): Promise<number> {
    return this.core.gate.shared(async () => {
      const feed = await this.feedOf(c);
      if (feed.epoch !== epoch) throw new Error('epoch moved under the lock');
      const seq = feed.seq + 1;
      const value = new Uint8Array(40 + blob.length), dv = new DataView(value.buffer);
      dv.setUint32(0, Math.floor(this.core.opts.now() / HOUR)); dv.setUint32(4, epoch);
      value.set(deleteHash, 8); value.set(blob, 40);
      await this.core.write([
        this.posts.put(`${c}!${seqKey(seq)}`, value),
        this.feeds.put(c, { ...feed, seq, posts: feed.posts + 1 }),
      ], spends);
      return seq;
    });
  }

  /** Delete a pending post whose delete hash is `hash`: 'missing', 'wrong' (hash differs) or 'deleted'. */
  delete(c: FoldedName, seq: number, hash: Uint8Array): Promise<'missing' | 'wrong' | 'deleted'> {
    return this.core.gate.shared(async () => {
      const value = await this.posts.get(`${c}!${seqKey(seq)}`);
      if (!value) return 'missing';
      if (Buffer.compare(value.subarray(8, 40), hash) !== 0) return 'wrong';
      const feed = await this.feedOf(c);
      await this.core.write([
        this.posts.del(`${c}!${seqKey(seq)}`),
        this.feeds.put(c, { ...feed, posts: feed.posts - 1 }),
      ]);
      this.core.deleted();
      return 'deleted';
    });
  }

  /** Open a cursor for epoch n (the caller checked the proof and its nullifier): a random id, positioned before the epoch's first post. */
  openCursor(c: FoldedName, n: number, key: string, nullifier: string): Promise<string> {
    return this.core.gate.shared(async () => {
      const rec = (await this.feeds.get(`${c}!${epochKey(n)}`)) as EpochRec | undefined;
      if (!rec) throw new Missing('no such epoch');
      const id = createHash('sha256').update(crypto.getRandomValues(new Uint8Array(32))).digest('base64url').slice(0, 22);
      await this.core.write([
        this.cursors.put(`${c}!${id}`, { epoch: n, key, pos: rec.start, day: this.core.today() }),
        this.postNullifiers.put(`${c}!${epochKey(n)}!cursor!${nullifier}`, this.core.today()),
      ]);
      return id;
    });
  }

  /** A cursor's record. */
  cursor(c: FoldedName, id: string): Promise<CursorRec | undefined> { return this.core.gate.shared(() => this.cursors.get(`${c}!${id}`)); }

  /** Up to `limit` posts of the cursor's epoch after its position; marks it used today. */
  readCursor(c: FoldedName, id: string, limit: number, spends?: Spends): Promise<{ posts: { seq: number; blob: Uint8Array }[]; more: boolean }> {
    return this.core.gate.shared(async () => {
      const cur = await this.cursors.get(`${c}!${id}`);
      if (!cur) throw new Missing('no such cursor');
      if (cur.day !== this.core.today()) await this.core.write([this.cursors.put(`${c}!${id}`, { ...cur, day: this.core.today() })], spends);
      const posts: { seq: number; blob: Uint8Array }[] = [];
      for await (const [key, v] of this.posts.sub.iterator({ gt: `${c}!${seqKey(cur.pos)}`, lt: `${c}!~` })) {
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
  ackCursor(c: FoldedName, id: string, upTo: number, spends?: Spends): Promise<number> {
    return this.core.gate.shared(async () => {
      const cur = await this.cursors.get(`${c}!${id}`);
      if (!cur) throw new Missing('no such cursor');
      const feed = await this.feedOf(c);
      const rec = (await this.feeds.get(`${c}!${epochKey(cur.epoch)}`)) as EpochRec;
      const pos = Math.max(cur.pos, Math.min(upTo, feed.seq));
      const ops: Op[] = [this.cursors.put(`${c}!${id}`, { ...cur, pos, day: this.core.today() })];
      let n = 0, low = Infinity;
      for await (const [key, other] of this.cursors.sub.iterator({ gt: `${c}!`, lt: `${c}!~` })) {
        if (other.epoch !== cur.epoch) continue;
        n++; low = Math.min(low, key === `${c}!${id}` ? pos : other.pos);
      }
      // a member admitted during the current epoch may read it too (POSTS.md §4): its posts wait
      // for as many cursors as the collective has members now, not only as it had at the opening
      const needed = cur.epoch === feed.epoch ? Math.max(rec.members, (await this.collectives.records.get(c))?.members ?? 0) : rec.members;
      let deleted = 0;
      if (n >= needed && low > rec.start) {
        for await (const [key, v] of this.posts.sub.iterator({ gt: `${c}!${seqKey(rec.start)}`, lte: `${c}!${seqKey(low)}` })) {
          if (new DataView(v.buffer, v.byteOffset).getUint32(4) !== cur.epoch) continue;
          ops.push(this.posts.del(key)); deleted++;
        }
        if (deleted) ops.push(this.feeds.put(c, { ...feed, posts: feed.posts - deleted }));
      }
      await this.core.write(ops, spends);
      if (deleted) this.core.deleted();
      return deleted;
    });
  }

  /** The sweep's part for one collective's feed: posts and key envelopes past the TTL, idle cursors, nullifiers of past epochs older than the TTL. */
  private async sweepFeed(c: FoldedName, cutoffHour: number, idleDay: number): Promise<number> {
    const ops: Op[] = [], range = { gt: `${c}!`, lt: `${c}!~` };
    const feed = await this.feedOf(c);
    let expired = 0;
    for await (const [key, v] of this.posts.sub.iterator(range)) {
      if (stampOf(v) >= cutoffHour) continue;
      ops.push(this.posts.del(key)); expired++;
    }
    if (expired) ops.push(this.feeds.put(c, { ...feed, posts: feed.posts - expired }));
    for await (const [key, v] of this.keyBlobs.sub.iterator(range)) if (stampOf(v) < cutoffHour) ops.push(this.keyBlobs.del(key));
    for await (const [key, v] of this.cursors.sub.iterator(range)) if (v.day < idleDay) ops.push(this.cursors.del(key));
    for await (const [key, day] of this.postNullifiers.sub.iterator(range)) {
      if (day < idleDay && parseInt(key.split('!')[1]!, 16) < feed.epoch) ops.push(this.postNullifiers.del(key));
    }
    if (ops.length) { await this.core.write(ops); this.core.deleted(); }
    return expired;
  }

  /** The sweep's part: each collective's feed in turn, under its lock. Returns how many posts expired. */
  async sweep(): Promise<number> {
    const now = this.core.opts.now(), ttl = this.core.opts.ttlMs;
    const feeds: FoldedName[] = []; // a feed's key is its collective's folded name
    await this.core.gate.shared(async () => { for await (const key of this.feeds.sub.keys()) if (!key.includes('!')) feeds.push(key as FoldedName); });
    let posts = 0;
    for (const c of feeds) {
      posts += await this.core.lock.run(collectiveLock(c), () => this.core.gate.shared(() => this.sweepFeed(c, Math.floor((now - ttl) / HOUR), Math.floor((now - ttl) / DAY))));
    }
    return posts;
  }
}
