/**
 * The bench's scoreboard: rows with a value and unit, ratios measured side by side in the same
 * run (both sides kept), a goal where an issue set one; printed as a table and written to
 * bench/results.json with the machine it ran on.
 */
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** One measured side of a ratio. */
export interface Side { name: string; value: number; unit: string }
/** One row of results.json. */
export interface Row { name: string; value: number; unit: string; ratio?: { of: Side; to: Side }; goal?: string; met?: boolean }

const rows: Row[] = [];

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3).replace(/\.?0+$/, '') || '0');

/** Record (and print) a measurement. */
export function row(name: string, value: number, unit: string, goal?: { text: string; met: boolean }): void {
  rows.push({ name, value, unit, ...(goal ? { goal: goal.text, met: goal.met } : {}) });
  console.log(`${name.padEnd(78)} ${`${fmt(value)} ${unit}`.padEnd(16)}${goal ? `goal ${goal.text}: ${goal.met ? 'met' : 'MISSED'}` : ''}`);
}

/** Record a ratio of two sides measured in this run; `goal` is the largest (or, with `atLeast`, smallest) acceptable value. */
export function ratio(name: string, of: Side, to: Side, goal?: { max?: number; min?: number }): number {
  const r = of.value / to.value;
  rows.push({ name, value: r, unit: '×', ratio: { of, to }, ...(goal ? { goal: goal.max !== undefined ? `≤ ${goal.max}` : `≥ ${goal.min}`, met: goal.max !== undefined ? r <= goal.max : r >= goal.min! } : {}) });
  const g = goal ? (goal.max !== undefined ? `goal ≤ ${goal.max}: ${r <= goal.max ? 'met' : 'MISSED'}` : `goal ≥ ${goal.min}: ${r >= goal.min! ? 'met' : 'MISSED'}`) : '';
  console.log(`${name.padEnd(78)} ${`${r.toFixed(2)}×`.padEnd(16)}${g}`);
  console.log(`${''.padEnd(4)}${of.name}: ${fmt(of.value)} ${of.unit}; ${to.name}: ${fmt(to.value)} ${to.unit}`);
  return r;
}

/** Print a section heading. */
export const section = (title: string) => console.log(`\n## ${title}`);

/** Median milliseconds of `n` runs of `fn` (`setup` runs before each, untimed). */
export async function median(n: number, fn: () => unknown, setup?: () => unknown): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) { await setup?.(); const s = performance.now(); await fn(); t.push(performance.now() - s); }
  return percentile(t, 50);
}

/**
 * Medians of several variants of one measurement, taken in turns (a, b, c, b, c, a, …) so that
 * whatever else the machine does at the time weighs on every variant alike: the ratios of one
 * run compare like with like.
 */
export async function interleavedMedians(n: number, variants: { fn: () => unknown; setup?: () => unknown }[]): Promise<number[]> {
  const t: number[][] = variants.map(() => []);
  for (let i = 0; i < n; i++) {
    // each round starts with the next variant, so none always runs first (warm caches, a fresh GC)
    for (let k = 0; k < variants.length; k++) {
      const j = (i + k) % variants.length, v = variants[j]!;
      await v.setup?.(); const s = performance.now(); await v.fn(); t[j]!.push(performance.now() - s);
    }
  }
  return t.map((x) => percentile(x, 50));
}

/** The p-th percentile (nearest rank) of samples. */
export function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Write bench/results.json: every row plus the machine. With `merge`, rows of sections not run now are kept from the file. */
export function save(path: string, merge = false): void {
  if (merge && existsSync(path)) {
    const old = (JSON.parse(readFileSync(path, 'utf8')) as { rows: Row[] }).rows;
    const now = new Set(rows.map((r) => r.name));
    rows.unshift(...old.filter((r) => !now.has(r.name)));
  }
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform, date: new Date().toISOString().slice(0, 10) };
  writeFileSync(path, `${JSON.stringify({ machine, rows }, null, 2)}\n`);
  console.log(`\nwrote ${path} (${rows.length} rows) on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
}
