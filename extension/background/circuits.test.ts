// One Tor circuit per mailbox: which SOCKS proxy the browser uses, what each Operator request
// touches, and SOCKS credentials that separate mailboxes without naming them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Circuits, isolationKey, socksEndpoint } from './circuits.ts';

const TB = { proxyType: 'manual', socks: '127.0.0.1:9150', socksVersion: 5, proxyDNS: true };

test("the SOCKS endpoint is read from the browser's proxy settings, only when it is Tor Browser's shape", () => {
  assert.deepEqual(socksEndpoint(TB), { host: '127.0.0.1', port: 9150 });
  assert.deepEqual(socksEndpoint({ ...TB, socks: '[::1]:9050' }), { host: '::1', port: 9050 });
  assert.deepEqual(socksEndpoint({ ...TB, socks: 'file:///home/u/tor-browser/Data/Tor/socks.socket' }),
    { host: 'file:///home/u/tor-browser/Data/Tor/socks.socket', port: 1 });
  assert.equal(socksEndpoint(undefined), undefined);
  assert.equal(socksEndpoint({ ...TB, proxyType: 'none' }), undefined, 'no proxy: leave requests alone');
  assert.equal(socksEndpoint({ ...TB, socksVersion: 4 }), undefined);
  assert.equal(socksEndpoint({ ...TB, proxyDNS: false }), undefined, 'local DNS would leak the onion name');
  assert.equal(socksEndpoint({ ...TB, socks: '127.0.0.1' }), undefined);
  assert.equal(socksEndpoint({ ...TB, socks: '127.0.0.1:0' }), undefined);
  assert.equal(socksEndpoint({ ...TB, socks: '127.0.0.1:70000' }), undefined);
});

test('each Operator request is keyed by the one mailbox or name it touches', () => {
  const host = `${'a'.repeat(56)}.onion`, base = `http://${host}/v2`;
  for (const op of ['fetch', 'ack', 'delete']) assert.equal(isolationKey(`${base}/mailboxes/AbC-_9/${op}`), `${host} mailbox:AbC-_9`);
  assert.equal(isolationKey(`${base}/mailboxes/AbC-_9/deposit`), undefined, 'a deposit gets a circuit of its own');
  assert.equal(isolationKey(`${base}/names/Alice`), `${host} name:alice`);
  assert.equal(isolationKey(`${base}/names/alice/delete`), `${host} name:alice`);
  assert.equal(isolationKey(`${base}/names/%41lice`), `${host} name:alice`);
  for (const path of ['/info', '/mailboxes', '/names', '/mailboxes/a/b/fetch']) assert.equal(isolationKey(`${base}${path}`), undefined, path);
});

test('credentials: stable per mailbox within a session, different across mailboxes and sessions, never the id itself', () => {
  const base = `http://${'b'.repeat(56)}.onion/v2`;
  const c = new Circuits();
  const fetchA = c.credentials(`${base}/mailboxes/boxA/fetch`);
  assert.deepEqual(c.credentials(`${base}/mailboxes/boxA/ack`), fetchA, 'fetch and ack of one mailbox share a circuit');
  assert.notEqual(c.credentials(`${base}/mailboxes/boxB/fetch`).username, fetchA.username);
  assert.notEqual(c.credentials(`${base}/names/alice`).username, fetchA.username);
  assert.notEqual(c.credentials(`${base}/mailboxes/boxA/deposit`).username, fetchA.username, 'a deposit never rides the circuit its mailbox is fetched on (a dummy into our own mailbox would show)');
  assert.notEqual(c.credentials(`${base}/mailboxes/boxA/deposit`).username, c.credentials(`${base}/mailboxes/boxA/deposit`).username, 'nor another deposit\'s');
  const once = c.credentials(`${base}/info`);
  assert.notEqual(c.credentials(`${base}/info`).username, once.username, 'unkeyed requests get a circuit each');
  assert.notEqual(new Circuits().credentials(`${base}/mailboxes/boxA/fetch`).username, fetchA.username, 'a new session, new circuits');
  assert.ok(!fetchA.username.includes('boxA'));
  assert.match(fetchA.username, /^[A-Za-z0-9_-]{32}$/);
});

test('one circuit per (Operator, mailbox): the same id or name at two Operators never shares one (PROTOCOL.md §11)', () => {
  const a = `http://${'c'.repeat(56)}.onion/v2`, b = `http://${'d'.repeat(56)}.onion/v2`;
  const c = new Circuits();
  assert.notEqual(c.credentials(`${a}/mailboxes/boxA/fetch`).username, c.credentials(`${b}/mailboxes/boxA/fetch`).username);
  assert.notEqual(c.credentials(`${a}/names/bob`).username, c.credentials(`${b}/names/bob`).username);
  assert.equal(c.credentials(`${a}/mailboxes/boxA/fetch`).username, c.credentials(`${a}/mailboxes/boxA/ack`).username);
  assert.notEqual(isolationKey('http://127.0.0.1:4001/v2/mailboxes/boxA/fetch'), isolationKey('http://127.0.0.1:4002/v2/mailboxes/boxA/fetch'), 'loopback Operators differ by port');
});
