/**
 * Held reads, all the time (PROTOCOL.md §1 "Timing", §5.4; COLLECTIVES.md §10): while the
 * vault is unlocked, each mailbox of ours (the intro, each pairwise one, the loop mailbox) keeps
 * one held fetch open, and each collective we belong to or asked to join one held log read,
 * popup open or not. Each rides the circuit of what it touches (circuits.ts), as every request.
 * When one returns (something arrived, or its wait ran out), the next starts after a short gap
 * drawn on its own; after a start or an unlock, the first of each starts at its own random time
 * (a browser start does not open every hold in the same second); a mailbox made later (a new
 * contact, whose making the Operator sees anyway) is held after a gap. What came is filed
 * by that mailbox's or that collective's own read (no poll of everything: that would pair our
 * mailboxes), and the popup, if open, is told. The popup opening or closing changes nothing on
 * the wire. Errors, and answers that come back empty at once (an Operator at its cap of holds),
 * back off (1 s doubling to a minute). The setting `live` ("Keep a connection open per
 * mailbox", on unless turned off) turns this off; the Poisson fetches (timers.ts) then run.
 */
import { collectiveHandle } from './collective-state.ts';
import { unb64 } from '../../protocol/bytes.ts';
import { OperatorError } from '../../protocol/client.ts';
import { foldName } from '../../protocol/names.ts';
import { privateKey } from '../../protocol/themis.ts';
import { LIMITS } from '../../protocol/wire.ts';
import type { Komrade } from './komrade.ts';
import { requestTargets } from './requests-live.ts';
import { expDelay, type Random } from './schedule.ts';

/** One thing to hold a read on: a mailbox of ours, or a collective's log; `file` takes in what came. */
type Target = { key: string; hold(signal: AbortSignal): Promise<boolean>; file(): Promise<void> };
/** A held fetch's answer. */
type Fetched = Awaited<ReturnType<ReturnType<Komrade['ctx']['client']>['fetchBlobs']>>;

/** What Live needs besides the add-on core. */
export interface LiveOptions {
  /** Called after an arrival was filed (an open popup refreshes). */
  onArrival?: () => void;
  /** Called when envelopes wait for a directory look-up (the timers make it at a random time). */
  onLookup?: () => void;
  /** Seconds each held read may wait (default LIMITS.holdSeconds). */
  wait?: number;
  /** How often the list of mailboxes and collectives is looked at again (ms; also on `rescan`). */
  rescanMs?: number;
  /** After a start or an unlock, each hold loop starts at a uniform random time within this (ms); one that appears later, after a gap. */
  startMs?: number;
  /** The mean of the random gap (exponential, ms) between one hold's end and the next. */
  gapMs?: number;
  /** The random source (tests and the simulation inject one). */
  random?: Random;
}

/** The default spread of first holds, and mean gap between holds (ms). */
export const HOLD_START_MS = 60_000, HOLD_GAP_MS = 2_000;

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

/** The held reads of one add-on: started once with the background, they run whenever the vault is unlocked and the setting is on. */
export class Live {
  private session?: AbortController;
  private readonly loops = new Map<string, AbortController>();
  private wake?: () => void;
  /** Arrivals filed since the start (for tests and the bench). */
  arrivals = 0;

  constructor(private readonly komrade: Komrade, private readonly o: LiveOptions = {}) {}

  /** How many hold loops are running now (each holds, or waits its gap or start). */
  get running(): number { return this.loops.size; }

  /** Start keeping holds (once, when the background starts; again is a no-op). */
  start(): void {
    if (this.session) return;
    this.session = new AbortController();
    void this.supervise(this.session.signal);
  }

  /** End every held read at once (the background going away, or a test's end). */
  stop(): void {
    this.session?.abort();
    this.session = undefined;
    for (const c of this.loops.values()) c.abort();
    this.loops.clear();
  }

  /** Look at our mailboxes, collectives and the setting again now (after unlocking, adding a contact, …). */
  rescan(): void { this.wake?.(); }

