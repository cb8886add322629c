/**
 * The add-on's core, as a thin facade over one module per feature (core/): the background
 * script drives it and the unit tests run it in Node. Features never import one another; what
 * needs two of them (send: queue, deposit, show the thread; poll: deposit, fetch, tidy) is
 * composed here. State changes run one at a time (`ctx.serial`).
 */
import { API, type Args, type CollectiveSummary, type CollectiveView, type ContactView, type ConversationView, type FeedView, type Handlers, type MeView, type Method, type MoveView, type PostView, type RequestView, type Result, type SettingsView, type Status, type ThreadView, type VouchCountsView } from '../api.ts';
import * as account from './core/account.ts';
import { cancelStep, stepped } from './core/cancel-step.ts';
import * as collectiveKeys from './core/collective-keys.ts';
import * as collectives from './core/collectives.ts';
import type { Replayed } from './core/collective-log.ts';
import * as contacts from './core/contacts.ts';
import { Ctx, type Deps } from './core/ctx.ts';
import * as epochs from './core/epochs.ts';
import * as outbox from './core/outbox.ts';
import * as posts from './core/posts.ts';
import { maintainPrekeys } from './core/prekeys.ts';
import * as receive from './core/receive.ts';
import { makeOnlyCopy } from './core/relocate.ts';
import { advanceMove, moveHome, moveView } from './core/move-home.ts';
import * as requests from './core/requests.ts';
import * as threads from './core/threads.ts';
import { depositDummy } from './core/cover.ts';
import { spreadDelays } from './schedule.ts';
import * as transparency from './core/transparency.ts';
import type { Vault } from './vault.ts';

export { explain } from './core/common.ts';
export { PREKEY_ROTATE_MS, PREKEY_GRACE_MS } from './core/prekeys.ts';
export { PENDING_TTL_MS, PENDING_MAX } from './core/receive.ts';
export type { Deps } from './core/ctx.ts';

/**
 * Requests the popup makes by itself (API[…].passive): on opening, and on its refresh every two
 * seconds. They are not something the person did, so they do not postpone auto-lock. Every
 * other request is a person's action; the popup also sends `touch` on the person's clicks and
 * keys, which covers opening a thread or a tab and pressing "Check now".
 */
export const PASSIVE: ReadonlySet<Method> = new Set((Object.keys(API) as Method[]).filter((m) => API[m].passive));
/** Whether a request from the popup counts as the person's activity for auto-lock. */
export const isActivity = (m: Method): boolean => !PASSIVE.has(m);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A uniform random number in [0, 1) from the CSPRNG. */
const random = () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
/** A shuffled copy (Fisher–Yates). */
function shuffled<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [a[i], a[j]] = [a[j]!, a[i]!]; }
  return a;
}

export class Komrade implements Handlers {
  readonly ctx: Ctx;
  constructor(deps: Deps) { this.ctx = new Ctx(deps); }
  get vault(): Vault { return this.ctx.vault; }

  private serial<T>(fn: () => Promise<T>): Promise<T> { return this.ctx.serial(fn); }
  /** A state change, then the status (not named `then`: that would make every instance a thenable). */
  private change<T>(fn: () => Promise<T>): Promise<Status> { return this.serial(fn).then(() => this.status()); }

  /** Answer one request from the popup (main.ts): a person's action (`isActivity`) restarts the auto-lock count first. */
  async request<K extends Method>(type: K, args: Args<K>): Promise<Awaited<Result<K>>> {
    if (isActivity(type)) await this.touch();
    const fn = this[type] as (...a: unknown[]) => Promise<Awaited<Result<K>>>;
    return fn.apply(this, args as unknown[]);
  }

