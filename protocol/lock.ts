/**
 * A keyed lock: work submitted under the same key runs one at a time, in order. Shared:
 * the add-on serialises its state changes with it, the Operator its mailboxes.
 * LevelDB read-then-delete is not atomic across requests, so every mailbox's
 * deposit/fetch/ack/delete runs under its own key.
 */
export class KeyedLock {
  private tails = new Map<string, Promise<unknown>>();

  /** Run `fn` after all earlier work under `key` has settled; resolves with its result. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key); });
    return result;
  }

  /** Number of keys with work pending (for tests and counters). */
  get size(): number { return this.tails.size; }
}
