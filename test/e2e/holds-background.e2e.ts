// Held reads with no extension page open (PROTOCOL.md §1 "Timing", §5.4; extension/background/
// live.ts), in real Firefox 140 (Tor Browser 15's engine; KOMRADE_ALL_FIREFOXES=1 adds Debian's
// current ESR): the held reads live in the background, an event page that Firefox stops when idle
// (`extensions.background.idle.timeout`, 30 s by default, as in Tor Browser; a pending fetch is
// not activity). The background's `holds` alarm (main.ts, every 15 s while holds run) is an
// extension event, which is activity. With every extension page closed and nothing from the test
// touching the add-on, the test records what the Operator sees (held reads) and what Firefox says
// of the event page (read from a privileged page), then asserts that the page was never stopped
// and that a message deposited then is taken by the add-on by itself. Without the alarm
// (measured 2026-12-04 in 140 and 153) the page stopped, holds went 2 → 0 at ~85 s and only the
// 1-minute autolock alarm woke it again; with it, 150 s idle in both: running throughout, the
// message fetched in 106 and 123 ms.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import { randomBytes } from '../../protocol/bytes.ts';
import { loadThemis } from '../../protocol/themis.ts';
import { onionFromKey } from '../../extension/background/address.ts';
import { startTestOperator, pendingBlobs } from '../support/operator.ts';
import { startFakeSocks } from './fakesocks.ts';
import { ADDON_ID, FIREFOXES, launch, navigate, poll } from './firefox.ts';
import { onboard, waitPhase } from './popup.ts';
import { account } from '../support/addon.ts';

before(() => loadThemis());

const EXT = 'dist/extension';
/** How long nothing touches the add-on (ms): well over twice Firefox's idle timeout. */
const IDLE_MS = Number(process.env.KOMRADE_IDLE_MS ?? 80_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The value of an integer pref, read from a privileged page (about:addons, under --remote-allow-system-access). */
async function intPref(page: Page, name: string): Promise<number> {
  await navigate(page, 'about:addons');
  return poll(page, (k: string) => {
    const g = globalThis as unknown as { Services?: { prefs: { getIntPref(k: string, d: number): number } } };
    return g.Services ? String(g.Services.prefs.getIntPref(k, -1)) : undefined;
  }, name, 10_000, name).then(Number);
}

/** Firefox's own word on the add-on's event page (running, suspending, stopped), read from a privileged page: it does not touch the add-on. */
const backgroundState = (page: Page) => page.evaluate((id: string) => {
  const g = globalThis as unknown as { ChromeUtils: { importESModule(u: string): { ExtensionParent: { GlobalManager: { getExtension(id: string): { backgroundState: string } | undefined } } } } };
  return g.ChromeUtils.importESModule('resource://gre/modules/ExtensionParent.sys.mjs').ExtensionParent.GlobalManager.getExtension(id)?.backgroundState ?? 'none';
}, ADDON_ID).catch((e: Error) => `?${e.message.slice(0, 40)}`);

const RUNS = Object.entries(FIREFOXES).filter(([name]) => name === 'esr140' || process.env.KOMRADE_ALL_FIREFOXES === '1');
for (const [browserName, executablePath] of RUNS) {
  test(`held reads go on with no extension page open in Firefox ${browserName}`, { timeout: IDLE_MS + 150_000 }, async (t) => {
    assert.ok(existsSync(executablePath), `Firefox missing at ${executablePath}: run scripts/setup-debian.sh`);
    assert.ok(existsSync(`${EXT}/manifest.json`), 'build the add-on first (npm run build)');
    const op = await startTestOperator();
    const onion = onionFromKey(randomBytes(32));
    const socks = await startFakeSocks(onion, () => op.port);
    const alice = await launch({ executablePath, socksPort: socks.port, extDir: EXT, wasm: true, uuid: '0a11ce00-0000-4000-8000-000000000003' });
    try {
      await onboard(alice.page, onion, 'alice');
      await waitPhase(alice.page, 'unlocked', 90_000);
      // close every extension page: the popup's tab goes to a privileged page, then to a blank one
      const timeout = await intPref(alice.page, 'extensions.background.idle.timeout');
      t.diagnostic(`${browserName}: extensions.background.idle.timeout = ${timeout < 0 ? 'unset (Firefox\'s built-in 30000 ms)' : `${timeout} ms`}`);
      await navigate(alice.page, 'about:blank');
      const pages = (await alice.browser.pages()).map((p) => p.url());
      assert.deepEqual(pages.filter((u) => u.startsWith('moz-extension:')), [], 'no extension page open');
      // watch the Operator only
      const t0 = Date.now();
      const seen: string[] = [];
      const priv = await alice.browser.newPage();
      await navigate(priv, 'about:addons');
      while (Date.now() - t0 < IDLE_MS) {
        seen.push(`${Math.round((Date.now() - t0) / 1000)}s:${op.holds.size}/${await backgroundState(priv)}`);
        await sleep(5_000);
      }
      t.diagnostic(`${browserName}: held reads at the Operator / event page state over time (popup closed): ${seen.join(' ')}`);
      for (let i = 0; op.holds.size === 0; i++) {
        assert.ok(i < 300, `no held read at the Operator ${Math.round((Date.now() - t0) / 1000)} s after the last extension page closed: the background stopped holding`);
        await sleep(100);
      }
      // a message deposited now is taken by the add-on by itself (fetched and acknowledged)
      const bob = await account(op.url, 'bob');
      await bob.k.addContact({ name: 'alice' });
      await bob.k.send({ name: 'alice', text: 'are you there?' });
      const intro = (await op.client.lookup('alice')).record.intro;
      const sent = Date.now();
      assert.ok((await pendingBlobs(op, intro)) > 0, 'the request waits in alice\'s intro mailbox');
      for (let i = 0; (await pendingBlobs(op, intro)) > 0; i++) {
        assert.ok(i < 300, 'the request deposited with no popup open was not fetched');
        await sleep(100);
      }
      t.diagnostic(`${browserName}: a request deposited ${Math.round((sent - t0) / 1000)} s after the popup closed was fetched and acknowledged in ${Date.now() - sent} ms`);
      assert.deepEqual(seen.filter((x) => !x.endsWith('/running')), [], 'the event page stayed running with no extension page open');
    } finally {
      await alice.close();
      await socks.close();
      await op.close();
      (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
    }
  });
}
