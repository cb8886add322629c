/**
 * Held reads (PROTOCOL.md §5.4, COLLECTIVES.md §10): a fetch of an empty mailbox, or a read of
 * a collective's log past its end, that asked to wait is held here until something new is
 * committed there (`notify`, called by the app after the writing request's batch is on disk),
 * its wait ends, its client goes away, or the Operator shuts down. In memory only: nothing of
 * a hold is ever written. At most one hold per mailbox (a newer one ends the older, which is
 * then answered as a normal fetch); many per collective log; `cap` holds in all (above it, a
 * read is answered at once, as without a wait).
 */

/** Why a hold ended. `full`: it was never held (the cap was reached). */
export type HoldEnd = 'arrived' | 'timeout' | 'gone' | 'replaced' | 'closing' | 'full';

/** The default cap on held reads open at once. */
export const MAX_HOLDS = 20_000;

interface Waiter { end(why: HoldEnd): void }

/** The open holds of one Operator, keyed by what they wait on (`mailbox:<id>`, `log:<collective>`). */
export class Holds {
  private readonly byKey = new Map<string, Set<Waiter>>();
  private open = 0;
  private closing = false;

  constructor(readonly cap = MAX_HOLDS) {}

  /** How many reads are held now. */
  get size(): number { return this.open; }

  /** How many reads are held on `key` now (for tests: whether a client's held read has begun). */
  holding(key: string): number { return this.byKey.get(key)?.size ?? 0; }

  /**
   * Hold until `key` is notified, `ms` pass, `signal` aborts (the client left) or `closeAll`.
   * `exclusive`: any hold already on `key` ends first ('replaced'). Resolves at once with
   * 'full' at the cap and 'closing' after `closeAll`.
   */
  hold(key: string, ms: number, signal: AbortSignal, exclusive: boolean): Promise<HoldEnd> {
    if (this.closing) return Promise.resolve('closing');
    if (signal.aborted) return Promise.resolve('gone');
    if (exclusive) for (const w of [...(this.byKey.get(key) ?? [])]) w.end('replaced');
    if (this.open >= this.cap) return Promise.resolve('full');
    return new Promise<HoldEnd>((resolve) => {
      const set = this.byKey.get(key) ?? new Set<Waiter>();
      this.byKey.set(key, set);
      this.open++;
      const waiter: Waiter = {
        end: (why) => {
          if (!set.delete(waiter)) return;
          this.open--;
          if (!set.size) this.byKey.delete(key);
          clearTimeout(timer);
          signal.removeEventListener('abort', gone);
          resolve(why);
        },
      };
      const gone = () => waiter.end('gone');
      const timer = setTimeout(() => waiter.end('timeout'), ms);
      signal.addEventListener('abort', gone, { once: true });
      set.add(waiter);
    });
  }

  /** Something new was committed at `key`: every hold on it ends ('arrived'). */
  notify(key: string): void {
    for (const w of [...(this.byKey.get(key) ?? [])]) w.end('arrived');
  }

  /** The Operator is shutting down: end every hold now and refuse new ones. */
  closeAll(): void {
    this.closing = true;
    for (const set of [...this.byKey.values()]) for (const w of [...set]) w.end('closing');
  }
}

/**
 * Answer a read that may wait (`wait` seconds): `first` is its answer now; if that is `empty`,
 * the read is held on `key` and read again (`again`) when something arrives, until the answer
 * is not empty or the wait is over. A client that left, a shutdown or the cap end it with the
 * answer it had.
 */
export async function heldRead<T>(
  holds: Holds, signal: AbortSignal, key: string, wait: number | undefined, exclusive: boolean,
  first: T, again: () => Promise<T>, empty: (t: T) => boolean,
): Promise<T> {
  let answer = first;
  if (!wait) return answer;
  const until = performance.now() + wait * 1000;
  while (empty(answer)) {
    const left = until - performance.now();
    if (left <= 0) break;
    const why = await holds.hold(key, left, signal, exclusive);
    if (why === 'gone' || why === 'closing' || why === 'full') break;
    answer = await again();
    if (why !== 'arrived') break;
  }
  return answer;
}

/** What a successful request of route `name` may have added to, as a hold key: a deposit's mailbox, a changed log's collective. */
export function wakes(name: string, params: Record<string, string>): string | undefined {
  if (name === 'deposit') return `mailbox:${params.id}`;
  if (name === 'create-collective' || name === 'join' || name === 'vouch' || name === 'expel' || name === 'leave' || name === 'move') return params.collective ? `log:${params.collective}` : undefined;
  return undefined;
}
