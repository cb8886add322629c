/**
 * Typed access to the vault's records (records.ts, state.ts), shared by every feature: each
 * request reads the few records it needs and writes only those it changed.
 *
 * Logical keys: `account`, `index`, `contact/<name>`, `chunk/<name>/<n>`, `outbox`, `pending`,
 * `seen/<day>`, `request/<name>`, `blocked`, `prekeys/<name>` (fresh-prekeys.ts), `collective/<name>` (or `collective/<name>@<host>`: collective-state.ts), `collective/~keys`, `collective/~counts`
 * (collective-state.ts), `transparency@<host>` (operators.ts) (reserved: `feed/…`).
 */
import type { CollectiveKey } from '../../../protocol/message.ts';
import { foldName } from '../../../protocol/names.ts';
import { CollectiveRecord, Counts, KeysIn, collectiveHandle } from '../collective-state.ts';
import { DamagedRecord, type Records } from '../records.ts';
import {
  Account, Blocked, CHUNK, Chunk, Contact, Index, Outbox, Pending, REQUEST_MESSAGES, Request, SeenDay,
  type Message, type Outgoing, type PendingBlob, type Summary,
} from '../state.ts';

const DAY = 86_400_000;
/** Message ids are remembered this long (longer than an envelope stays fresh). */
export const SEEN_MS = 31 * DAY;

export const K = {
  account: 'account', index: 'index', outbox: 'outbox', pending: 'pending',
  contact: (name: string) => `contact/${name}`,
  chunk: (name: string, n: number) => `chunk/${name}/${n}`,
  seen: (day: number) => `seen/${day}`,
  collective: (name: string) => `collective/${foldName(name)}`,
  keysIn: 'collective/~keys', counts: 'collective/~counts',
  request: (name: string) => `request/${name}`, blocked: 'blocked',
  prekeys: (name: string) => `prekeys/${name}`,
} as const;

export class Store {
  constructor(readonly r: Records) {}

  async account(): Promise<Account> {
    const a = await this.r.get(K.account, Account);
    if (!a) throw new DamagedRecord(K.account);
    return a;
  }
  putAccount(a: Account) { return this.r.put(K.account, a); }

  async index(): Promise<Index> { return (await this.r.get(K.index, Index)) ?? { contacts: {} }; }
  putIndex(i: Index) { return this.r.put(K.index, i); }

  /** Change one conversation's summary. */
  async summary(name: string, fn: (s: Summary) => void): Promise<Summary> {
    const i = await this.index();
    const s = i.contacts[name] ?? { unread: 0 };
    fn(s);
    i.contacts[name] = s;
    await this.putIndex(i);
    return s;
  }

  async unread(): Promise<number> {
    return Object.values((await this.r.peek(K.index, Index))?.contacts ?? {}).reduce((n, s) => n + s.unread, 0);
  }

  async unreadOf(name: string): Promise<number> { return (await this.r.peek(K.index, Index))?.contacts[name]?.unread ?? 0; }

  contact(name: string) { return this.r.get(K.contact(name), Contact); }
  putContact(c: Contact) { return this.r.put(K.contact(c.name), c); }

  async chunk(name: string, n: number): Promise<Chunk> { return (await this.r.get(K.chunk(name, n), Chunk)) ?? { messages: [] }; }
  putChunk(name: string, n: number, ch: Chunk) { return ch.messages.length ? this.r.put(K.chunk(name, n), ch) : this.r.remove(K.chunk(name, n)); }

  async outbox(): Promise<Outgoing[]> { return (await this.r.get(K.outbox, Outbox))?.items ?? []; }
  putOutbox(items: Outgoing[]) { return this.r.put(K.outbox, { items }); }
  async pending(): Promise<PendingBlob[]> { return (await this.r.get(K.pending, Pending))?.items ?? []; }
  putPending(items: PendingBlob[]) { return this.r.put(K.pending, { items }); }

  // ---- message requests (first contacts) and the block list ----

