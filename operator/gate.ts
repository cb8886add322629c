/**
 * A shared/exclusive gate for the Operator's store: requests run together (shared), while
 * the forgetting rewrite (PROTOCOL.md §6.1) runs alone (exclusive) so it can swap databases.
 * Writer-preferring: once an exclusive turn waits, new shared work queues behind it. Never
 * wait for a mailbox lock while inside the gate (take the lock first), or the two can deadlock.
 */
export class Gate {
  private active = 0;
  private exclusiveTail: Promise<void> = Promise.resolve();
  private exclusiveWaiting = 0;
  private drained: (() => void) | undefined;

  /** Run `fn` alongside other shared work, after any pending exclusive turn. */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusiveWaiting > 0) await this.exclusiveTail;
    this.active++;
    try { return await fn(); } finally {
      if (--this.active === 0) this.drained?.();
    }
  }

  /** Run `fn` alone: after current shared work drains, before new shared work starts. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.exclusiveWaiting++;
    const run = this.exclusiveTail.then(async () => {
      if (this.active > 0) await new Promise<void>((r) => { this.drained = r; });
      this.drained = undefined;
      return fn();
    });
    this.exclusiveTail = run.then(() => undefined, () => undefined).finally(() => { this.exclusiveWaiting--; });
    return run;
  }
}
