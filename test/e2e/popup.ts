/**
 * What a person does in the Komrade popup, as test steps: onboard, open a thread, send,
 * check for mail. Shared by the fast (SOCKS stand-in) and the real-tor browser tests.
 */
import type { Page } from 'puppeteer-core';
import { click, fill, poll, waitFor } from './firefox.ts';

/** The passphrase the test komrades use. */
export const PASS = 'red flags fly at dawn';

/** The popup's current phase (new, locked, unlocked, no-wasm). */
export const phase = (page: Page) => page.evaluate(() => document.querySelector('main')?.dataset.phase);

/** Wait for a phase. */
export const waitPhase = (page: Page, p: string, timeout = 30_000) =>
  poll(page, (x: string) => document.querySelector('main')?.dataset.phase === x, p, timeout, `phase ${p}`);

/** Wait for an error element and return its text. */
export const errorText = (page: Page, sel: string): Promise<string> =>
  poll(page, (s: string) => document.querySelector(s)?.textContent ?? '', sel, 20_000, sel);

/** Fill the onboarding form and submit it. */
export async function onboard(page: Page, onion: string, name: string, pass = PASS) {
  await waitPhase(page, 'new');
  await fill(page, '#operator', `http://${onion}`);
  await fill(page, '#name', name);
  await fill(page, '#pass', pass);
  await fill(page, '#pass2', pass);
  await click(page, '#create');
}

/** Open the conversation with `name` from the inbox. */
export async function openThread(page: Page, name: string) {
  await click(page, '#tab-inbox');
  await click(page, `.conversation[data-name="${name}"]`);
  await waitFor(page, `#thread[data-name="${name}"]`);
}

/** Add a contact from the Contacts tab and wait for its card. */
export async function addContact(page: Page, name: string, timeout = 20_000) {
  await click(page, '#tab-contacts');
  await fill(page, '#add-name', name);
  await click(page, '#add');
  return poll(page, (n: string) => document.querySelector(`.contact[data-name="${n}"] .safety-words`)?.textContent, name.replace(/^@/, '').toLowerCase(), timeout, `${name} card`);
}

/** Accept a first contact's request from the inbox's "Requests (n)"; its thread opens. */
export async function acceptRequest(page: Page, name: string, timeout = 20_000) {
  await click(page, '#tab-inbox');
  await waitFor(page, '#open-requests', timeout);
  await click(page, '#open-requests');
  await waitFor(page, `.request[data-name="${name}"]`);
  await click(page, `.request[data-name="${name}"] .accept`);
  await waitFor(page, `#thread[data-name="${name}"]`);
}

/**
 * Type and send a message in the open thread; it shows at once as "Sending…" (the box stays free): wait until the background has
 * answered for it (queued for a deposit slot), then press "Send now" (shown once the thread shows it queued) until it has left —
 * or, with `leave` false (an Operator that is down), press it once if it is there.
 */
export async function send(page: Page, text: string, leave = true) {
  await fill(page, '#compose', text);
  await click(page, '#send');
  await poll(page, (t: string) => ![...document.querySelectorAll('.msg.out.pending .text')].some((e) => e.textContent === t.trim())
    && [...document.querySelectorAll('.msg.out:not(.pending) .text')].some((e) => e.textContent === t), text, 20_000, 'sent message shown');
  await sendNow(page, leave, text);
}

/**
 * Press "Send now" until the outgoing message `text` (default: the last outgoing one) has left (sent or delivered), or once with
 * `leave` false. By text, because messages that arrive meanwhile may be listed after it.
 */
export async function sendNow(page: Page, leave = true, text?: string) {
  for (let i = 0; i < 100; i++) {
    const state = await page.evaluate((t: string | null) => {
      (document.querySelector('#retry') as HTMLButtonElement | null)?.click();
      const out = [...document.querySelectorAll('.msg.out')].filter((m) => t === null || m.querySelector('.text')?.textContent === t);
      return out.at(-1)?.getAttribute('data-state');
    }, text ?? null);
    if (!leave || state === 'sent' || state === 'delivered') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the message did not leave after "Send now"');
}

/**
 * Wait for the last outgoing message to reach `state`; "sent" (the Operator has it) is also reached once it is "delivered"
 * (with the recipient's popup open, held fetches bring the receipt back within a second).
 */
export const lastOutState = (page: Page, state: string, timeout = 20_000) =>
  poll(page, (s: string) => { const now = [...document.querySelectorAll('.msg.out')].at(-1)?.getAttribute('data-state'); return now === s || (s === 'sent' && now === 'delivered'); }, state, timeout, `state ${state}`);

/** Wait until an incoming message with exactly this text is shown. */
export const received = (page: Page, text: string, timeout = 20_000) =>
  poll(page, (t: string) => [...document.querySelectorAll('.msg.in .text')].some((e) => e.textContent === t), text, timeout, `received ${text}`);

/** Press "Check now" in the status line. */
export const checkNow = (page: Page) => click(page, '#check-now');

/** The toolbar badge text, read through the add-on API from its own page. */
export const badgeText = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { browser: { action: { getBadgeText(d: object): Promise<string> } } }).browser.action.getBadgeText({}));

/** The badge's text once it is `want` (the background sets it just after the popup's view changes), else what it last was. */
export async function badgeBecomes(page: Page, want: string, timeout = 5_000): Promise<string> {
  const end = Date.now() + timeout;
  for (;;) {
    const now = await badgeText(page);
    if (now === want || Date.now() > end) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The colour pairs the popup's theme uses for text: [text variable, background variable]. */
export const TEXT_PAIRS: [string, string][] = [
  ['--fg', '--bg'], ['--fg', '--surface'], ['--muted', '--bg'], ['--muted', '--surface'], ['--accent-text', '--bg'], ['--accent-text', '--surface'],
  ['--on-accent', '--accent'], ['--ok', '--bg'], ['--ok', '--surface'], ['--error-fg', '--error-bg'], ['--warn-fg', '--warn-bg'],
  ['--fg', '--bubble-in'], ['--muted', '--bubble-in'], ['--fg', '--bubble-out'], ['--muted', '--bubble-out'],
  ['--tab-active-fg', '--tab-active-bg'], ['--disabled-fg', '--disabled-bg'], ['--muted', '--disabled-bg'], ['--accent-text', '--bubble-out'],
];

/** The popup's CSS variables resolved to [r, g, b] by the page (whatever notation the stylesheet uses). */
export const themeColours = (page: Page, names: string[]) => page.evaluate((ns: string[]) => {
  const probe = document.createElement('span');
  document.body.append(probe);
  const out: Record<string, number[]> = {};
  for (const n of ns) { probe.style.color = `var(${n})`; out[n] = (getComputedStyle(probe).color.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number); }
  probe.remove();
  return out;
}, names);
