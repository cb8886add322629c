/**
 * The add-on's core: accounts, contacts, sending and receiving, as one class that the
 * background script drives and the unit tests run in Node. It talks to the Operator with
 * the shared client, keeps everything in the vault, and exposes only views without keys.
 *
 * Mailboxes: a komrade's intro mailbox (public, in the directory) only ever sees first
 * contacts. Each first message carries `replyTo`, a mailbox the sender made for that one
 * contact; from then on each direction of each conversation uses its own mailbox.
 */
import { b64, unb64, randomBytes } from '../../protocol/bytes.ts';
import { OperatorClient, OperatorError } from '../../protocol/client.ts';
import { seal, open, EnvelopeError } from '../../protocol/envelope.ts';
import { safetyNumber, safetyWords, signRecord, solvePow } from '../../protocol/identity.ts';
import { KeyedLock } from '../../protocol/lock.ts';
import { KeyPair, privateKey } from '../../protocol/themis.ts';
import { MAX_TEXT, TextMessage } from '../../protocol/message.ts';
import { foldName } from '../../protocol/names.ts';
import { Name, type NameRecord, type SignedRecord } from '../../protocol/wire.ts';
import { UserError, type Args, type Method, type Result, type ContactView, type ConversationView, type Handlers, type MeView, type SettingsView, type Status, type ThreadView } from '../api.ts';
import { checkOperatorAddress } from './address.ts';
import { DEFAULT_SETTINGS, State, type Contact, type Message } from './state.ts';
import { Vault, WrongPassphrase, type KV } from './vault.ts';

const DAY = 86_400_000;
/** A new prekey every week; old private halves erased two weeks after retirement (the mail TTL). */
export const PREKEY_ROTATE_MS = 7 * DAY;
export const PREKEY_GRACE_MS = 14 * DAY;
/** How long an envelope waits for the directory to vouch for its sender (the mail TTL) before it is dropped. */
export const PENDING_TTL_MS = 14 * DAY;
/** At most this many envelopes wait for the directory; further ones are dropped (a flood cannot fill the vault). */
export const PENDING_MAX = 200;

/**
 * Requests the popup makes by itself: on opening, and on its refresh every two seconds (status,
 * the open view: inbox, thread or contacts). They are not something the person did, so they do
 * not postpone auto-lock. Every other request is a person's action (a click or a key: send, add,
 * accept, save, …); the popup also sends `touch` on the person's clicks and keys, which covers
 * opening a thread or a tab and pressing "Check now".
 */
export const PASSIVE: ReadonlySet<Method> = new Set<Method>(['status', 'inbox', 'thread', 'contacts', 'settings', 'checkNow']);
/** Whether a request from the popup counts as the person's activity for auto-lock. */
export const isActivity = (m: Method): boolean => !PASSIVE.has(m);

/** What became of a received envelope: filed, dropped, or kept until the directory can be asked. */
type Verdict = 'new' | 'dropped' | 'later';
/** A failure of the Operator that says nothing about the name: try again later. */
const transient = (e: unknown) => e instanceof OperatorError && (e.status === 0 || e.status === 429 || e.status >= 500);

/** What the core needs from its surroundings. */
export interface Deps {
  local: KV;
  session: KV;
  now?: () => number;
  /** Called when unread counts or messages change (badge, notifications, popup refresh). */
  onChange?: (e: { unread: number; newMessages: number }) => void;
  /** How the browser routes Operator requests over Tor (circuits.ts), when known. */
  circuits?: () => Status['circuits'];
  /** Waits between spread-out fetches (tests replace it). */
  sleep?: (ms: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A uniform random number in [0, 1) from the CSPRNG. */
const random = () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
/** A shuffled copy (Fisher–Yates). */
function shuffled<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [a[i], a[j]] = [a[j]!, a[i]!]; }
  return a;
}

const pair = () => { const k = new KeyPair(); return { priv: b64(k.privateKey), pub: b64(k.publicKey) }; };
const keyPairOf = (k: { priv: string; pub: string }) => ({ privateKey: privateKey(unb64(k.priv)), publicKey: unb64(k.pub) });
const lower = foldName;

