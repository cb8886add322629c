/**
 * The curious Operator's two classifiers over a simulated day (schedule-sim.ts; issue #18):
 * (1) tell a komrade's active 10-minute windows from idle ones, from the requests on its
 * mailboxes' and collectives' circuits (counts, acks, bytes, deposits into them, bursts, held fetches), each
 * feature taken against that komrade's own median window; (2) tell whether two mailboxes have
 * one owner, from how their fetch times line up. Both are logistic regressions trained on half
 * the komrades and scored on the other half, on balanced classes (chance = 50 %).
 */
import type { SimResult } from './schedule-sim.ts';
import { seeded } from './schedule-sim.ts';

const WINDOW = 600_000;
type Row = { x: number[]; y: 0 | 1 };

/** Logistic regression (standardised features, gradient descent): trained on `train`, its accuracy on `test`. */
export function logistic(train: Row[], test: Row[]): number {
  const d = train[0]!.x.length, mean = Array(d).fill(0), sd = Array(d).fill(0);
  for (const r of train) r.x.forEach((v, i) => { mean[i] += v / train.length; });
  for (const r of train) r.x.forEach((v, i) => { sd[i] += (v - mean[i]) ** 2 / train.length; });
  const z = (x: number[]) => x.map((v, i) => (v - mean[i]) / (Math.sqrt(sd[i]) || 1));
  const w = Array(d + 1).fill(0), tz = train.map((r) => ({ x: z(r.x), y: r.y }));
  for (let it = 0; it < 400; it++) {
    const g = Array(d + 1).fill(0);
    for (const r of tz) { const p = 1 / (1 + Math.exp(-(w[d] + r.x.reduce((s, v, i) => s + v * w[i], 0)))); const e = p - r.y; r.x.forEach((v, i) => { g[i] += e * v; }); g[d] += e; }
    for (let i = 0; i <= d; i++) w[i] -= (0.5 * g[i]) / tz.length;
  }
  const hits = test.filter((r) => ((w[d] + z(r.x).reduce((s, v, i) => s + v * w[i], 0)) > 0 ? 1 : 0) === r.y).length;
  return hits / test.length;
}

/** Balance a set of rows: every row of the smaller class and as many drawn from the larger. */
function balanced(rows: Row[], random: () => number): Row[] {
  const pos = rows.filter((r) => r.y === 1), neg = rows.filter((r) => r.y === 0);
  const [few, many] = pos.length < neg.length ? [pos, neg] : [neg, pos];
  const drawn = [...many].sort(() => random() - 0.5).slice(0, few.length);
  return [...few, ...drawn];
}

/** Add to one count of a feature vector. */
const add = (f: number[], i: number, v = 1) => { f[i] = (f[i] ?? 0) + v; };
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? 0; };

/**
 * Classifier 1: accuracy at telling a komrade's active windows from idle ones. `view`: what the
 * Operator groups: `komrade` (all of its mailboxes, as if it could pair them: an upper bound),
 * or one circuit, `intro`, `pairwise`, `loop` (the loop mailbox stands out by its many deposits) or
 * `collective` (one collective's reads).
 */
