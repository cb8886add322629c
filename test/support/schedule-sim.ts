/**
 * A simulated day of many komrades as a curious Operator sees it (issue #18, PROTOCOL.md §1):
 * each request's time, circuit (= the mailbox it touches), and bytes up and down. No real
 * waiting: a clock and a seeded random source are injected into the add-on's own scheduling
 * code (extension/background/schedule.ts), which decides when each mailbox is fetched, when a
 * send leaves and when a look-up or a collective read goes.
 *
 * Circuits: one per mailbox (fetch, ack, held fetch), one per collective (its reads); deposits
 * are seen on the mailbox they go into (each rides a circuit of its own).
 *
 * Modes: `today` (the poll of main.ts before issue #18: every mailbox within 15 s at each
 * 60 s alarm, "Check now" when the popup opens, sends deposited at once, look-ups at once) and
 * `independent` (the Schedule class). `live` adds the held fetches while the popup is open
 * (the older live.ts: one held fetch of up to 25 s per mailbox, re-issued at once): `together`
 * (every loop starts and stops with the popup) or `staggered` (schedule.ts `liveWindow`).
 * `held` (the default since: live.ts): no fetch timers; each mailbox and collective keeps one
 * held read of up to LIMITS.holdSeconds all the time, the first at a random time within
 * HOLD_START_MS, the next after a random gap (mean HOLD_GAP_MS); a deposit into a held mailbox
 * ends its hold at once (its answer carries the blob, padded), and its ack follows; a hold that
 * runs out is answered bare (not padded: its end tells that it is empty).
 */
import { dummyTarget, expDelay, liveWindow, ratesFor, Schedule, spreadDelays, type Random, type Rates, type TimerKey } from '../../extension/background/schedule.ts';
import { HOLD_GAP_MS, HOLD_START_MS } from '../../extension/background/live.ts';
import { fetchResponseBucket } from '../../protocol/padding.ts';
import { LIMITS } from '../../protocol/wire.ts';

/** One request as the Operator sees it. `owner`: whose mailbox it touches (the truth, for scoring only). */
export interface Seen { t: number; box: string; owner: number; kind: 'fetch' | 'ack' | 'held' | 'deposit-in' | 'read'; up: number; down: number }
export interface SimOptions {
  mode: 'today' | 'independent'; live?: 'none' | 'together' | 'staggered';
  /** Held reads all the time instead of the mailboxes' fetch timers (independent mode only). */
  held?: boolean;
  komrades?: number; contacts?: number; collectives?: number; hours?: number; seed?: number; fetchSeconds?: number; rates?: Rates;
}
export interface SimResult { seen: Seen[]; sessions: [number, number][][]; boxes: Map<string, number>; hours: number; extra: { reads: number; lookups: number; deposits: number } }

/** Bytes on the HTTP wire (request line, headers, JSON) as bench/schedule-cost.ts measured them against the real Operator (a read: as a look-up). */
export const WIRE = { fetchUp: 593, ackUp: 627, depositUp: 1_829, headersDown: 228, blobJson: 1_540, readUp: 228, readDown: 966 } as const;
const HELD_MS = 25_000;
/** What a blob is: a message, a delivery receipt, a dummy. */
type Blob = 'm' | 'r' | 'd';

/** A seeded uniform random source (mulberry32). */
export function seeded(seed: number): Random {
  let a = seed >>> 0;
  return () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32; };
}

type Ev = { t: number; run: () => void };
/** A binary min-heap of events by time. */
class Queue {
  private h: Ev[] = [];
  push(e: Ev) { const h = this.h; h.push(e); let i = h.length - 1; while (i > 0) { const p = (i - 1) >> 1; if (h[p]!.t <= h[i]!.t) break; [h[p], h[i]] = [h[i]!, h[p]!]; i = p; } }
  pop(): Ev | undefined {
    const h = this.h, top = h[0], last = h.pop();
    if (h.length && last) { h[0] = last; let i = 0; for (;;) { const l = 2 * i + 1, r = l + 1; let m = i; if (l < h.length && h[l]!.t < h[m]!.t) m = l; if (r < h.length && h[r]!.t < h[m]!.t) m = r; if (m === i) break; [h[m], h[i]] = [h[i]!, h[m]!]; i = m; } }
    return top;
  }
}

