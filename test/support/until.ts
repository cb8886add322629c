/**
 * Test support: wait for a condition by polling it (never one fixed wait, so a loaded CI machine
 * only makes a test slower, not flaky). The test's own timeout bounds it as well.
 */
import assert from 'node:assert/strict';

/** Poll `cond` every `everyMs` until it holds; after `tries` polls fail with `never: <what>`. */
export async function until(cond: () => boolean | Promise<boolean>, what = 'it happened', tries = 4000, everyMs = 10): Promise<void> {
  for (let i = 0; i < tries; i++) { if (await cond()) return; await new Promise((r) => setTimeout(r, everyMs)); }
  assert.fail(`never: ${what}`);
}