  request(name: string) { return this.r.get(K.request(name), Request); }
  putRequest(q: Request) { return this.r.put(K.request(q.name), q); }
  removeRequest(name: string) { return this.r.remove(K.request(name)); }
  async requestNames(): Promise<string[]> { return [...(await this.r.keys())].filter((k) => k.startsWith('request/')).map((k) => k.slice(8)); }

  /** File a message into a stranger's request (made if new), with the key and mailboxes the directory and the message gave. */
  async addToRequest(q: Omit<Request, 'messages' | 't'>, msg: Message): Promise<void> {
    const r = (await this.request(q.name)) ?? { ...q, t: msg.t, messages: [] };
    Object.assign(r, q, { t: Math.max(r.t, msg.t) });
    r.messages = [...r.messages, msg].slice(-REQUEST_MESSAGES);
    await this.putRequest(r);
  }

  async blocked(): Promise<Record<string, number>> { return (await this.r.get(K.blocked, Blocked))?.names ?? {}; }
  putBlocked(names: Record<string, number>) { return this.r.put(K.blocked, { names }); }
  async isBlocked(name: string): Promise<boolean> { return Object.hasOwn((await this.r.peek(K.blocked, Blocked))?.names ?? {}, name); }

  // ---- messages ----

  /**
   * Add a message to the conversation's newest chunk (a new chunk once it holds CHUNK), and
   * keep the contact's last message and the summary's unread count and next expiry. Writes the
   * chunk, the contact, and the index only when the unread count or next expiry changes.
   */
  async append(c: Contact, msg: Message, o: { unread?: boolean } = {}): Promise<void> {
    const { first, next } = c.chunks;
    let n = next - 1;
    let ch = n >= first ? await this.chunk(c.name, n) : { messages: [] };
    if (n < first || ch.messages.length >= CHUNK) {
      n = next; ch = { messages: [] };
      c.chunks = { first, next: next + 1 };
    }
    ch.messages.push(msg);
    await this.putChunk(c.name, n, ch);
    if (!msg.notice) c.last = { text: msg.text, t: msg.t, dir: msg.dir };
    await this.putContact(c);
    if (o.unread || msg.expires !== undefined) {
      await this.summary(c.name, (s) => {
        if (o.unread) s.unread++;
        if (msg.expires !== undefined) s.nextExpiry = Math.min(s.nextExpiry ?? Infinity, msg.expires);
      });
    }
  }

  /** The newest message (a forged notice may be amended in place). */
  async lastMessage(c: Contact): Promise<{ n: number; ch: Chunk; m?: Message }> {
    const n = c.chunks.next - 1;
    const ch = n >= c.chunks.first ? await this.chunk(c.name, n) : { messages: [] };
    return { n, ch, m: ch.messages.at(-1) };
  }

  /** Change a recent message by id (searching from the newest chunk back); false if it is gone. */
  async updateMessage(c: Contact, id: string, fn: (m: Message) => void, o: { chunks?: number } = {}): Promise<boolean> {
    for (let n = c.chunks.next - 1; n >= Math.max(c.chunks.first, c.chunks.next - (o.chunks ?? Infinity)); n--) {
      const ch = await this.chunk(c.name, n);
      const m = ch.messages.find((x) => x.id === id);
      if (m) { fn(m); await this.putChunk(c.name, n, ch); return true; }
    }
    return false;
  }

  /**
   * The chunks before `before` (default: the newest), newest last, until at least CHUNK
   * messages or two chunks; `older` is what to pass as `before` for the next page.
   */
  async page(c: Contact, before = c.chunks.next): Promise<{ messages: Message[]; older?: number }> {
    const out: Message[][] = [];
    let n = Math.min(before, c.chunks.next) - 1;
    for (let count = 0; n >= c.chunks.first && out.length < 2 && count < CHUNK; n--) {
      // read without a copy (a page is only read); the view copies what it shows
      const ch = (await this.r.peek(K.chunk(c.name, n), Chunk)) ?? { messages: [] };
      out.unshift(ch.messages.map((m) => ({ ...m })));
      count += ch.messages.length;
    }
    return { messages: out.flat(), older: n >= c.chunks.first ? n + 1 : undefined };
  }