/** Run the simulated day. */
export function simulate(o: SimOptions): SimResult {
  const K = o.komrades ?? 50, C = o.contacts ?? 6, COLL = o.collectives ?? 2, hours = o.hours ?? 24, end = hours * 3_600_000;
  const random = seeded(o.seed ?? 1), q = new Queue(), seen: Seen[] = [], boxes = new Map<string, number>(), pending = new Map<string, Blob[]>();
  const extra = { reads: 0, lookups: 0, deposits: 0 };
  // contacts: a ring with random chords, each komrade with C contacts; box `p:a:b` is a's, b writes to it
  const contacts: number[][] = Array.from({ length: K }, () => []);
  for (let a = 0; a < K; a++) for (let d = 1; contacts[a]!.length < C && d < K; d++) { const b = (a + d * 7) % K; if (b !== a && !contacts[a]!.includes(b) && contacts[b]!.length < C) { contacts[a]!.push(b); contacts[b]!.push(a); } }
  const own = (k: number) => [`i:${k}`, ...contacts[k]!.map((c) => `p:${k}:${c}`), ...(o.mode === 'independent' ? [`l:${k}`] : [])];
  for (let k = 0; k < K; k++) for (const b of own(k)) { boxes.set(b, k); pending.set(b, []); }
  for (let k = 0; k < K; k++) for (let c = 0; c < COLL; c++) boxes.set(`c:${k}:${c}`, k);
  const at = (t: number, run: () => void) => { if (t < end) q.push({ t, run }); };

  // activity: 1–4 sessions a day (popup open, sending), 10–40 minutes each
  const sessions = Array.from({ length: K }, () => Array.from({ length: 1 + Math.floor(random() * 4) }, (): [number, number] => {
    const s = random() * (end - 3_600_000); return [s, s + (10 + random() * 30) * 60_000];
  }));

  const deposit = (t: number, box: string, what: Blob) => {
    extra.deposits++;
    pending.get(box)!.push(what);
    seen.push({ t, box, owner: boxes.get(box)!, kind: 'deposit-in', up: WIRE.depositUp, down: WIRE.headersDown + 12 });
    const h = holds.get(box);
    if (h?.open) { // the held fetch is answered with the blob, taken in and acknowledged, then a gap
      h.open = false; h.seen!.down = WIRE.headersDown + fetchResponseBucket(27 + WIRE.blobJson);
      at(t + 50, () => { fetch(t + 50, box, 'answered'); const next = t + 400 + expDelay(HOLD_GAP_MS, random); at(next, () => hold(next, box)); });
    }
  };
  // held reads (`held`): one open per mailbox and collective; it ends when mail comes or its wait runs out
  const holds = new Map<string, { open: boolean; gen: number; seen?: Seen }>();
  const hold = (t: number, box: string) => {
    const h = holds.get(box)!, gen = ++h.gen, k = boxes.get(box)!;
    const collective = box.startsWith('c:');
    h.seen = { t, box, owner: k, kind: 'held', up: collective ? WIRE.readUp : WIRE.fetchUp, down: WIRE.headersDown + (collective ? WIRE.readDown : 27) };
    seen.push(h.seen);
    h.open = true;
    const ends = t + LIMITS.holdSeconds * 1000;
    at(ends, () => { if (h.gen !== gen || !h.open) return; h.open = false; const next = ends + expDelay(HOLD_GAP_MS, random); at(next, () => hold(next, box)); });
  };
  const outbox: [string, Blob][][] = Array.from({ length: K }, () => []);
  const send = (k: number, t: number, box: string, what: Blob) => { if (o.mode === 'today') deposit(t, box, what); else outbox[k]!.push([box, what]); };
  // one fetch of a mailbox: what was there is received; a message from a contact is answered by a receipt
  const fetch = (t: number, box: string, kind: Seen['kind'] | 'answered' = 'fetch') => {
    const k = boxes.get(box)!, got = pending.get(box)!.splice(0, 50), n = got.length;
    const body = 27 + n * WIRE.blobJson;
    if (kind !== 'answered') seen.push({ t, box, owner: k, kind, up: WIRE.fetchUp, down: WIRE.headersDown + (o.mode === 'today' ? body : fetchResponseBucket(body)) });
    if (!n) return;
    seen.push({ t: t + 300, box, owner: k, kind: 'ack', up: WIRE.ackUp, down: WIRE.headersDown + 14 });
    // each message is answered by a delivery receipt (on by default), sent like any message
    if (box.startsWith('p:')) { const from = Number(box.split(':')[2]); for (const b of got) if (b === 'm') send(k, t + 500, `p:${from}:${k}`, 'r'); }
    if (box.startsWith('i:')) lookup(k, t);
  };
  const lookup = (k: number, t: number) => { if (o.mode === 'today') extra.lookups++; else schedules[k]!.wantLookup(t); };
  // a collective's read: its 5 requests on that collective's circuit (routes.ts isolates by collective)
  const read = (k: number, c: number, t: number) => {
    extra.reads += 5;
    seen.push({ t, box: `c:${k}:${c}`, owner: k, kind: 'read', up: 5 * WIRE.readUp, down: 5 * WIRE.readDown });
  };

  const schedules = Array.from({ length: K }, () => new Schedule(o.rates ?? ratesFor(o.fetchSeconds ?? 600), random));
  for (let k = 0; k < K; k++) {
    const mine = own(k);
    if (o.mode === 'today') {
      // main.ts's alarm every 60 s (its phase is when the add-on started), each poll spread over 15 s
      const poll = (t: number, spread: number) => {
        let s = t;
        const order = shuffled(mine, random);
        spreadDelays(mine.length, spread, random).forEach((d, i) => { s += d; const ts = s, box = order[i]!; at(ts, () => fetch(ts, box)); });
        at(s, () => { for (let c = 0; c < COLL; c++) read(k, c, s); });
      };
      for (let t = random() * 60_000; t < end; t += 60_000) { const tt = t; at(tt, () => poll(tt, 15_000)); }
      // the popup opening runs "Check now"; the person opens it again every few minutes
      for (const [s, e] of sessions[k]!) for (let t = s; t < e; t += expDelay(300_000, random)) { const tt = t; at(tt, () => poll(tt, 0)); }
    } else {
      const sch = schedules[k]!;
      if (o.held) for (const box of [...mine, ...Array.from({ length: COLL }, (_, c) => `c:${k}:${c}`)]) {
        holds.set(box, { open: false, gen: 0 });
        const t0 = random() * HOLD_START_MS;
        at(t0, () => hold(t0, box));
      }
      sch.keep([...(o.held ? [] : mine.map((b): TimerKey => `fetch:${b}`)), 'slot', ...Array.from({ length: COLL }, (_, c): TimerKey => `read:${c}`)], 0);
      const tick = () => {
        const t = sch.next()!;
        at(t, () => {
          for (const key of sch.take(t)) {
            if (key.startsWith('fetch:')) fetch(t, key.slice(6));
            else if (key === 'slot') { const [box, what] = outbox[k]!.shift() ?? [dummyTarget(`l:${k}`, mine.filter((b) => b.startsWith('p:')), random), 'd' as const]; deposit(t, box, what); }
            else if (key.startsWith('read:')) read(k, Number(key.slice(5)), t);
            else extra.lookups++;
          }
          tick();
        });
      };
      tick();
    }
    // while the popup is open: sends (one every 3 minutes on average, to a random contact)
    for (const [s, e] of sessions[k]!) {
      if (contacts[k]!.length) for (let t = s + expDelay(180_000, random); t < e; t += expDelay(180_000, random)) { const tt = t, c = contacts[k]![Math.floor(random() * contacts[k]!.length)]!; at(tt, () => send(k, tt, `p:${c}:${k}`, 'm')); }
      if (o.live && o.live !== 'none') for (const box of mine) {
        const w = o.live === 'together' ? { start: s, stop: e } : liveWindow(s, e, random);
        for (let t = w.start; t < w.stop; t += HELD_MS) { const tt = t; at(tt, () => fetch(tt, box, 'held')); }
      }
    }
    // a first contact from a stranger now and then: a deposit into the intro
    for (let t = expDelay(12 * 3_600_000, random); t < end; t += expDelay(12 * 3_600_000, random)) { const tt = t; at(tt, () => deposit(tt, `i:${k}`, 'm')); }
  }
  for (let e = q.pop(); e; e = q.pop()) e.run();
  seen.sort((a, b) => a.t - b.t);
  return { seen, sessions, boxes, hours, extra };
}


function shuffled<T>(xs: T[], random: Random): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [a[i], a[j]] = [a[j]!, a[i]!]; }
  return a;
}
