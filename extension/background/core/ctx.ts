/**
 * What every feature shares: the vault and its records (opened, and migrated from v1 once),
 * the clock, the serialisation lock, and the Operator client, every call of which goes through
 * the reachability wrapper `net()` that the status line reports.
 */
import { OperatorClient, OperatorError } from '../../../protocol/client.ts';
import { KeyedLock } from '../../../protocol/lock.ts';
import type { Artifacts } from '../../../protocol/vouch.ts';
import { UserError, type Status } from '../../api.ts';
import type { KV } from '../kv.ts';
import { migrate } from '../migrate.ts';
import type { Records } from '../records.ts';
import { Vault } from '../vault.ts';
import { feedUnread } from './feed-store.ts';
import { joinRequests } from './join-requests.ts';
import { Store } from './store.ts';

/** What the core needs from its surroundings. */
export interface Deps {
  local: KV;
  session: KV;
  now?: () => number;
  /** Called when unread counts or messages change (badge, notifications, popup refresh). */
  onChange?: (e: { unread: number; requests: number; newMessages: number; feedUnread?: number; joinRequests?: number; newJoinRequests?: number }) => void;
  /** How the browser routes Operator requests over Tor (circuits.ts), when known. */
  circuits?: () => Status['circuits'];
  /**
   * The Semaphore depth-16 circuit files for proving (vouches, expel votes): in the add-on, the
   * packaged files read from their browser.runtime.getURL addresses; absent in Node, where
   * node_modules' paths are used.
   */
  artifacts?: () => Artifacts | Promise<Artifacts>;
  /** Waits between spread-out fetches (tests replace it). */
  sleep?: (ms: number) => Promise<void>;
  /** The longest random delay before this add-on rotates a collective's keys once it is due (POSTS.md §9; tests set 0). */
  rotationDelayMs?: number;
  /** Makes the client for the Operator at a base URL (default: an `OperatorClient`; tests pass one that watches its calls). */
  client?: (base: string) => OperatorClient;
  /** How long `send` waits for the deposit before it answers with the message still queued (default 5 s). */
  sendWaitMs?: number;
  /**
   * On the schedule (schedule.ts, the background): `send` only queues (a deposit slot takes it)
   * and a first contact's look-up waits for its own random time (`Komrade.lookups`).
   */
  scheduled?: boolean;
}

export type Reach = { reachable: boolean | null; lastCheck: number | null; error?: string };

export class Ctx {
  readonly vault: Vault;
  readonly now: () => number;
  reach: Reach = { reachable: null, lastCheck: null };
  /** Outgoing envelopes being deposited right now (their messages show as "sending"). */
  readonly sending = new Set<string>();
  /** Messages filed from contacts whose receipts are not queued yet (receipts.ts). */
  delivered: { contact: string; id: string }[] = [];
  /** The onboarding under way, while it can still be cancelled (before the name is sent: account.ts). */
  creating?: AbortController;
  /** The collectives step under way, while it can still be cancelled (cancel-step.ts). */
  stepping?: AbortController;
  private readonly lock = new KeyedLock();
  private readonly opened = new WeakMap<Records, Promise<Store>>();

  constructor(readonly deps: Deps) {
    this.vault = new Vault(deps.local, deps.session);
    this.now = deps.now ?? Date.now;
  }

  /** State changes run one at a time. */
  serial<T>(fn: () => Promise<T>): Promise<T> { return this.lock.run('state', fn); }

  /** The records while unlocked (a v1 vault is migrated the first time); throws when locked. */
  async store(): Promise<Store> {
    const s = await this.storeIfUnlocked();
    if (!s) throw new UserError('Komrade is locked.');
    return s;
  }

  async storeIfUnlocked(): Promise<Store | undefined> {
    const r = await this.vault.records();
    if (!r) return undefined;
    let p = this.opened.get(r);
    if (!p) {
      p = migrate(this.vault).then(() => new Store(r));
      this.opened.set(r, p);
      p.catch(() => this.opened.delete(r));
    }
    return p;
  }

  /**
   * Run an Operator call, recording reachability for the status line: only our own Operator's
   * (`base`, when given, is the Operator called; another komrade's Operator being down says
   * nothing of ours, PROTOCOL.md §11).
   */
  async net<T>(fn: () => Promise<T>, base?: string): Promise<T> {
    try {
      const r = await fn();
      if (await this.isHome(base)) this.reach = { reachable: true, lastCheck: this.now() };
      return r;
    } catch (e) {
      if (!(await this.isHome(base))) throw e;
      if (e instanceof OperatorError && e.status === 0) this.reach = { reachable: false, lastCheck: this.now(), error: e.reason };
      else this.reach = { reachable: true, lastCheck: this.now() };
      throw e;
    }
  }

  /** True unless `base` is known to be another Operator than the account's (before an account exists, every call counts). */
  private async isHome(base: string | undefined): Promise<boolean> {
    if (base === undefined) return true;
    try { const s = await this.storeIfUnlocked(); return !s || (await s.account()).operator === base; } catch { return true; }
  }

  /** A client for the Operator at `base` whose every call goes through `net()`. */
  client(base: string): OperatorClient {
    const c = this.deps.client?.(base) ?? new OperatorClient(base);
    return new Proxy(c, {
      get: (target, p, receiver) => {
        const v: unknown = Reflect.get(target, p, receiver);
        return typeof v === 'function' ? (...a: unknown[]) => this.net(() => (v as (...x: unknown[]) => Promise<unknown>).apply(target, a), base) : v;
      },
    });
  }

  /** Tell the background that unread counts or messages changed; `announce: false`: no join request is new (the person is looking at them). */
  async changed(store: Store, newMessages: number, o: { announce?: boolean } = {}): Promise<void> {
    const join = await joinRequests(store);
    // a join request is new when the count grew since the last change told (not at the first one after unlocking)
    const newJoinRequests = o.announce !== false && this.joinSeen !== undefined && join > this.joinSeen ? join - this.joinSeen : 0;
    this.joinSeen = join;
    this.deps.onChange?.({ unread: await store.unread(), requests: (await store.requestNames()).length, newMessages, feedUnread: await feedUnread(store), joinRequests: join, newJoinRequests });
  }
  /** The join-request count the last change reported (undefined until the first). */
  private joinSeen: number | undefined;
}