/** Turn anything thrown into a sentence for a person. */
export function explain(e: unknown): string {
  if (e instanceof UserError || e instanceof WrongPassphrase) return e.message;
  if (e instanceof OperatorError) {
    if (e.status === 0) return 'The Operator cannot be reached right now (is Tor connected?).';
    return `The Operator refused: ${e.reason}.`;
  }
  return `Something went wrong: ${(e as Error)?.message ?? String(e)}`;
}

/** The core. All state changes run one at a time. */
export class Komrade implements Handlers {
  readonly vault: Vault;
  private readonly lock_ = new KeyedLock();
  private readonly now: () => number;
  private reach: { reachable: boolean | null; lastCheck: number | null; error?: string } = { reachable: null, lastCheck: null };

  constructor(private readonly deps: Deps) {
    this.vault = new Vault(deps.local, deps.session);
    this.now = deps.now ?? Date.now;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> { return this.lock_.run('state', fn); }

  private async state(): Promise<State> {
    const raw = await this.vault.load();
    if (raw === undefined) throw new UserError('Komrade is locked.');
    return State.parse(raw);
  }

  private client(s: State) { return new OperatorClient(s.operator); }

  /** Run an Operator call, recording reachability for the status line. */
  private async net<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn();
      this.reach = { reachable: true, lastCheck: this.now() };
      return r;
    } catch (e) {
      if (e instanceof OperatorError && e.status === 0) this.reach = { reachable: false, lastCheck: this.now(), error: e.reason };
      else this.reach = { reachable: true, lastCheck: this.now() };
      throw e;
    }
  }

  // ---- status, account ----

  async status(): Promise<Status> {
    if (!(await this.vault.exists())) return { phase: 'new', unread: 0, queued: 0 };
    const raw = await this.vault.load(); // undefined while locked
    if (raw === undefined) return { phase: 'locked', unread: 0, queued: 0 };
    const s = State.parse(raw);
    return {
      phase: 'unlocked', name: foldName(s.me.name), unread: unreadOf(s), queued: s.outbox.length,
      operator: { address: s.operator, ...this.reach }, circuits: this.deps.circuits?.(),
    };
  }

  async create(a: { operator: string; name: string; passphrase: string; allowLoopback?: boolean }): Promise<Status> {
    return this.serial(async () => {
      if (await this.vault.exists()) throw new UserError('An account already exists on this device.');
      const operator = checkOperatorAddress(a.operator, !!a.allowLoopback);
      // names are case-folded (PROTOCOL.md §5.7): the folded name is the one registered
      a = { ...a, name: foldName(a.name) };
      if (!Name.safeParse(a.name).success) throw new UserError('A name is 3 to 32 letters a–z, digits or _.');
      if (a.passphrase.length < 10) throw new UserError('Use a passphrase of at least 10 characters (several words are best).');
      const client = new OperatorClient(operator);
      const info = await this.net(() => client.info());
      const taken = await client.lookup(a.name).then(() => true, (e) => { if (e instanceof OperatorError && e.status === 404) return false; throw e; });
      if (taken) throw new UserError(`The name @${a.name} is taken.`);
      const identity = pair(), intro = { id: b64(randomBytes(16)), ...pair() }, prekey = { id: b64(randomBytes(8)), ...pair(), created: this.now() };
      await client.createMailbox(intro.id, keyPairOf(intro));
      const record: NameRecord = { v: 1, name: a.name, identityKey: identity.pub, intro: intro.id, prekey: { id: prekey.id, key: prekey.pub }, ts: this.now() };
      const signed = signRecord(keyPairOf(identity).privateKey, record);
      try {
        await client.register(signed, await solvePow(a.name, identity.pub, info.powBits), keyPairOf(intro).privateKey);
      } catch (e) {
        await client.deleteMailbox(intro.id, keyPairOf(intro).privateKey).catch(() => undefined);
        if (e instanceof OperatorError && e.status === 409) throw new UserError(`The name @${a.name} is taken.`);
        throw e;
      }
      const state: State = {
        v: 1, operator, settings: { ...DEFAULT_SETTINGS, allowLoopback: !!a.allowLoopback },
        me: { name: a.name, identity, intro, recordTs: record.ts }, prekeys: [prekey],
        mailboxes: {}, contacts: {}, outbox: [], seen: {}, pendingFirst: [],
      };
      await this.vault.create(a.passphrase, state);
      return this.status();
    });
  }

  async restore(a: { backup: string; passphrase: string }): Promise<Status> {
    return this.serial(async () => {
      if (await this.vault.exists()) throw new UserError('An account already exists on this device.');
      await this.vault.importBackup(a.backup, a.passphrase);
      State.parse(await this.vault.load());
      return this.status();
    });
  }

  async unlock(a: { passphrase: string }): Promise<Status> {
    await this.vault.unlock(a.passphrase);
    return this.status();
  }

  async lock(): Promise<Status> {
    await this.vault.lock();
    return this.status();
  }

  /**
   * Answer one request from the popup (main.ts): a person's action (`isActivity`) first restarts
   * the auto-lock count; the popup's own refreshes do not.
   */
  async request<K extends Method>(type: K, args: Args<K>): Promise<Awaited<Result<K>>> {
    if (isActivity(type)) await this.touch();
    const fn = this[type] as (...a: unknown[]) => Promise<Awaited<Result<K>>>;
    return fn.apply(this, args as unknown[]);
  }

  /** Note that the person did something (see `isActivity`). */
  async touch(): Promise<null> {
    await this.deps.session.set('lastActivity', this.now());
    return null;
  }

  /** Lock if nothing was done for the auto-lock minutes in settings; true if it locked. */
  async lockIfIdle(): Promise<boolean> {
    const raw = await this.vault.load();
    if (raw === undefined) return false;
    const { autoLockMinutes } = State.parse(raw).settings;
    const last = Number((await this.deps.session.get('lastActivity')) ?? 0);
    if (autoLockMinutes === 0 || this.now() - last <= autoLockMinutes * 60_000) return false;
    await this.vault.lock();
    return true;
  }

  async deleteAccount(a: { passphrase: string }): Promise<Status> {
    return this.serial(async () => {
      if (!(await this.vault.checkPassphrase(a.passphrase))) throw new WrongPassphrase();
      const s = await this.state();
      const client = this.client(s);
      await this.net(() => client.deleteName(s.me.name, keyPairOf(s.me.identity).privateKey, { id: s.me.intro.id, key: keyPairOf(s.me.intro).privateKey }));
      for (const [id, box] of Object.entries(s.mailboxes)) await client.deleteMailbox(id, keyPairOf(box).privateKey).catch(() => undefined);
      await this.vault.wipe();
      return this.status();
    });
  }

  async exportBackup(): Promise<string> {
    await this.state(); // only when unlocked
    return this.vault.exportBackup();
  }

  async settings(): Promise<SettingsView> {
    const s = await this.state();
    return { operator: s.operator, ...s.settings };
  }

  async saveSettings(a: SettingsView): Promise<SettingsView> {
    return this.serial(async () => {
      const s = await this.state();
      const operator = checkOperatorAddress(a.operator, a.allowLoopback);
      const settings = State.shape.settings.safeParse({ pollSeconds: a.pollSeconds, notifications: a.notifications, autoLockMinutes: a.autoLockMinutes, allowLoopback: a.allowLoopback });
      if (!settings.success) throw new UserError('Poll every 5–3600 seconds; auto-lock after 0–1440 minutes.');
      await this.vault.save({ ...s, operator, settings: settings.data });
      return { operator, ...settings.data };
    });
  }

  // ---- contacts ----

  private view(c: Contact): ContactView {
    const key = unb64(c.identityKey);
    // "verified" is never shown while a changed key is pending: nobody compared the new words yet
    const v: ContactView = { name: foldName(c.name), safetyWords: safetyWords(key), safetyNumber: safetyNumber(key), verified: c.verified && !c.pendingKey, unread: c.unread };
    if (c.pendingKey) { const k = unb64(c.pendingKey.identityKey); v.keyChanged = { safetyWords: safetyWords(k), safetyNumber: safetyNumber(k) }; }
    return v;
  }

  private me(s: State): MeView {
    const key = unb64(s.me.identity.pub);
    return { name: foldName(s.me.name), safetyWords: safetyWords(key), safetyNumber: safetyNumber(key) };
  }

  private contact(s: State, name: string): Contact {
    const c = s.contacts[lower(name)];
    if (!c) throw new UserError(`@${name} is not among your contacts.`);
    return c;
  }

  /** A new contact for a directory record, with a pairwise mailbox made for them to write to us. */
  private async newContact(s: State, rec: SignedRecord, prekey: Contact['prekey'], sendTo: string): Promise<Contact> {
    const c: Contact = {
      name: foldName(rec.record.name), identityKey: rec.record.identityKey, prekey, sendTo, intro: rec.record.intro,
      inbox: await this.newInbox(s, rec.record.name), verified: false, unread: 0, messages: [],
    };
    s.contacts[lower(c.name)] = c;
    return c;
  }

  /** Make a pairwise mailbox for a contact to write to us. */
  private async newInbox(s: State, contact: string): Promise<string> {
    const id = b64(randomBytes(16)), keys = pair();
    await this.net(() => this.client(s).createMailbox(id, keyPairOf(keys)));
    s.mailboxes[id] = { ...keys, contact: lower(contact) };
    return id;
  }

  async contacts(): Promise<{ me: MeView; contacts: ContactView[] }> {
    const s = await this.state();
    return { me: this.me(s), contacts: Object.values(s.contacts).sort((a, b) => a.name.localeCompare(b.name)).map((c) => this.view(c)) };
  }

  async addContact(a: { name: string }): Promise<ContactView> {
    return this.serial(async () => {
      const name = foldName(a.name);
      if (!Name.safeParse(name).success) throw new UserError('A name is 3 to 32 letters a–z, digits or _.');
      const s = await this.state();
      if (lower(name) === lower(s.me.name)) throw new UserError('That is you.');
      if (s.contacts[lower(name)]) return this.view(s.contacts[lower(name)]!);
      const rec = await this.net(() => this.client(s).lookup(name)).catch((e) => {
        if (e instanceof OperatorError && e.status === 404) throw new UserError(`Nobody is called @${name}.`);
        throw e;
      });
      const c = await this.newContact(s, rec, rec.record.prekey, rec.record.intro);
      await this.vault.save(s);
      return this.view(c);
    });
  }

  async setVerified(a: { name: string; verified: boolean }): Promise<ContactView> {
    return this.serial(async () => {
      const s = await this.state();
      const c = this.contact(s, a.name);
      if (c.pendingKey) throw new UserError('Accept or refuse the new key first.');
      c.verified = a.verified;
      await this.vault.save(s);
      return this.view(c);
    });
  }

  /** Accept a changed key: it becomes the contact's key, unverified. */
  async acceptKey(a: { name: string }): Promise<ContactView> {
    return this.serial(async () => {
      const s = await this.state();
      const c = this.contact(s, a.name);
      if (!c.pendingKey) throw new UserError('No new key to accept.');
      Object.assign(c, { identityKey: c.pendingKey.identityKey, prekey: c.pendingKey.prekey, sendTo: c.pendingKey.sendTo, verified: false });
      delete c.pendingKey;
      await this.vault.save(s);
      return this.view(c);
    });
  }

  /**
   * Refuse a changed key: the stored key stays, with its verified mark, and sending is unblocked
   * (to the stored key, at the mailbox it last gave). If the new key writes again and the
   * directory still vouches for it, the change is pending again: the person decides each time.
   */
  async refuseKey(a: { name: string }): Promise<ContactView> {
    return this.serial(async () => {
      const s = await this.state();
      const c = this.contact(s, a.name);
      if (!c.pendingKey) throw new UserError('No new key to refuse.');
      delete c.pendingKey;
      await this.vault.save(s);
      return this.view(c);
    });
  }

  // ---- threads ----

  async inbox(): Promise<ConversationView[]> {
    const s = await this.state();
    return Object.values(s.contacts)
      .map((c) => { const m = c.messages.findLast((x) => !x.notice); return { name: foldName(c.name), unread: c.unread, keyChanged: !!c.pendingKey, last: m && { text: m.text, t: m.t, dir: m.dir } }; })
      .sort((a, b) => (b.last?.t ?? 0) - (a.last?.t ?? 0));
  }

  /** A thread; reading it marks it read. */
  async thread(a: { name: string }): Promise<ThreadView> {
    return this.serial(async () => {
      const s = await this.state();
      const c = this.contact(s, a.name);
      if (c.unread) { c.unread = 0; await this.vault.save(s); this.deps.onChange?.({ unread: unreadOf(s), newMessages: 0 }); }
      return { contact: this.view(c), messages: c.messages.map((m) => ({ ...m })) };
    });
  }

  async send(a: { name: string; text: string }): Promise<ThreadView> {
    await this.serial(async () => {
      const s = await this.state();
      const c = this.contact(s, a.name);
      if (c.pendingKey) throw new UserError(`@${foldName(c.name)}'s key changed. Compare safety words and accept or refuse the new key before sending.`);
      const text = a.text.trim();
      if (!text) throw new UserError('Nothing to send.');
      if (text.length > MAX_TEXT) throw new UserError(`A message is at most ${MAX_TEXT} characters.`);
      const me = keyPairOf(s.me.identity);
      const current = s.prekeys.at(-1)!;
      const body: TextMessage = { kind: 'msg', from: s.me.name, text, replyTo: c.inbox, prekey: { id: current.id, key: current.pub } };
      const { blob, id } = seal({ senderIdentity: me, recipientIdentityKey: unb64(c.identityKey), prekey: { id: c.prekey.id, key: unb64(c.prekey.key) }, body, now: this.now() });
      c.messages.push({ id, dir: 'out', text, t: this.now(), state: 'queued' });
      s.outbox.push({ contact: lower(c.name), id, to: c.sendTo, blob: b64(blob), tries: 0 });
      await this.vault.save(s);
    });
    await this.flushOutbox().catch(() => undefined);
    return this.thread({ name: a.name });
  }

  async retry(): Promise<Status> {
    await this.flushOutbox().catch(() => undefined);
    return this.status();
  }

  /** Deposit queued envelopes; a message stays queued while the Operator is unreachable. */
  async flushOutbox(): Promise<void> {
    return this.serial(async () => {
      const s = await this.state();
      if (!s.outbox.length) return;
      const client = this.client(s);
      const keep: typeof s.outbox = [];
      for (const item of s.outbox) {
        const msg = s.contacts[item.contact]?.messages.find((m) => m.id === item.id);
        try {
          await this.net(() => client.deposit(item.to, unb64(item.blob), { intro: item.to === s.contacts[item.contact]?.intro }));
          if (msg) msg.state = 'sent';
        } catch (e) {
          item.tries++;
          item.lastError = explain(e);
          const c = s.contacts[item.contact];
          if (e instanceof OperatorError && e.status === 404 && c?.intro && item.to !== c.intro) {
            item.to = c.intro; c.sendTo = c.intro; // their pairwise mailbox expired: fall back to the intro
            keep.push(item);
          } else if (e instanceof OperatorError && (e.status === 0 || e.status === 429 || e.status >= 500)) {
            keep.push(item);
          } else if (msg) {
            msg.state = 'failed';
          }
        }
      }
      s.outbox = keep;
      await this.vault.save(s);
    });
  }

  // ---- receiving ----

  /** Check every mailbox we own, open and store what came, then acknowledge it; flush the outbox; rotate prekeys. */
  async checkNow(): Promise<Status> {
    await this.poll();
    return this.status();
  }

  /**
   * Fetch, store and acknowledge what waits in each of our mailboxes, in random order. With
   * `spreadMs` (background polls) the fetches are spread over about that long by random pauses,
   * so the Operator cannot as easily group one person's mailboxes by when they are fetched
   * (each already has its own Tor circuit). The state lock is free during the pauses.
   */
  async poll(o: { spreadMs?: number } = {}): Promise<{ received: number }> {
    let received = 0;
    await this.flushOutbox().catch(() => undefined);
    const ids = shuffled(await this.serial(async () => { const s = await this.state(); return [s.me.intro.id, ...Object.keys(s.mailboxes)]; }));
    for (const [i, id] of ids.entries()) {
      if (i && o.spreadMs) await (this.deps.sleep ?? sleep)(random() * 2 * o.spreadMs / ids.length);
      received += await this.serial(() => this.fetchMailbox(id));
    }
    await this.serial(async () => {
      const s = await this.state();
      received += await this.retryPending(s);
      await this.maintainPrekeys(s);
      this.pruneSeen(s);
      await this.vault.save(s);
      this.deps.onChange?.({ unread: unreadOf(s), newMessages: received });
    });
    return { received };
  }

  /** Drain one mailbox of ours (it may have gone meanwhile); returns how many new messages. */
  private async fetchMailbox(id: string): Promise<number> {
    const s = await this.state();
    const box = id === s.me.intro.id ? s.me.intro : s.mailboxes[id];
    if (!box) return 0;
    const client = this.client(s);
    const key = privateKey(unb64(box.priv));
    let received = 0;
    for (let round = 0; round < 20; round++) {
      let got;
      try {
        got = await this.net(() => client.fetchBlobs(id, key));
      } catch (e) {
        if (e instanceof OperatorError && e.status === 404) { await this.recreate(s, id, box); break; }
        throw e;
      }
      if (!got.blobs.length) break;
      for (const { blob } of got.blobs) received += (await this.receive(s, blob)) === 'new' ? 1 : 0;
      await this.vault.save(s); // stored before it is acknowledged: nothing is lost if the ack fails
      await client.ack(id, key, got.blobs.map((b) => b.id));
      if (!got.more) break;
    }
    return received;
  }

  /** A mailbox of ours expired (we were away longer than the TTL): make it again. */
  private async recreate(s: State, id: string, box: { priv: string }) {
    const pub = id === s.me.intro.id ? s.me.intro.pub : s.mailboxes[id]!.pub;
    await this.client(s).createMailbox(id, keyPairOf({ priv: box.priv, pub })).catch(() => undefined);
  }

  /**
   * Open one blob and file it. Where the sender's key is not the one we know for the claimed
   * name (a first contact, or a changed key), the directory's current record decides (PROTOCOL.md
   * §8.1): it must carry that very key. If the directory cannot be asked now (network, 429, 5xx),
   * the blob is kept in `pendingFirst` and decided at a later poll (`retry` is that later time).
   */
  private async receive(s: State, blob: Uint8Array, retry?: { id: string }): Promise<Verdict> {
    let opened;
    try {
      opened = open(blob, {
        prekey: (id) => { const p = s.prekeys.find((k) => k.id === id); return p ? privateKey(unb64(p.priv)) : undefined; },
        myIdentityKey: unb64(s.me.identity.pub),
        // a blob waiting for the directory counts as seen (a replay of it is dropped), except when it is the one retried
        seen: (id) => id !== retry?.id && (id in s.seen || s.pendingFirst.some((p) => p.id === id)),
        now: this.now(),
      });
    } catch (e) {
      if (e instanceof EnvelopeError) return 'dropped'; // undecryptable, forged, replayed or stale
      throw e;
    }
    const parsed = TextMessage.safeParse(opened.body);
    if (!parsed.success) { s.seen[opened.id] = opened.t; return 'dropped'; }
    const body = parsed.data;
    const senderKey = b64(opened.from);
    let c = s.contacts[lower(body.from)];
    let rec: SignedRecord | undefined;
    // the stored key, or a changed key the directory already vouched for (still pending), need no lookup
    if (!c || (c.identityKey !== senderKey && c.pendingKey?.identityKey !== senderKey)) {
      let found: SignedRecord | undefined;
      try {
        found = await this.net(() => this.client(s).lookup(body.from));
      } catch (e) {
        if (transient(e)) {
          if (!retry && s.pendingFirst.length < PENDING_MAX) s.pendingFirst.push({ id: opened.id, blob: b64(blob), received: this.now() });
          return 'later';
        }
        if (!(e instanceof OperatorError)) throw e; // 404 or a record that does not verify: nobody vouches
      }
      if (!found || found.record.identityKey !== senderKey) {
        // a key the directory does not carry for that name: a forgery. Dropped; a known contact's
        // thread shows a quiet note (never the forged text), which neither blocks nor counts as unread.
        s.seen[opened.id] = opened.t;
        if (c) {
          const last = c.messages.at(-1);
          if (last?.notice === 'forged') { last.count = (last.count ?? 1) + 1; last.t = this.now(); }
          else c.messages.push({ id: opened.id, dir: 'in', text: '', t: this.now(), state: 'received', notice: 'forged', count: 1 });
        }
        return 'dropped';
      }
      rec = found;
    }
    s.seen[opened.id] = opened.t;
    const msg: Message = { id: opened.id, dir: 'in', text: body.text, t: opened.t, state: 'received' };
    if (c && c.identityKey === senderKey) {
      // The stored key. If a change is pending, this message is still authentic from the key we
      // had: it is filed (marked `oldKey`) and updates where that key wants replies (used if the
      // change is refused), but it never clears or replaces the pending change: only the person's
      // Accept or Refuse does.
      c.prekey = body.prekey;
      c.sendTo = body.replyTo;
      if (c.pendingKey) msg.oldKey = true;
    } else if (c) {
      // a changed key that the directory vouches for: keep it, warn loudly, block sending
      c.pendingKey = { identityKey: senderKey, prekey: body.prekey, sendTo: body.replyTo };
      msg.newKey = true;
    } else {
      c = await this.newContact(s, rec!, body.prekey, body.replyTo);
    }
    c.messages.push(msg);
    c.unread++;
    return 'new';
  }

  /** Decide again the envelopes that waited for the directory; drop those older than the TTL. Returns how many were filed. */
  private async retryPending(s: State): Promise<number> {
    s.pendingFirst = s.pendingFirst.filter((p) => this.now() - p.received < PENDING_TTL_MS);
    let filed = 0;
    for (const p of [...s.pendingFirst]) {
      const v = await this.receive(s, unb64(p.blob), { id: p.id });
      if (v === 'later') break; // the directory is still out of reach: the rest waits too
      s.pendingFirst = s.pendingFirst.filter((x) => x !== p);
      if (v === 'new') filed++;
    }
    return filed;
  }

  /** Rotate the prekey weekly, publish it, and erase retired private halves after the grace period. */
  private async maintainPrekeys(s: State) {
    const now = this.now();
    const current = s.prekeys.at(-1)!;
    if (now - current.created >= PREKEY_ROTATE_MS) {
      const next = { id: b64(randomBytes(8)), ...pair(), created: now };
      const record: NameRecord = { v: 1, name: s.me.name, identityKey: s.me.identity.pub, intro: s.me.intro.id, prekey: { id: next.id, key: next.pub }, ts: Math.max(now, s.me.recordTs + 1) };
      try {
        await this.client(s).replace(signRecord(keyPairOf(s.me.identity).privateKey, record));
        current.retired = now;
        s.prekeys.push(next);
        s.me.recordTs = record.ts;
      } catch { /* try again at the next poll */ }
    }
    s.prekeys = s.prekeys.filter((p) => p.retired === undefined || now - p.retired < PREKEY_GRACE_MS);
  }

  private pruneSeen(s: State) {
    const cutoff = this.now() - 31 * DAY;
    for (const [id, t] of Object.entries(s.seen)) if (t < cutoff) delete s.seen[id];
  }
}

function unreadOf(s: State): number {
  return Object.values(s.contacts).reduce((n, c) => n + c.unread, 0);
}
