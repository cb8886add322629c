/**
 * The background script: loads wasm-themis from the packaged .wasm, answers the popup's
 * typed requests, talks to the Operator on the schedule (timers.ts), auto-locks after idle minutes, and keeps
 * the toolbar badge and (optional, content-free) notifications up to date, and gives each of
 * its mailboxes its own Tor circuit (circuits.ts).
 */
import browser from 'webextension-polyfill';
import { loadThemis } from '../../protocol/themis.ts';
import { isMethod, type Reply, type Request, type Status } from '../api.ts';
import { Circuits, socksEndpoint } from './circuits.ts';
import { Komrade, explain, isActivity } from './komrade.ts';
import { Live } from './live.ts';
import { Timers } from './timers.ts';
import type { KV } from './vault.ts';

const area = (a: browser.Storage.StorageArea): KV => ({
  async get(k) { return (await a.get(k))[k]; },
  set: (k, v) => a.set({ [k]: v }),
  remove: (k) => a.remove(k),
});

let wasmError: string | undefined;
const ready = loadThemis(browser.runtime.getURL('libthemis.wasm')).catch((e: unknown) => {
  wasmError = `${typeof WebAssembly === 'undefined' ? 'WebAssembly is not available to the add-on' : 'The cryptography module (libthemis.wasm) failed to load'}: ${(e as Error)?.message ?? e}`;
});

/**
 * The packaged Semaphore circuit files (build.mjs), read from their moz-extension:// URLs once
 * and kept in memory; snarkjs gets the bytes (never a network address).
 */
let circuit: Promise<{ wasm: Uint8Array; zkey: Uint8Array }> | undefined;
const packaged = async (f: string) => new Uint8Array(await (await fetch(browser.runtime.getURL(f))).arrayBuffer());
const artifacts = () => {
  circuit ??= Promise.all([packaged('semaphore-16.wasm'), packaged('semaphore-16.zkey')]).then(([wasm, zkey]) => ({ wasm, zkey }));
  circuit.catch(() => { circuit = undefined; });
  return circuit;
};

const komrade = new Komrade({
  local: area(browser.storage.local),
  artifacts,
  session: area(browser.storage.session),
  onChange: ({ unread, requests, newMessages, feedUnread, joinRequests, newJoinRequests }) => {
    void badge(unread, requests, feedUnread, joinRequests);
    if (newMessages) void notify('komrade-new', 'You have a new message.');
    if (newJoinRequests) void notify('komrade-join', 'Someone asked to join a collective of yours.');
  },
  circuits: () => isolation,
  scheduled: true,
});

// Held reads all the time, popup open or not (live.ts): one held fetch per mailbox and one held
// log read per collective. A popup that is open (it connects a port named `live`) is only told
// when something arrived; its opening or closing changes nothing on the wire (PROTOCOL.md §1).
const popups = new Set<browser.Runtime.Port>();
const live = new Live(komrade, {
  onArrival: () => { for (const p of popups) p.postMessage({ changed: true }); },
  onLookup: () => { timers.plan.wantLookup(Date.now()); void schedule(); },
});
browser.runtime.onConnect.addListener((port) => {
  if (port.name !== 'live' || port.sender?.id !== browser.runtime.id || !port.sender.url?.startsWith(browser.runtime.getURL(''))) { port.disconnect(); return; }
  popups.add(port);
  port.onDisconnect.addListener(() => { popups.delete(port); });
});
void ready.then(() => { if (!wasmError) live.start(); });

/**
 * Unread messages and posts together, then requests (message requests and join requests) apart:
 * "3", "3+1", "+1"; the title tells them apart.
 */
async function badge(unread: number, requests = 0, posts = 0, join = 0) {
  const n = unread + posts, asking = requests + join;
  const part = (k: number, one: string, many = `${one}s`) => (k ? ` · ${k} ${k > 1 ? many : one}` : '');
  await browser.action.setBadgeText({ text: (n ? String(n) : '') + (asking ? `+${asking}` : '') });
  await browser.action.setTitle({ title: `Komrade${part(unread, 'unread', 'unread')}${part(posts, 'new post')}${part(requests, 'request')}${part(join, 'join request')}` });
  await browser.action.setBadgeBackgroundColor({ color: '#b00020' });
}

/** A notice, if notifications are on: no sender, no collective, no content; only that something arrived. */
async function notify(id: string, message: string) {
  const settings = await komrade.settings().catch(() => undefined);
  if (!settings?.notifications) return;
  await browser.notifications.create(id, { type: 'basic', title: 'Komrade', message, iconUrl: browser.runtime.getURL('icon.svg') });
}