  /**
   * Erase the conversation's messages past their expiry (disappearing messages), if the
   * summary says one is due; only then are its chunks read.
   */
  async sweep(c: Contact, now: number): Promise<void> {
    const due = (await this.r.peek(K.index, Index))?.contacts[c.name]?.nextExpiry;
    if (due === undefined || now < due) return;
    let next: number | undefined, first = c.chunks.next, last: Message | undefined;
    for (let n = c.chunks.first; n < c.chunks.next; n++) {
      const ch = await this.chunk(c.name, n);
      const keep = ch.messages.filter((m) => m.expires === undefined || m.expires > now);
      if (keep.length !== ch.messages.length) await this.putChunk(c.name, n, { messages: keep });
      for (const m of keep) if (m.expires !== undefined) next = Math.min(next ?? Infinity, m.expires);
      if (keep.length && first === c.chunks.next) first = n;
      last = keep.findLast((m) => !m.notice) ?? last;
    }
    c.chunks = { ...c.chunks, first };
    c.last = last && { text: last.text, t: last.t, dir: last.dir };
    await this.putContact(c);
    await this.summary(c.name, (s) => {
      s.nextExpiry = next;
      if (!last) s.unread = 0;
    });
  }

  // ---- collectives ----

  collective(name: string) { return this.r.get(K.collective(name), CollectiveRecord); }
  putCollective(c: CollectiveRecord) { return this.r.put(K.collective(collectiveHandle(c)), c); }
  removeCollective(name: string) { return this.r.remove(K.collective(name)); }
  async collectives(): Promise<CollectiveRecord[]> {
    const keys = [...(await this.r.keys())].filter((k) => k.startsWith('collective/') && !k.startsWith('collective/~'));
    return (await Promise.all(keys.map((k) => this.r.get(k, CollectiveRecord)))).filter((c) => c !== undefined);
  }
  async keysIn(): Promise<KeysIn['items']> { return (await this.r.get(K.keysIn, KeysIn))?.items ?? []; }
  putKeysIn(items: KeysIn['items']) { return items.length ? this.r.put(K.keysIn, { items }) : this.r.remove(K.keysIn); }
  /** Keep a group-key hand-over for the collectives feature to check (the receive path does not judge it). */
  async keepKey(from: string, t: number, body: CollectiveKey): Promise<void> {
    const items = await this.keysIn();
    if (items.length < 50) await this.putKeysIn([...items, { from, t, body }]);
  }
  async counts(): Promise<Counts> { return (await this.r.get(K.counts, Counts)) ?? {}; }
  putCounts(c: Counts) { return this.r.put(K.counts, c); }

  // ---- seen message ids (replay protection), one record per day ----

  private async seenDays(): Promise<number[]> {
    return [...(await this.r.keys())].filter((k) => k.startsWith('seen/')).map((k) => Number(k.slice(5)));
  }

  /** A synchronous check for the envelope's replay test. */
  async seenCheck(): Promise<(id: string) => boolean> {
    const days = await Promise.all((await this.seenDays()).map(async (d) => (await this.r.peek(K.seen(d), SeenDay)) ?? {}));
    return (id) => days.some((d) => id in d);
  }

  async addSeen(id: string, t: number): Promise<void> {
    const day = Math.floor(t / DAY);
    const d = (await this.r.get(K.seen(day), SeenDay)) ?? {};
    d[id] = t;
    await this.r.put(K.seen(day), d);
  }

  async pruneSeen(now: number): Promise<void> {
    for (const day of await this.seenDays()) if ((day + 1) * DAY < now - SEEN_MS) await this.r.remove(K.seen(day));
  }
}