  // ---- account ----
  status(): Promise<Status> { return account.status(this.ctx); }
  create(a: Args<'create'>[0]): Promise<Status> { return this.change(() => account.create(this.ctx, a)); }
  /** Not serial: it must reach a `create` that holds the state lock. */
  async cancelCreate(): Promise<boolean> { return account.cancelCreate(this.ctx); }
  myInvite(): Promise<string> { return account.myInvite(this.ctx); }
  addInviter(a: Args<'addInviter'>[0]): Promise<ContactView> { return this.serial(() => contacts.addInviter(this.ctx, a)); }
  restore(a: Args<'restore'>[0]): Promise<Status> { return this.change(() => account.restore(this.ctx, a)); }
  /** New mailboxes and prekey for this copy (core/relocate.ts), then the control messages go out. */
  async makeOnlyCopy(): Promise<Status> { await this.serial(() => makeOnlyCopy(this.ctx)); return this.retry(); }
  /** Move home (core/move-home.ts), as far as it goes now; then the `moved` bodies go out. `moveStatus`: the move as it stands. */
  async moveHome(a: Args<'moveHome'>[0]): Promise<MoveView> { const v = await this.serial(() => moveHome(this.ctx, a)); await this.flushIfIdle(); return v; }
  async moveStatus(): Promise<MoveView> { return moveView(await (await this.ctx.store()).account()); }
  async unlock(a: { passphrase: string }): Promise<Status> { await this.vault.unlock(a.passphrase); return this.status(); }
  async lock(): Promise<Status> { await this.vault.lock(); return this.status(); }
  deleteAccount(a: { passphrase: string }): Promise<Status> { return this.change(() => account.deleteAccount(this.ctx, a)); }
  exportBackup(): Promise<string> { return account.exportBackup(this.ctx); }
  settings(): Promise<SettingsView> { return account.settings(this.ctx); }
  saveSettings(a: SettingsView): Promise<SettingsView> { return this.serial(() => account.saveSettings(this.ctx, a)); }
  /** Note that the person did something (see `isActivity`). */
  async touch(): Promise<null> { await this.ctx.deps.session.set('lastActivity', this.ctx.now()); return null; }
  /** Lock if nothing was done for the auto-lock minutes in settings; true if it locked. */
  lockIfIdle(): Promise<boolean> { return account.lockIfIdle(this.ctx); }

  // ---- contacts ----
  async contacts(): Promise<{ me: MeView; contacts: ContactView[] }> {
    const r = await contacts.contacts(this.ctx);
    return { me: (await collectives.withCounts(this.ctx, [r.me]))[0]!, contacts: await collectives.withCounts(this.ctx, r.contacts) };
  }
  async addContact(a: { name: string }): Promise<ContactView> {
    const v = await this.serial(() => contacts.addContact(this.ctx, a));
    if (!v.operator) await this.serial(() => collectives.vouchCounts(this.ctx, { name: v.name })).catch(() => undefined); // counts across Operators: not yet (PROTOCOL.md §11)
    return (await collectives.withCounts(this.ctx, [v]))[0]!;
  }
  setVerified(a: { name: string; verified: boolean }): Promise<ContactView> { return this.serial(() => contacts.setVerified(this.ctx, a)); }
  acceptKey(a: { name: string }): Promise<ContactView> { return this.serial(() => contacts.acceptKey(this.ctx, a)); }
  refuseKey(a: { name: string }): Promise<ContactView> { return this.serial(() => contacts.refuseKey(this.ctx, a)); }