async function handle(msg: Request): Promise<Reply<unknown>> {
  await ready;
  if (wasmError) {
    return msg.type === 'status' ? { ok: true, value: { phase: 'no-wasm', wasmError, unread: 0, queued: 0 } } : { ok: false, error: wasmError };
  }
  try {
    // only what the person does restarts the auto-lock count, not the popup's own refreshes (komrade.ts, isActivity)
    const value = await komrade.request(msg.type, msg.args as never);
    if (msg.type === 'lock' || msg.type === 'unlock' || msg.type === 'deleteAccount') { const st = await komrade.status(); await badge(st.unread, st.requests, st.feedUnread, st.joinRequests); }
    if (['unlock', 'lock', 'deleteAccount', 'create', 'restore', 'saveSettings'].includes(msg.type)) await schedule();
    // a new contact, collective or unlocked vault may mean new mailboxes or logs to hold
    if (isActivity(msg.type) || msg.type === 'saveSettings' || msg.type === 'lock') live.rescan();
    return { ok: true, value };
  } catch (e) {
    return { ok: false, error: explain(e) };
  }
}

browser.runtime.onMessage.addListener((msg: unknown, sender: browser.Runtime.MessageSender) => {
  // only our own pages (the popup) may talk to the background; never a web page or another add-on
  if (sender.id !== browser.runtime.id || !sender.url?.startsWith(browser.runtime.getURL(''))) return undefined;
  const m = msg as Partial<Request>;
  if (!m || typeof m.type !== 'string' || !isMethod(m.type) || !Array.isArray(m.args)) return Promise.resolve({ ok: false, error: 'unknown request' });
  return handle(m as Request);
});

// One Tor circuit per mailbox (circuits.ts). Only this add-on's own requests are touched: web
// pages keep Tor Browser's isolation. Where the browser's proxy is not SOCKS5 with remote DNS,
// requests are left to the browser's own settings and the status says circuits are shared.
const circuits = new Circuits();
let isolation: Status['circuits'];
type ProxyInfo = { type: 'socks'; host: string; port: number; username: string; password: string; proxyDNS: true };
const onRequest = async (d: browser.Proxy.OnRequestDetailsType): Promise<ProxyInfo | undefined> => {
  if (!d.originUrl?.startsWith(browser.runtime.getURL(''))) return undefined;
  const socks = socksEndpoint((await browser.proxy.settings.get({})).value as Parameters<typeof socksEndpoint>[0]);
  isolation = socks ? 'per-mailbox' : 'shared';
  return socks && { type: 'socks', ...socks, ...circuits.credentials(d.url), proxyDNS: true };
};
browser.proxy.onRequest.addListener(onRequest as (d: browser.Proxy.OnRequestDetailsType) => void, { urls: ['http://*.onion/*'] });

/**
 * The schedule (timers.ts, schedule.ts): each mailbox fetched at its own random times, a deposit
 * slot, each collective read; one alarm at the next due time, the due times kept in session
 * storage across a suspended background. Auto-lock is checked every minute.
 */
/**
 * Firefox stops an idle event page after `extensions.background.idle.timeout` (30 s), and a
 * pending fetch is not activity: the held reads would drop. An extension event is activity, so
 * an alarm every 15 s keeps the page, and its holds, alive; it does nothing else and sends
 * nothing (measured: test/e2e/holds-background.e2e.ts).
 */
const HOLDS_ALARM_MINUTES = 0.25;
const random = () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
const timers = new Timers(komrade, random);
const kept = browser.storage.session.get('schedule').then((v) => timers.plan.restore((v.schedule ?? []) as never)).catch(() => undefined);
async function schedule() {
  await kept;
  const next = await timers.arm().catch(() => undefined);
  if (next === undefined) await browser.storage.session.remove('schedule');
  else await browser.storage.session.set({ schedule: timers.plan.entries() });
  if (next === undefined) await browser.alarms.clear('tick');
  else await browser.alarms.create('tick', { when: Math.max(next, Date.now() + 1000) });
  await browser.alarms.create('autolock', { periodInMinutes: 1 });
  // only while holds run (unlocked, the setting on); locked, the page may sleep
  const on = (await komrade.status().catch(() => undefined))?.phase === 'unlocked' && (await komrade.settings().catch(() => undefined))?.live !== false;
  if (on) await browser.alarms.create('holds', { periodInMinutes: HOLDS_ALARM_MINUTES });
  else await browser.alarms.clear('holds');
}

browser.alarms.onAlarm.addListener(async (alarm) => {
  await ready;
  if (wasmError || (await komrade.status()).phase !== 'unlocked') return;
  if (alarm.name === 'tick') { await kept; await timers.run(); await schedule(); }
  if (alarm.name === 'autolock' && (await komrade.lockIfIdle())) { await badge(0); await schedule(); live.rescan(); }
});

void ready.then(schedule);
