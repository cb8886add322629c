/**
 * The background's timers (PROTOCOL.md §1, "Timing"): which exist (the deposit slot, one read
 * per collective, and one fetch per mailbox of ours only with the setting `live` off: on, each
 * mailbox keeps a held fetch instead, live.ts; schedule.ts `Schedule` decides when) and what
 * each does when due, against the core (komrade.ts). main.ts sets one alarm for the next due
 * time and keeps the due times in session storage, so a suspended background loses none.
 */
import { mailboxIds } from './core/receive.ts';
import type { Komrade } from './komrade.ts';
import { FETCH_SECONDS, ratesFor, Schedule, type Random, type TimerKey } from './schedule.ts';

export class Timers {
  private seconds: number | undefined;
  readonly plan: Schedule;
  constructor(private readonly k: Komrade, private readonly random: Random, private readonly now: () => number = Date.now) {
    this.plan = new Schedule(ratesFor(FETCH_SECONDS.default), random);
  }

  /** Bring the timers in line with the account (mailboxes, collectives, the setting); the next due time, or undefined (and none kept) when locked. */
  async arm(): Promise<number | undefined> {
    if ((await this.k.status()).phase !== 'unlocked') { this.plan.clear(); return undefined; }
    const settings = await this.k.settings(), seconds = settings.pollSeconds;
    if (seconds !== this.seconds) { this.plan.setRates(ratesFor(seconds), this.now()); this.seconds = seconds; }
    const ids = settings.live === false ? await mailboxIds(this.k.ctx) : [], collectives = (await this.k.collectives()).map((c) => c.name);
    this.plan.keep([...ids.map((id): TimerKey => `fetch:${id}`), 'slot', ...collectives.map((c): TimerKey => `read:${c}`)], this.now());
    return this.plan.next();
  }

  /** Run every timer due now, each on its own (one that hangs holds up no other; one that fails waits for its next time). */
  async run(): Promise<void> {
    await Promise.all(this.plan.take(this.now()).map(async (key) => {
      try {
        if (key.startsWith('fetch:')) { if (await this.k.fetchOne(key.slice(6))) this.plan.wantLookup(this.now()); }
        else if (key === 'slot') await this.k.slot(this.random);
        else if (key.startsWith('read:')) await this.k.readCollective(key.slice(5));
        else await this.k.lookups();
      } catch { /* again at its next time */ }
    }));
  }
}
