/**
 * Drives real Firefox ESR with the built add-on over WebDriver BiDi (puppeteer-core 24),
 * configured like Tor Browser: always-private, every request through a SOCKS proxy with
 * remote DNS, localhost included. Extension pages are opened with BiDi
 * `browsingContext.navigate` and polled with `page.evaluate` (page.goto never resolves on
 * moz-extension://, and waitForFunction is blocked by the extension CSP on Firefox 140).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** The add-on's gecko id (manifest.json). */
export const ADDON_ID = 'komrade@komrade.invalid';

/** Which Firefox builds the tests run on: Debian's current ESR and Tor Browser 15's 140 ESR. */
export const FIREFOXES: Record<string, string> = {
  esr: process.env.FIREFOX_ESR ?? '/usr/bin/firefox-esr',
  esr140: process.env.FIREFOX_140 ?? join(process.cwd(), '.cache/firefox-140/usr/lib/firefox-esr/firefox-esr'),
};

/** One browser profile with the add-on installed, and a tab on its popup page. */
export interface Profile { browser: Browser; page: Page; uuid: string; popup: string; close(): Promise<void> }

/** Launch Firefox with Tor Browser's proxy prefs pointed at `socksPort` (or `socksHost`, e.g. a file:// Unix socket) and install `extDir`. */
export async function launch(o: { executablePath: string; socksPort: number; socksHost?: string; extDir: string; wasm: boolean; uuid: string }): Promise<Profile> {
  const browser = await puppeteer.launch({
    browser: 'firefox', protocol: 'webDriverBiDi', executablePath: o.executablePath, headless: true,
    args: ['--remote-allow-system-access'],
    env: { ...process.env, MOZ_DISABLE_NONLOCAL_CONNECTIONS: '1' },
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [ADDON_ID]: o.uuid }),
      'browser.privatebrowsing.autostart': true,
      'network.proxy.type': 1, 'network.proxy.socks': o.socksHost ?? '127.0.0.1', 'network.proxy.socks_port': o.socksPort,
      'network.proxy.socks_version': 5, 'network.proxy.socks_remote_dns': true,
      'network.proxy.no_proxies_on': '', 'network.proxy.allow_hijacking_localhost': true,
      'network.proxy.failover_direct': false, 'network.dns.disabled': true, 'network.dns.blockDotOnion': false,
      'dom.securecontext.allowlist_onions': true,
      // Tor Browser: HTTPS-Only, but onions are not upgraded (they are already end-to-end encrypted)
      'dom.security.https_only_mode': true, 'dom.security.https_only_mode.upgrade_onion': false,
      'dom.security.https_first': false, 'dom.security.https_first_pbm': false,
      // Tor Browser: no speculative or predicted connections (a connection opened ahead of a request carries no SOCKS credentials)
      'network.http.speculative-parallel-limit': 0, 'network.predictor.enabled': false, 'network.prefetch-next': false,
      'javascript.options.wasm': o.wasm,
      'services.settings.server': 'data:,#remote-settings-dummy/v1',
      'extensions.update.enabled': false, 'app.update.enabled': false, 'toolkit.telemetry.enabled': false,
    },
  });
  await browser.installExtension(resolve(o.extDir));
  const page = await browser.newPage();
  await reloadAddon(page);
  const popup = `moz-extension://${o.uuid}/popup.html`;
  // the reloaded add-on takes a moment to start: until then its page has no extension API
  const end = Date.now() + 30_000;
  for (;;) {
    await gotoExt(page, popup);
    if (await page.evaluate(() => typeof (globalThis as { browser?: { runtime?: unknown } }).browser?.runtime === 'object')) break;
    if (Date.now() > end) throw new Error('the add-on did not start');
    await new Promise((r) => setTimeout(r, 300));
  }
  return { browser, page, uuid: o.uuid, popup, close: () => browser.close() };
}

/**
 * In always-private mode (Tor Browser's) an add-on's pages get no `browser` API unless it may
 * run in private windows. A temporarily installed add-on is listed with that permission, but
 * the running instance does not have it (measured on 140 and 153): grant it again and reload
 * the add-on from about:addons, which is privileged under --remote-allow-system-access. A
 * person installing the .xpi grants it in the install prompt (README).
 */
async function reloadAddon(page: Page) {
  await navigate(page, 'about:addons');
  const r = await poll(page, async (id: string) => {
    type Mods = {
      AddonManager: { getAddonByID(id: string): Promise<{ reload(): Promise<void> } | null> };
      ExtensionPermissions: { add(id: string, p: { permissions: string[]; origins: string[] }): Promise<void> };
    };
    const g = globalThis as unknown as { ChromeUtils?: { importESModule(u: string): Mods } };
    if (!g.ChromeUtils) return undefined;
    const { AddonManager } = g.ChromeUtils.importESModule('resource://gre/modules/AddonManager.sys.mjs');
    const { ExtensionPermissions } = g.ChromeUtils.importESModule('resource://gre/modules/ExtensionPermissions.sys.mjs');
    const addon = await AddonManager.getAddonByID(id);
    if (!addon) return undefined;
    await ExtensionPermissions.add(id, { permissions: ['internal:privateBrowsingAllowed'], origins: [] });
    await addon.reload();
    return 'reloaded';
  }, ADDON_ID, 20_000, 'add-on reload');
  if (r !== 'reloaded') throw new Error('could not reload the add-on');
}

