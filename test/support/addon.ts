/**
 * Test support (not part of the add-on) for its Node tests (core/*.test.ts): devices and
 * accounts on a test Operator, the whole state read back as one document, and a gate that can
 * cut the Operator off.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Komrade, explain, type Deps } from '../../extension/background/komrade.ts';
import { K } from '../../extension/background/core/store.ts';
import { Account, Chunk, Contact, type Message, type StateV1 } from '../../extension/background/state.ts';
import { memoryKV } from '../../extension/background/vault.ts';
import { until as poll } from './until.ts';

export const PASS = 'correct horse battery staple';

export function device(now?: () => number, more: Partial<Deps> = {}) {
  const local = memoryKV(), session = memoryKV();
  return { local, session, k: new Komrade({ local, session, now, ...more }) };
}
/** A device with a new account on the Operator at `url`; `more`: other dependencies (e.g. `rotationDelayMs`). */
export async function account(url: string, name: string, now?: () => number, more: Partial<Deps> = {}) {
  const d = device(now, more);
  await d.k.create({ operator: url, name, passphrase: PASS, allowLoopback: true });
  return d;
}
/** A first contact, accepted: `from` adds `to` and sends `text`; `to` fetches it and accepts the request. */
export async function introduce(from: { k: Komrade }, to: { k: Komrade }, names: { from: string; to: string }, text = 'hi'): Promise<void> {
  await from.k.addContact({ name: names.to });
  await from.k.send({ name: names.to, text });
  await to.k.poll();
  await to.k.acceptRequest({ name: names.from });
}
export const userError = (re: RegExp) => (e: unknown) => re.test(explain(e));

/** Everything the device keeps, assembled into one document of vault v1's shape (contacts with all their messages). */
export async function stateOf(d: { k: Komrade }): Promise<StateV1> {
  const store = await d.k.ctx.store();
  const a = await store.account();
  const index = await store.index();
  const contacts: StateV1['contacts'] = {};
  for (const [name, s] of Object.entries(index.contacts)) {
    const c = (await store.r.get(K.contact(name), Contact))!;
    const messages: Message[] = [];
    for (let n = c.chunks.first; n < c.chunks.next; n++) messages.push(...((await store.r.get(K.chunk(name, n), Chunk))?.messages ?? []));
    const { chunks, disappear, last, ...rest } = c;
    void chunks; void disappear; void last;
    contacts[name] = { ...rest, unread: s.unread, messages };
  }
  const seen: Record<string, number> = {};
  for (const k of await store.r.keys()) if (k.startsWith('seen/')) Object.assign(seen, await store.r.get(k, (await import('../../extension/background/state.ts')).SeenDay));
  const { v, ...acc } = a;
  void v;
  return { v: 1, ...acc, contacts, outbox: await store.outbox(), seen, pendingFirst: await store.pending() };
}

/** Change the account record directly (tests that play an attacker editing their own add-on). */
export async function editAccount(d: { k: Komrade }, fn: (a: Account) => void): Promise<void> {
  const store = await d.k.ctx.store();
  const a = await store.account();
  fn(a);
  await store.putAccount(a);
}

export type GateMode = 'up' | 'reset' | '503';
/**
 * A loopback HTTP gate in front of the Operator that can make requests fail: the connection is
 * reset (status 0) or answered 503. `match` picks which (default: directory lookups, GET /v2/names/…).
 */
export async function gate(port: number, match: (method: string, url: string) => boolean = (m, u) => m === 'GET' && u.startsWith('/v2/names/')) {
  const g = { mode: 'up' as GateMode, match, refused: 0, url: '', close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }) };
  const server = createServer((req, res) => {
    if (g.mode !== 'up' && g.match(req.method ?? '', req.url ?? '')) {
      g.refused++;
      if (g.mode === 'reset') { req.socket.destroy(); return; }
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'directory unavailable' }));
      return;
    }
    const up = request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (r) => { res.writeHead(r.statusCode!, r.headers); r.pipe(res); });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  g.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return g;
}

/** Poll until `ok()` (for tests that wait on a paused background). */
export const until = (ok: () => boolean): Promise<void> => poll(ok, 'it happened', 1000, 5);

/**
 * Give a device a long history quickly, written as records directly: `contacts` made-up
 * contacts (keys of their own, no mailboxes) and `messages` messages spread over them and over
 * the device's real contacts.
 */
export async function fillHistory(d: { k: Komrade }, o: { contacts: number; messages: number }): Promise<void> {
  const { KeyPair } = await import('../../protocol/themis.ts');
  const { b64, randomBytes } = await import('../../protocol/bytes.ts');
  const { CHUNK } = await import('../../extension/background/state.ts');
  const store = await d.k.ctx.store();
  const index = await store.index();
  const records: Record<string, unknown> = {};
  const fake = Array.from({ length: o.contacts }, (_, i) => `made_up_${i}`);
  for (const name of fake) {
    records[K.contact(name)] = {
      name, identityKey: b64(new KeyPair().publicKey), prekey: { id: b64(randomBytes(8)), key: b64(new KeyPair().publicKey) },
      sendTo: b64(randomBytes(16)), inbox: b64(randomBytes(16)), verified: false, chunks: { first: 0, next: 0 }, disappear: 0,
    };
  }
  const names = [...Object.keys(index.contacts), ...fake];
  const t0 = Date.now() - o.messages * 1000;
  for (const [j, name] of names.entries()) {
    const count = Math.floor(o.messages / names.length) + (j < o.messages % names.length ? 1 : 0);
    const c = (records[K.contact(name)] ?? (await store.contact(name))!) as Contact;
    const msgs: Message[] = Array.from({ length: count }, (_, i) => ({ id: b64(randomBytes(16)), dir: i % 2 ? 'out' : 'in', text: `message ${i} `.padEnd(80, '.'), t: t0 + i * names.length + j, state: i % 2 ? 'sent' : 'received' }));
    const first = c.chunks.next;
    for (let n = 0; n * CHUNK < count; n++) records[K.chunk(name, first + n)] = { messages: msgs.slice(n * CHUNK, (n + 1) * CHUNK) };
    const last = msgs.at(-1) ?? c.last;
    records[K.contact(name)] = { ...c, chunks: { first: c.chunks.first, next: first + Math.ceil(count / CHUNK) }, ...(last && { last: { text: last.text, t: last.t, dir: last.dir } }) };
    index.contacts[name] = { unread: 0 };
  }
  records[K.index] = index;
  await store.r.putAll(records);
}

/** A KV that records which keys are read and written. */
export function loggingKV(inner: ReturnType<typeof memoryKV>) {
  const log = { gets: [] as string[], sets: [] as string[] };
  return Object.assign(log, {
    data: inner.data,
    get: (k: string) => { log.gets.push(k); return inner.get(k); },
    set: (k: string, v: unknown) => { log.sets.push(k); return inner.set(k, v); },
    remove: (k: string) => inner.remove(k),
    reset: () => { log.gets.length = 0; log.sets.length = 0; },
  });
}