export function activeVsIdle(sim: SimResult, view: 'komrade' | 'intro' | 'pairwise' | 'loop' | 'collective' = 'komrade', seed = 7): number {
  const random = seeded(seed), n = Math.floor((sim.hours * 3_600_000) / WINDOW), K = sim.sessions.length;
  const rows: Row[][] = Array.from({ length: K }, () => []);
  const groups = new Map<string, { owner: number; seen: SimResult['seen'] }>();
  const prefix = { intro: 'i:', pairwise: 'p:', loop: 'l:', collective: 'c:' } as const;
  for (const s of sim.seen) {
    if (view !== 'komrade' && !s.box.startsWith(prefix[view])) continue;
    const g = view === 'komrade' ? String(s.owner) : s.box;
    if (!groups.has(g)) groups.set(g, { owner: s.owner, seen: [] });
    groups.get(g)!.seen.push(s);
  }
  for (const { owner: k, seen: mine } of groups.values()) {
    // the box with most deposits over the day (a loop mailbox, if it has one) is watched apart
    const byBox = new Map<string, number>();
    for (const s of mine) if (s.kind === 'deposit-in') byBox.set(s.box, (byBox.get(s.box) ?? 0) + 1);
    const busiest = [...byBox].sort((a, b) => b[1] - a[1])[0]?.[0];
    const feats: number[][] = Array.from({ length: n }, () => Array<number>(8).fill(0));
    const fetchTimes: number[][] = Array.from({ length: n }, () => []);
    for (const s of mine) {
      const w = Math.floor(s.t / WINDOW), f = feats[w];
      if (!f) continue;
      if (s.kind === 'fetch' || s.kind === 'held') { add(f, 0); fetchTimes[w]!.push(s.t); }
      if (s.kind === 'ack') add(f, 1);
      add(f, 2, s.down);
      if (s.kind === 'deposit-in') add(f, s.box === busiest ? 3 : 4);
      if (s.kind === 'held') add(f, 5);
      add(f, 7, s.up);
    }
    // the most of its fetches within any 20 s
    fetchTimes.forEach((ts, w) => { let j = 0; for (let i = 0; i < ts.length; i++) { while (ts[i]! - ts[j]! > 20_000) j++; feats[w]![6] = Math.max(feats[w]![6]!, i - j + 1); } });
    const med = feats[0]!.map((_, i) => median(feats.map((f) => f[i]!)));
    for (let w = 0; w < n; w++) {
      const a = w * WINDOW, b = a + WINDOW;
      const cover = sim.sessions[k]!.reduce((s, [x, y]) => s + Math.max(0, Math.min(b, y) - Math.max(a, x)), 0);
      const near = sim.sessions[k]!.some(([x, y]) => x < b + WINDOW && y > a - WINDOW);
      if (cover >= WINDOW / 2) rows[k]!.push({ x: feats[w]!.map((v, i) => v - med[i]!), y: 1 });
      else if (!near) rows[k]!.push({ x: feats[w]!.map((v, i) => v - med[i]!), y: 0 });
    }
  }
  const half = Math.floor(K / 2);
  if (!groups.size) return NaN; // nothing of that kind to watch (no loop mailbox before issue #18)
  return logistic(balanced(rows.slice(0, half).flat(), random), balanced(rows.slice(half).flat(), random));
}

/** Classifier 2: accuracy at telling whether two mailboxes have one owner (balanced pairs). */
export function pairing(sim: SimResult, seed = 11): number {
  const random = seeded(seed), bins = Math.ceil((sim.hours * 3_600_000) / 300_000);
  const times = new Map<string, number[]>(), counts = new Map<string, number[]>();
  for (const b of sim.boxes.keys()) { times.set(b, []); counts.set(b, Array<number>(bins).fill(0)); }
  for (const s of sim.seen) if (s.kind !== 'deposit-in') { times.get(s.box)!.push(s.t); add(counts.get(s.box)!, Math.floor(s.t / 300_000)); }
  const near = (a: number[], b: number[]) => { let hit = 0, j = 0; for (const t of a) { while (j < b.length && b[j]! < t - 20_000) j++; if (j < b.length && b[j]! <= t + 20_000) hit++; } return hit / (a.length || 1); };
  const corr = (a: number[], b: number[]) => {
    const ma = a.reduce((s, v) => s + v, 0) / a.length, mb = b.reduce((s, v) => s + v, 0) / b.length;
    let num = 0, da = 0, db = 0; a.forEach((v, i) => { num += (v - ma) * (b[i]! - mb); da += (v - ma) ** 2; db += (b[i]! - mb) ** 2; });
    return num / (Math.sqrt(da * db) || 1);
  };
  const features = (a: string, b: string) => {
    const ta = times.get(a)!, tb = times.get(b)!, span = sim.hours * 3_600_000;
    const expect = (tb.length * 40_000) / span || 1e-9, expectA = (ta.length * 40_000) / span || 1e-9;
    return [(near(ta, tb) / expect + near(tb, ta) / expectA) / 2, corr(counts.get(a)!, counts.get(b)!)];
  };
  const K = sim.sessions.length, half = Math.floor(K / 2), all = [...sim.boxes];
  const rows = (lo: number, hi: number): Row[] => {
    const mine = all.filter(([, o]) => o >= lo && o < hi).map(([b]) => b), out: Row[] = [];
    for (let i = 0; i < mine.length; i++) for (let j = i + 1; j < mine.length; j++) {
      const same = sim.boxes.get(mine[i]!) === sim.boxes.get(mine[j]!);
      if (same || random() < 0.05) out.push({ x: features(mine[i]!, mine[j]!), y: same ? 1 : 0 });
    }
    return balanced(out, random);
  };
  return logistic(rows(0, half), rows(half, K));
}
