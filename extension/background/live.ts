/**
 * Live arrivals while the popup is open (PROTOCOL.md §5.4, COLLECTIVES.md §10): one held fetch
 * open per mailbox of ours (the intro and each pairwise one) and one held log read per
 * collective we belong to or asked to join, each asked again as soon as it returns. Each rides
 * the circuit of what it touches (circuits.ts derives it from the route), as every request.
 * When one returns with something, a poll (as "Check now") files it and the popup is told.
 * Errors, and answers that come back empty at once (an Operator at its cap of holds), back off
 * (1 s doubling to a minute), so an Operator that is down sees no hot loop. Closed popup: nothing
 * here runs; the scheduled poll (main.ts) goes on as before. Held reads that start when the
 * popup opens tell a watching Operator when it is open (PROTOCOL.md §1): the setting `live`
 * (on unless turned off) says so, and off, nothing is held.
 */
import { collectiveHandle } from './collective-state.ts';
import { unb64 } from '../../protocol/bytes.ts';
import { foldName } from '../../protocol/names.ts';
import { privateKey } from '../../protocol/themis.ts';
import { LIMITS } from '../../protocol/wire.ts';
import type { Komrade } from './komrade.ts';
import { requestTargets } from './requests-live.ts';

/** One thing to hold a read on: a mailbox of ours, or a collective's log. */
type Target = { key: string; hold(signal: AbortSignal): Promise<boolean> };

/** What Live needs besides the add-on core. */
export interface LiveOptions {
  /** Called after an arrival was filed (the popup refreshes). */
  onArrival?: () => void;
  /** Seconds each held read may wait (default the protocol's most, 25). */
  wait?: number;
  /** How often the list of mailboxes and collectives is looked at again (ms; also after every arrival). */
  rescanMs?: number;
}

/** Wait `ms`, or less if `signal` aborts or the function given to `wakeWith` is called (the listener is removed either way: no leak over a long session). */
const sleep = (ms: number, signal: AbortSignal, wakeWith?: (wake: () => void) => void) => new Promise<void>((r) => {
  const done = () => { clearTimeout(t); signal.removeEventListener('abort', done); r(); };
  wakeWith?.(done);
  const t = setTimeout(done, ms);
  signal.addEventListener('abort', done, { once: true });
});
/** The first wait after a failure, and the longest. */
const BACKOFF_MS = 1_000, BACKOFF_MAX_MS = 60_000;
/** An empty answer sooner than this was not held (the Operator's cap): it counts as a failure. */
const HELD_AT_LEAST_MS = 1_000;

/** The held reads of one add-on, open while at least one popup is. */
export class Live {
  private opened = 0;
  private session?: AbortController;
  private readonly loops = new Map<string, AbortController>();
  private polling?: Promise<void>;
  private again = false;
  private wake?: () => void;
  /** Arrivals filed since the start (for tests and the bench). */
  arrivals = 0;

  constructor(private readonly komrade: Komrade, private readonly o: LiveOptions = {}) {}

  /** How many held reads are running now. */
  get running(): number { return this.loops.size; }

  /** A popup opened: hold reads (if none are held yet). */
  start(): void {
    if (this.opened++ > 0) return;
    this.session = new AbortController();
    void this.supervise(this.session.signal);
  }

  /** A popup closed: when none is open, end every held read at once. */
  stop(): void {
    if (this.opened === 0 || --this.opened > 0) return;
    this.session?.abort();
    for (const c of this.loops.values()) c.abort();
    this.loops.clear();
  }

  /** Look at our mailboxes and collectives again now (after unlocking, adding a contact, …). */
  rescan(): void { this.wake?.(); }

  /** Keep one loop per target while the session lasts. */
  private async supervise(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const targets = await this.targets().catch(() => []);
      const keys = new Set(targets.map((t) => t.key));
      for (const [k, c] of this.loops) if (!keys.has(k)) { c.abort(); this.loops.delete(k); }
      for (const t of targets) {
        if (this.loops.has(t.key) || signal.aborted) continue;
        const c = new AbortController();
        this.loops.set(t.key, c);
        void this.loop(t, c.signal);
      }
      await sleep(this.o.rescanMs ?? 10_000, signal, (wake) => { this.wake = wake; });
    }
  }

  /** One held read after the other; an arrival is filed (and waited for) before the next. */
  private async loop(t: Target, signal: AbortSignal): Promise<void> {
    let backoff = BACKOFF_MS;
    while (!signal.aborted) {
      const asked = Date.now();
      try {
        const got = await t.hold(signal);
        if (signal.aborted) break;
        if (got) { backoff = BACKOFF_MS; await this.arrived(); continue; }
        if (Date.now() - asked >= HELD_AT_LEAST_MS) { backoff = BACKOFF_MS; continue; }
      } catch { if (signal.aborted) break; }
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }

  /** Something arrived: one poll files it (arrivals meanwhile are covered by one more poll). */
  private arrived(): Promise<void> {
    if (this.polling) { this.again = true; return this.polling; }
    this.polling = (async () => {
      do {
        this.again = false;
        await this.komrade.poll().catch(() => undefined);
        this.arrivals++;
        this.o.onArrival?.();
        this.wake?.();
      } while (this.again && this.opened > 0);
    })().finally(() => { this.polling = undefined; });
    return this.polling;
  }

  /** Our mailboxes and collectives now (none while locked). */
  private async targets(): Promise<Target[]> {
    const ctx = this.komrade.ctx;
    if ((await this.komrade.status()).phase !== 'unlocked') return [];
    const store = await ctx.store();
    const s = await store.account();
    if (s.settings.live === false) return []; // the setting "Arrivals in seconds while Komrade is open" is off
    const client = ctx.client(s.operator), wait = this.o.wait ?? LIMITS.maxWaitSeconds;
    const boxes = [s.me.intro, ...Object.entries(s.mailboxes).map(([id, b]) => ({ ...b, id }))];
    const out: Target[] = boxes.map((box) => ({
      key: `mailbox:${box.id}`,
      hold: async (signal) => (await client.fetchBlobs(box.id, privateKey(unb64(box.priv)), { wait, signal })).blobs.length > 0,
    }));
    for (const rec of await store.collectives()) {
      const c = foldName(rec.name), at = rec.operator ? ctx.client(rec.operator) : client; // the collective's Operator (COLLECTIVES.md §15)
      let from: number | undefined;
      out.push({
        key: `log:${collectiveHandle(rec)}`,
        hold: async (signal) => {
          from ??= (await at.getCollective(c)).seq + 1;
          const r = await at.waitLog(c, from, wait, signal);
          from += r.entries.length;
          return r.entries.length > 0;
        },
      });
    }
    return [...out, ...(await requestTargets(ctx, client, wait))]; // join requests arriving live (requests-live.ts)
  }
}
