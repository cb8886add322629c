/**
 * When the add-on talks to its Operator (PROTOCOL.md §1, "Timing"): the scheduling decisions
 * as pure code of a clock, a random source and events, so that the background (main.ts, real
 * clock) and the curious-Operator simulation (test/support/schedule-sim.ts, simulated clock)
 * run the same decisions.
 *
 * The schedule hides activity: each mailbox (and the intro) is fetched on its own Poisson
 * schedule, independent of the others and of mail sent or received; sends leave only in
 * deposit slots that come at a constant mean rate (an empty slot carries a dummy into the
 * loop mailbox); each collective is read, and each deferred look-up made, at its own random
 * time. `spreadDelays` is the older poll's spread (all mailboxes within seconds of each other),
 * kept for "Check now" and as the simulation's baseline.
 */

/** A uniform random number in [0, 1). */
export type Random = () => number;

/** A timer's key: `fetch:<mailbox id>`, `slot` (one deposit), `read:<collective>`, `lookup` (one-shot). */
export type TimerKey = `fetch:${string}` | 'slot' | `read:${string}` | 'lookup';

/** Mean gaps (ms) of the independent schedule. */
export interface Rates { fetchMs: number; slotMs: number; readMs: number }

/** The setting's range (seconds between fetches of one mailbox, on average) and its default. */
export const FETCH_SECONDS = { min: 30, max: 3600, default: 600 } as const;

/** The schedule's mean gaps from the setting (the mean seconds between fetches of one mailbox): slots 10 times as often, collective reads as often. */
export function ratesFor(fetchSeconds: number): Rates {
  return { fetchMs: fetchSeconds * 1000, slotMs: (fetchSeconds * 1000) / 10, readMs: fetchSeconds * 1000 };
}

/** An exponential delay of mean `meanMs` (the gap of a Poisson process). */
export function expDelay(meanMs: number, random: Random): number {
  return -meanMs * Math.log(1 - random());
}

/** The pauses between the fetches of one "Check now" or legacy poll: `n` mailboxes spread over about `spreadMs`. */
export function spreadDelays(n: number, spreadMs: number, random: Random): number[] {
  return Array.from({ length: n }, (_, i) => (i && spreadMs ? (random() * 2 * spreadMs) / n : 0));
}

/** Independent timers, one per mailbox, collective and the deposit slot; pure of clock and random source. */
export class Schedule {
  private readonly due = new Map<TimerKey, number>();
  constructor(private rates: Rates, private readonly random: Random) {}

  /** New mean gaps (a changed setting): every timer is drawn again from `now` (memoryless, so nothing is learnt from the change). */
  setRates(rates: Rates, now: number): void {
    this.rates = rates;
    for (const k of this.due.keys()) this.due.set(k, now + this.gap(k));
  }

  /** Keep exactly these repeating timers: new ones start at a random time from `now`, gone ones stop (a pending look-up stays). */
  keep(keys: TimerKey[], now: number): void {
    const want = new Set<TimerKey>(keys);
    for (const k of this.due.keys()) if (!want.has(k) && k !== 'lookup') this.due.delete(k);
    for (const k of want) if (!this.due.has(k)) this.due.set(k, now + this.gap(k));
  }

  /** A look-up (or a batch of them) is wanted: it is made at a random time from now, not at once. */
  wantLookup(now: number): void {
    if (!this.due.has('lookup')) this.due.set('lookup', now + expDelay(this.rates.fetchMs, this.random));
  }

  /** Forget every timer (locked: no mailbox id is kept). */
  clear(): void { this.due.clear(); }

  /** Every timer and its due time (to keep across a suspended background). */
  entries(): [TimerKey, number][] { return [...this.due]; }
  /** Take back timers kept by `entries` (before `keep`, which then adds only what is new). */
  restore(entries: [TimerKey, number][]): void { for (const [k, t] of entries) this.due.set(k, t); }

  /** When the next timer is due (for the alarm), or undefined if none. */
  next(): number | undefined {
    let t: number | undefined;
    for (const v of this.due.values()) if (t === undefined || v < t) t = v;
    return t;
  }

  /** The timers due at `now`, in due order; each repeating one is drawn again from its due time, a look-up is dropped. */
  take(now: number): TimerKey[] {
    const out = [...this.due].filter(([, t]) => t <= now).sort((a, b) => a[1] - b[1]);
    for (const [k, t] of out) {
      if (k === 'lookup') this.due.delete(k);
      else this.due.set(k, this.after(k, t, now));
    }
    return out.map(([k]) => k);
  }

  /** The next due time of a timer that fell due at `t`, past `now` (a late wake, e.g. a suspended background, fires once). */
  private after(k: TimerKey, t: number, now: number): number {
    let next = t + this.gap(k);
    while (next <= now) next += this.gap(k);
    return next;
  }

  private gap(k: TimerKey): number {
    const mean = k === 'slot' ? this.rates.slotMs : k.startsWith('read:') ? this.rates.readMs : this.rates.fetchMs;
    return expDelay(mean, this.random);
  }
}


/** Mean delays (ms) with which a mailbox's held-fetch loop starts after the popup opens and stops after it closes (see `liveWindow`). */
export const LIVE_DELAY_MS = { start: 60_000, stop: 300_000 } as const;

/**
 * A policy for held fetches while the popup is open (live.ts): each mailbox's loop starts at
 * its own random time after the popup opens and stops at its own random time after it closes,
 * so that the loops do not start and stop together. Measured (bench section `schedule`), it
 * does not hide the popup: a held fetch every 25 s per mailbox instead of one every 10 minutes
 * tells the Operator as much as loops that start together (active vs idle and pairing ~99 %).
 * Kept for the simulation's rows of that older design; the add-on now holds a fetch per mailbox
 * all the time (live.ts), which keeps the goals.
 */
export function liveWindow(openAt: number, closeAt: number, random: Random): { start: number; stop: number } {
  return { start: openAt + expDelay(LIVE_DELAY_MS.start, random), stop: closeAt + expDelay(LIVE_DELAY_MS.stop, random) };
}

/**
 * Where an empty slot's dummy goes: the loop mailbox or one of our own pairwise mailboxes, at
 * random (all are ours, and we fetch and discard it). Spread so, the dummies that a real send
 * displaces are missed by no one mailbox alone, and the receipts that come back for real sends
 * land where dummies would have: what each of our mailboxes receives does not follow our activity.
 */
export function dummyTarget(loop: string, pairwise: string[], random: Random): string {
  const i = Math.floor(random() * (pairwise.length + 1));
  return i === pairwise.length ? loop : pairwise[i]!;
}
