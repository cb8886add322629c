// The popup's collectives screens driven in Firefox (COLLECTIVES.md, POSTS.md): open a collective,
// vouch, post and read in the Feed tab. Shared by collectives.e2e.ts and federation.e2e.ts.
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { click, fill, poll, text, waitFor } from './firefox.ts';
import { checkNow } from './popup.ts';

/** Open a collective's screen from the Collectives tab (looked up afresh): `portland`, or `portland@<onion>` for another Operator's (COLLECTIVES.md §15). */
export async function openPortland(p: Page, name = 'portland') {
  await click(p, '#tab-collectives');
  if (await p.evaluate(() => !!document.querySelector('#collective-back'))) await click(p, '#collective-back');
  await fill(p, '#find-collective', name);
  await click(p, '#find');
  await waitFor(p, `#collective[data-name="${name}"]`, 30_000);
}
/** The text of the collectives screen now shown. */
export const screenText = (p: Page) => text(p, '#collectives').then((t) => t ?? '');

/** Vouch for `name` on the open screen; returns ms from the click to the answer. */
export async function vouch(p: Page, name: string, timeout = 120_000): Promise<number> {
  await waitFor(p, `.candidate[data-name="${name}"] .vouch`, Math.min(timeout, 30_000));
  const t = Date.now();
  await click(p, `.candidate[data-name="${name}"] .vouch`);
  // while proving: a progress indicator and the buttons disabled
  await poll(p, () => !!document.querySelector('#proving progress') && (document.querySelector('.candidate .vouch') as HTMLButtonElement | null)?.disabled !== false, null, 5_000, 'progress shown');
  await poll(p, () => document.querySelector('#collective-notice')?.textContent || document.querySelector('#collectives-error')?.textContent, null, timeout, 'vouch answered');
  const ms = Date.now() - t;
  const err = await text(p, '#collectives-error');
  assert.equal(err, undefined, `vouch failed: ${err}`);
  return ms;
}

/**
 * Post `body` from the Feed tab (in @portland) and wait until it is shown there. Until the keys
 * are there (handed over at a member's check: `others`) or renewed after a leave, the popup says
 * so and the post waits: check for mail and try again.
 */
export async function post(p: Page, body: string, others: Page[] = [], timeout = 90_000, collective = 'portland') {
  await click(p, '#tab-feed');
  await waitFor(p, '#post-text', 30_000);
  if (await p.evaluate(() => !!document.querySelector('#post-collective'))) {
    await p.evaluate((c: string) => { const s = document.querySelector('#post-collective') as HTMLSelectElement; s.value = c; s.dispatchEvent(new Event('change', { bubbles: true })); }, collective);
  }
  await fill(p, '#post-text', body);
  const end = Date.now() + timeout;
  for (;;) {
    if (!(await p.evaluate(() => !!document.querySelector('#post-waiting')))) {
      await click(p, '#post-send');
      const r = await poll(p, (t: string) => document.querySelector('#post-error')?.textContent || (document.querySelector('#post-form')?.getAttribute('aria-busy') === 'false'
        && [...document.querySelectorAll('#feed .post.mine .text')].some((e) => e.textContent === t) && 'posted'), body, 60_000, `posted ${body}`);
      if (r === 'posted') return;
      assert.match(String(r), /keys are being renewed|have not reached you/, 'the post was refused');
    }
    assert.ok(Date.now() < end, `${body}: the keys did not come`);
    for (const o of others) await checkNow(o);
    await new Promise((r) => setTimeout(r, 1500));
    await checkNow(p);
    await new Promise((r) => setTimeout(r, 1500));
  }
}
/** Check for mail and wait until that check is over (epochs and cursors included). */
export async function checked(p: Page) {
  await checkNow(p);
  await poll(p, () => (document.querySelector('#check-now') as HTMLButtonElement | null)?.disabled === false, null, 60_000, 'check done');
}
/** The texts of the posts in the Feed tab now. */
export const feedTexts = (p: Page) => p.evaluate(() => [...document.querySelectorAll('#feed .post .text')].map((e) => e.textContent ?? ''));
/** Check for mail until the Feed tab shows every one of `texts`. */
export async function reads(p: Page, texts: string[], timeout = 60_000) {
  await click(p, '#tab-feed');
  const end = Date.now() + timeout;
  for (;;) {
    await checkNow(p);
    try { await poll(p, (ts: string[]) => { const shown = [...document.querySelectorAll('#feed .post .text')].map((e) => e.textContent); return ts.every((t) => shown.includes(t)); }, texts, 3_000); return; }
    catch (e) { if (Date.now() > end) throw new Error(`the feed shows ${JSON.stringify(await feedTexts(p))}, not all of ${JSON.stringify(texts)}: ${(e as Error).message}`); }
  }
}