  // ---- collectives ----
  collectives(): Promise<CollectiveSummary[]> { return collectives.collectives(this.ctx); }
  /** Looked up afresh, a collective's counts change what the badge says (a looked-at request is not announced). */
  findCollective(a: { name: string }): Promise<CollectiveView> {
    return this.serial(async () => { const v = await collectives.findCollective(this.ctx, a); await this.ctx.changed(await this.ctx.store(), 0, { announce: false }); return v; });
  }
  /** Found a collective, then open its epoch 1 at the Operator (a proof, 2–4 s, without the state lock; the next poll retries if it fails). */
  async createCollective(a: { name: string; description: string; rule: string }): Promise<CollectiveView> {
    const v = await stepped(this.ctx, (step) => collectives.createCollective(this.ctx, a, step));
    await epochs.openNow(this.ctx, v.name).catch(() => undefined);
    return this.serial(() => collectives.findCollective(this.ctx, { name: v.name }));
  }
  /** Not serial: it must reach a founding, request or proof that holds (or waits for) the state lock (cancel-step.ts). */
  async cancelStep(): Promise<boolean> { return cancelStep(this.ctx); }
  askToJoin(a: { name: string }): Promise<CollectiveView> { return stepped(this.ctx, (step) => collectives.askToJoin(this.ctx, a, step)); }
  /** Proves for 2–4 s (the state lock is held meanwhile, so the same vouch cannot be sent twice). */
  vouch(a: { collective: string; name: string }): Promise<{ vouches: number; needed: number; admitted: boolean }> { return stepped(this.ctx, (step) => collectives.vouch(this.ctx, a, step)); }
  expelVote(a: { collective: string; name: string }): Promise<{ votes: number; needed: number; expelled: boolean }> { return stepped(this.ctx, (step) => collectives.expelVote(this.ctx, a, step)); }
  leaveCollective(a: { name: string }): Promise<CollectiveSummary[]> {
    return this.serial(async () => { const r = await collectives.leaveCollective(this.ctx, a); await posts.forget(this.ctx, a.name.trim().replace(/^@/, '')); return r; });
  }
  vouchCounts(a: { name: string }): Promise<VouchCountsView> { return this.serial(() => collectives.vouchCounts(this.ctx, a)); }
  // ---- posts and the feed (core/posts.ts, core/epochs.ts) ----
  async feed(a: Args<'feed'>[0]): Promise<FeedView> { return { ...(await posts.feed(this.ctx, a)), rotating: await epochs.rotating(this.ctx) }; }
  post(a: Args<'post'>[0]): Promise<PostView> { return this.serial(() => posts.post(this.ctx, a)); }
  async deletePost(a: Args<'deletePost'>[0]): Promise<FeedView> { await this.serial(() => posts.deletePost(this.ctx, a)); return this.feed({}); }
  markFeedRead(a: Args<'markFeedRead'>[0]): Promise<null> { return this.serial(() => posts.markFeedRead(this.ctx, a)); }
  // ---- message requests, the block list ----
  requests(): Promise<RequestView[]> { return requests.requests(this.ctx); }
  acceptRequest(a: { name: string }): Promise<ContactView> { return this.serial(() => requests.acceptRequest(this.ctx, a)); }
  deleteRequest(a: { name: string }): Promise<RequestView[]> { return this.serial(() => requests.deleteRequest(this.ctx, a)); }
  block(a: { name: string }): Promise<string[]> { return this.serial(() => requests.block(this.ctx, a)); }
  unblock(a: { name: string }): Promise<string[]> { return this.serial(() => requests.unblock(this.ctx, a)); }
  blocked(): Promise<string[]> { return requests.blocked(this.ctx); }

  // ---- threads ----
  inbox(): Promise<ConversationView[]> { return threads.inbox(this.ctx); }
  /** A thread; reading it marks it read and erases what expired. */
  thread(a: { name: string; before?: number }): Promise<ThreadView> { return this.serial(() => threads.thread(this.ctx, a)); }
  setDisappearing(a: { name: string; seconds: number }): Promise<ThreadView> { return this.serial(() => threads.setDisappearing(this.ctx, a)); }

  // ---- sending ----
  /** Queue the message, then wait for its deposit at most `sendWaitMs`: a hanging Operator leaves it queued (then sending), and it goes out when it answers. */
  async send(a: { name: string; text: string }): Promise<ThreadView> {
    await this.serial(() => outbox.queue(this.ctx, a));
    if (this.ctx.deps.scheduled) return this.thread({ name: a.name }); // a deposit slot takes it, or "Send now" (retry)
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<void>((r) => { timer = setTimeout(r, this.ctx.deps.sendWaitMs ?? 5000); });
    await Promise.race([this.flushOutbox().catch(() => undefined), waited]);
    clearTimeout(timer);
    return this.thread({ name: a.name });
  }
  async retry(): Promise<Status> { await this.flushOutbox().catch(() => undefined); return this.status(); }
  /** Deposit queued envelopes (core/outbox.ts), one flush at a time: a call while one runs makes it go round once more (for what was queued meanwhile) and resolves when it ends. */
  flushOutbox(): Promise<void> {
    this.flushAgain = true;
    return this.flushing ??= (async () => {
      try { while (this.flushAgain) { this.flushAgain = false; await outbox.flush(this.ctx); } } finally { this.flushing = undefined; }
    })();
  }
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  /** Start a flush; wait for it only if none was already running (one stuck on a hanging Operator is not waited for). */
  private flushIfIdle(): Promise<void> {
    const running = !!this.flushing;
    const f = this.flushOutbox().catch(() => undefined);
    return running ? Promise.resolve() : f;
  }

