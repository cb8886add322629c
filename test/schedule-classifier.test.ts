/**
 * What a live Operator learns from timing (issue #18, PROTOCOL.md §1): a simulated day of 50
 * komrades driven by the add-on's own scheduling code (extension/background/schedule.ts) with a
 * simulated clock, then the curious Operator's classifiers (test/support/classifiers.ts). The
 * schedule before issue #18 is the baseline (both classifiers near 100 %: the test checks that
 * they are not blind); the add-on's default (one held read open per mailbox and collective all
 * the time, live.ts) and the independent schedule (the setting off) must each keep active-vs-idle
 * at most 60 % and mailbox pairing at most chance + 10 %, whichever mailboxes the Operator
 * watches. Figures for every view, and with held fetches only while the popup is open (the older
 * live.ts, ~98 %), are in the bench (`npm run bench -- schedule`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeVsIdle, pairing } from './support/classifiers.ts';
import { simulate } from './support/schedule-sim.ts';

const VIEWS = ['komrade', 'intro', 'pairwise', 'loop', 'collective'] as const;

test('before issue #18: the Operator tells active from idle and pairs mailboxes (the baseline)', () => {
  const sim = simulate({ mode: 'today', seed: 1 });
  const active = activeVsIdle(sim, 'komrade'), paired = pairing(sim);
  assert.ok(active >= 0.9, `active vs idle ${active}`);
  assert.ok(paired >= 0.9, `pairing ${paired}`);
});

for (const [seed, held] of [[1, true], [2, true], [1, false], [2, false]] as const) {
  test(`${held ? 'the default, held reads all the time,' : 'the independent schedule (the setting off)'} hides activity and pairs nothing (seed ${seed})`, () => {
    const sim = simulate({ mode: 'independent', held, seed });
    for (const view of VIEWS) {
      const active = activeVsIdle(sim, view);
      assert.ok(active <= 0.6, `active vs idle, watching ${view}: ${active}`);
    }
    const paired = pairing(sim);
    assert.ok(paired <= 0.6, `pairing ${paired}`);
  });
}
