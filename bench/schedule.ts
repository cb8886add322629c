/**
 * What a live Operator learns from timing (issue #18): the curious Operator's two classifiers
 * (test/support/classifiers.ts) over simulated days of 50 komrades (test/support/schedule-sim.ts),
 * for the schedule before issue #18, the default (held reads all the time, live.ts), the
 * independent schedule (the setting off), and the independent schedule with held fetches only
 * while the popup is open (the older live.ts: all loops together, or each at its own random time,
 * schedule.ts `liveWindow`). Accuracy on balanced classes, so chance is 50 %; mean of 3 seeds.
 */
import { activeVsIdle, pairing } from '../test/support/classifiers.ts';
import { simulate, type SimOptions } from '../test/support/schedule-sim.ts';
import { row, section } from './lib.ts';
import { costRows } from './schedule-cost.ts';

const SEEDS = [1, 2, 3];
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Run the section. */
export async function benchSchedule(): Promise<void> {
  section('What a live Operator learns from timing: classifiers over a simulated day, 50 komrades');
  const cases: [string, SimOptions, boolean][] = [
    ['before issue #18 (60 s poll, Check now on opening)', { mode: 'today' }, false],
    ['held reads all the time (default: one per mailbox and collective, 240 s, slot 60 s)', { mode: 'independent', held: true }, true],
    ['independent schedule (setting off: fetch 600 s, slot 60 s)', { mode: 'independent' }, true],
    ['independent + held fetches while the popup is open, together', { mode: 'independent', live: 'together' }, false],
    ['independent + held fetches, each loop starts/stops at its own time', { mode: 'independent', live: 'staggered' }, false],
  ];
  for (const [name, o, goal] of cases) {
    const sims = SEEDS.map((seed) => simulate({ ...o, seed }));
    const all = mean(sims.map((s) => activeVsIdle(s, 'komrade')));
    const worst = mean(sims.map((s) => Math.max(...(['intro', 'pairwise', 'loop', 'collective'] as const).map((v) => activeVsIdle(s, v)).filter((x) => !Number.isNaN(x)))));
    const paired = mean(sims.map((s) => pairing(s)));
    row(`${name}: active vs idle, all its mailboxes`, all * 100, '%', goal ? { text: '≤ 60 %', met: all <= 0.6 } : undefined);
    // each case's rows carry its name: bench/results.json keeps one row per name
    row(`  ${name}: active vs idle, the most telling single circuit (intro, pairwise, loop, a collective)`, worst * 100, '%', goal ? { text: '≤ 60 %', met: worst <= 0.6 } : undefined);
    row(`  ${name}: mailbox pairing (chance 50 %)`, paired * 100, '%', goal ? { text: '≤ 60 %', met: paired <= 0.6 } : undefined);
  }
  section('What the schedule costs: one komrade with 20 contacts and 3 collectives, default setting');
  await costRows();
}