  // ---- receiving ----
  /** Check every mailbox we own, open and store what came, then acknowledge it; flush the outbox; rotate prekeys. */
  async checkNow(): Promise<Status> { await this.poll(); return this.status(); }

  /**
   * Fetch, store and acknowledge what waits in each of our mailboxes, in random order. With
   * `spreadMs` (background polls) the fetches are spread over about that long by random pauses,
   * so the Operator cannot as easily group one person's mailboxes by when they are fetched
   * (each already has its own Tor circuit). The state lock is free during the pauses.
   */
  async poll(o: { spreadMs?: number } = {}): Promise<{ received: number }> {
    let received = 0;
    await this.flushIfIdle();
    const ids = shuffled(await this.serial(() => receive.mailboxIds(this.ctx)));
    const pauses = spreadDelays(ids.length, o.spreadMs ?? 0, random);
    for (const [i, id] of ids.entries()) {
      if (pauses[i]) await (this.ctx.deps.sleep ?? sleep)(pauses[i]!);
      received += await this.serial(() => receive.fetchMailbox(this.ctx, id));
    }
    let logs = new Map<string, Replayed>();
    await this.serial(async () => {
      received += await receive.retryPending(this.ctx);
      logs = await collectiveKeys.sync(this.ctx).catch(() => logs);
      // the key-transparency monitor (PROTOCOL.md §5.11.5): an alarm is kept and shown, never thrown out of the poll
      await transparency.monitorPoll(this.ctx).catch(() => 0);
      await maintainPrekeys(this.ctx);
      await receive.tidy(this.ctx);
      await advanceMove(this.ctx).catch(() => undefined); // a move of home under way resumes (PROTOCOL.md §11.5)
    });
    await this.feedSync(logs);
    await this.serial(async () => this.ctx.changed(await this.ctx.store(), received));
    await this.flushIfIdle(); // the delivery receipts just queued
    return { received };
  }
  /** Key epochs and the feed (seconds of proofs: the lock only for short writes), one at a time: two would open one epoch's cursor twice, and the 409 reads as a lost cursor. */
  private feedSync(logs: Map<string, Replayed>): Promise<number> {
    const run = this.feeding.then(async () => { await epochs.sync(this.ctx, logs).catch(() => undefined); return posts.sync(this.ctx, logs).catch(() => 0); });
    this.feeding = run.then(() => undefined);
    return run;
  }
  private feeding: Promise<void> = Promise.resolve();

  // ---- on the schedule (schedule.ts; the background's timers, timers.ts) ----
  /** One mailbox's scheduled fetch (or a held fetch's answer, `first`, taken in); true if envelopes wait for a look-up (`lookups`). */
  async fetchOne(id: string, first?: receive.Fetched): Promise<boolean> {
    const received = await this.serial(() => receive.fetchMailbox(this.ctx, id, first));
    return this.serial(async () => {
      await maintainPrekeys(this.ctx);
      await receive.tidy(this.ctx);
      const store = await this.ctx.store();
      await this.ctx.changed(store, received);
      return (await store.pending()).length > 0;
    });
  }
  /** One deposit slot: the first queued envelope if no flush is running, else a dummy (core/cover.ts). */
  async slot(random: () => number): Promise<void> {
    const queued = (await this.status()).queued > 0;
    if (!queued || this.flushing) return depositDummy(this.ctx, random);
    this.flushing = outbox.flush(this.ctx, { max: 1 }).finally(() => { this.flushing = undefined; });
    await this.flushing;
  }
  /** One collective's scheduled read: its log and keys, its key epoch, its posts. */
  async readCollective(name: string): Promise<void> {
    const logs = await this.serial(() => collectiveKeys.sync(this.ctx, name));
    const got = await this.feedSync(logs);
    await this.serial(async () => this.ctx.changed(await this.ctx.store(), got));
  }
  /** The deferred look-ups: envelopes from unknown senders are decided now. */
  async lookups(): Promise<void> {
    const filed = await this.serial(() => receive.retryPending(this.ctx));
    await this.serial(async () => this.ctx.changed(await this.ctx.store(), filed));
  }
}