  /** Keep one loop per target while the session lasts. */
  private async supervise(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const targets = await this.targets().catch(() => []);
      const keys = new Set(targets.map((t) => t.key));
      for (const [k, c] of this.loops) if (!keys.has(k)) { c.abort(); this.loops.delete(k); }
      // none running (the add-on starting, or unlocked): spread the first holds; a mailbox made later (a new contact) starts after a gap
      const random = this.o.random ?? Math.random, spread = this.loops.size === 0;
      for (const t of targets) {
        if (this.loops.has(t.key) || signal.aborted) continue;
        const c = new AbortController();
        this.loops.set(t.key, c);
        void this.loop(t, c.signal, spread ? random() * (this.o.startMs ?? HOLD_START_MS) : expDelay(this.o.gapMs ?? HOLD_GAP_MS, random));
      }
      await sleep(this.o.rescanMs ?? 10_000, signal, (wake) => { this.wake = wake; });
    }
  }

  /** One held read after the other, a random gap between; an arrival is filed (and waited for) before the next. */
  private async loop(t: Target, signal: AbortSignal, startMs: number): Promise<void> {
    const random = this.o.random ?? Math.random;
    await sleep(startMs, signal);
    let backoff = BACKOFF_MS;
    while (!signal.aborted) {
      const asked = Date.now();
      try {
        const got = await t.hold(signal);
        if (signal.aborted) break;
        if (got) {
          backoff = BACKOFF_MS;
          await t.file().catch(() => undefined);
          this.arrivals++;
          this.o.onArrival?.();
        }
        if (got || Date.now() - asked >= HELD_AT_LEAST_MS) {
          backoff = BACKOFF_MS;
          await sleep(expDelay(this.o.gapMs ?? HOLD_GAP_MS, random), signal);
          continue;
        }
      } catch { if (signal.aborted) break; }
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }

  /** Our mailboxes and collectives now (none while locked, or with the setting off). */
  private async targets(): Promise<Target[]> {
    const k = this.komrade, ctx = k.ctx;
    if ((await k.status()).phase !== 'unlocked') return [];
    const store = await ctx.store();
    const s = await store.account();
    if (s.settings.live === false) return []; // "Keep a connection open per mailbox" is off: the Poisson fetches run instead
    const client = ctx.client(s.operator), wait = this.o.wait ?? LIMITS.holdSeconds;
    const boxes = [s.me.intro, ...Object.entries(s.mailboxes).map(([id, b]) => ({ ...b, id })), ...(s.loop ? [s.loop] : [])];
    const out: Target[] = boxes.map((box) => {
      let got: Fetched | undefined;
      return {
        key: `mailbox:${box.id}`,
        hold: async (signal) => {
          try {
            got = await client.fetchBlobs(box.id, privateKey(unb64(box.priv)), { wait, signal });
            return got.blobs.length > 0;
          } catch (e) {
            if (e instanceof OperatorError && e.status === 404) await k.fetchOne(box.id); // expired: the fetch makes it again
            throw e;
          }
        },
        // the held answer's blobs are stored, then acknowledged (and any more fetched); first contacts wait for a look-up
        file: async () => {
          if (await k.fetchOne(box.id, got)) this.o.onLookup?.();
          // a group key handed over (COLLECTIVES.md §8) is taken by its collective's read, now (the hand-over already tells the Operator as much)
          const names = new Set((await store.keysIn()).map((i) => foldName(i.body.collective)));
          for (const rec of await store.collectives()) if (names.has(foldName(rec.name))) await k.readCollective(collectiveHandle(rec));
        },
      };
    });
    for (const rec of await store.collectives()) {
      const c = foldName(rec.name), at = rec.operator ? ctx.client(rec.operator) : client; // the collective's Operator (COLLECTIVES.md §15)
      let from: number | undefined;
      out.push({
        key: `log:${collectiveHandle(rec)}`,
        hold: async (signal) => {
          if (from === undefined) {
            // from the log's end; entries since our last replay (`rec.seq`, never sent: it would tell when we last read) are an arrival now
            const end = (await at.getCollective(c)).seq;
            from = end + 1;
            if (rec.seq !== undefined && end > rec.seq) return true;
          }
          const r = await at.waitLog(c, from, wait, signal);
          from += r.entries.length;
          return r.entries.length > 0;
        },
        file: () => k.readCollective(collectiveHandle(rec)),
      });
    }
    return [...out, ...(await requestTargets(ctx, client, wait, (h) => k.readCollective(h)))]; // join requests arriving live (requests-live.ts)
  }
}