/** BiDi `browsingContext.navigate` (puppeteer's BidiFrame exposes its browsing context). */
export function navigate(page: Page, url: string): Promise<unknown> {
  const frame = page.mainFrame() as unknown as { browsingContext: { navigate(url: string, wait: string): Promise<unknown> } };
  return frame.browsingContext.navigate(url, 'complete');
}

/** Poll `fn` in the page until it returns a truthy value. */
export async function poll<T, A>(page: Page, fn: (arg: A) => T, arg: A, timeout = 20_000, what = ''): Promise<T> {
  const end = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try { const v = await page.evaluate(fn as never, arg); if (v) return v as T; } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what || fn.toString().slice(0, 100)}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Navigate to an extension page and wait until it has loaded. */
export async function gotoExt(page: Page, url: string): Promise<void> {
  await navigate(page, url);
  await poll(page, (u: string) => location.href === u && document.readyState === 'complete', url, 20_000, `load ${url}`);
}

/** Wait for a selector to exist. */
export const waitFor = (page: Page, selector: string, timeout = 20_000) =>
  poll(page, (s: string) => !!document.querySelector(s), selector, timeout, selector);

/** Click an element (waiting for it first). */
export async function click(page: Page, selector: string) {
  await waitFor(page, selector);
  await page.evaluate((s: string) => (document.querySelector(s) as HTMLElement).click(), selector);
}

/** Fill an input or textarea as a person typing would (fires `input` for Svelte's bindings). */
export async function fill(page: Page, selector: string, value: string) {
  await waitFor(page, selector);
  await page.evaluate((s: string, v: string) => {
    const el = document.querySelector(s) as HTMLInputElement;
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, selector, value);
}

/** Text content of an element, or undefined. */
export const text = (page: Page, selector: string) =>
  page.evaluate((s: string) => document.querySelector(s)?.textContent ?? undefined, selector);

/** Save a screenshot for people to look at (git-ignored folder). */
export async function shot(page: Page, name: string) {
  const dir = join(process.cwd(), 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`) as `${string}.png` });
}

/**
 * Switch `prefers-color-scheme` for every page of this browser, at run time. Measured on
 * Firefox 140 and 153 over BiDi: puppeteer's emulateMediaFeatures is CDP-only, but the pref
 * `layout.css.prefers-color-scheme.content-override` (0 dark, 1 light) applies to moz-extension
 * pages too, set at launch or, as here, from a privileged page (about:addons, under
 * --remote-allow-system-access) while the popup stays open. Resolves once `page` sees it.
 */
export async function colorScheme(p: Profile, scheme: 'light' | 'dark') {
  const priv = await p.browser.newPage();
  try {
    await navigate(priv, 'about:addons');
    await poll(priv, (v: number) => {
      const g = globalThis as unknown as { Services?: { prefs: { setIntPref(k: string, v: number): void } } };
      if (!g.Services) return false;
      g.Services.prefs.setIntPref('layout.css.prefers-color-scheme.content-override', v);
      return true;
    }, scheme === 'dark' ? 0 : 1, 10_000, 'set the colour scheme pref');
  } finally { await priv.close(); }
  await p.page.bringToFront();
  await poll(p.page, (d: boolean) => matchMedia('(prefers-color-scheme: dark)').matches === d, scheme === 'dark', 10_000, `${scheme} scheme`);
}

/** WCAG contrast ratio of two sRGB colours given as [r, g, b] 0–255. */
export function contrast(a: number[], b: number[]): number {
  const lum = (c: number[]) => {
    const [r, g, bl] = c.map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m);
  return (x! + 0.05) / (y! + 0.05);
}

/**
 * Each visible element with its own text, and its text colour and effective background (alpha
 * composited), as the page computes them. Page code as source: tsx would wrap its inner
 * functions in a helper (`__name`) the page does not have.
 */
export const textColours = (page: Page) => page.evaluate(`(() => {
  const rgba = (s) => (s.match(/[\\d.]+/g) ?? []).map(Number).concat([1]).slice(0, 4);
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3]));
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] === 1) break; }
    }
    let base = [255, 255, 255];
    for (const l of layers.reverse()) base = over(l, base);
    return base;
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].filter((n) => n.nodeType === 3 && n.textContent.trim()).map((n) => n.textContent.trim()).join(' ');
    if (!own || !el.getClientRects().length || getComputedStyle(el).visibility === 'hidden' || el.closest('.sr-only')) continue;
    const bg = background(el);
    const cls = typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).filter((c) => !c.startsWith('svelte-')).join('.') : '';
    out.push({ where: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls, text: own.slice(0, 40), fg: over(rgba(getComputedStyle(el).color), bg), bg });
  }
  return out;
})()`) as Promise<{ where: string; text: string; fg: number[]; bg: number[] }[]>;

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Run axe-core (injected into the page's realm by the driver, so the page's CSP is untouched)
 * and return its serious and critical violations as "rule: selector" lines.
 */
export async function axeSerious(page: Page): Promise<string[]> {
  await page.evaluate(`if (!window.axe) { ${AXE_SOURCE} }`);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
  });
}
