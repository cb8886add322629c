// Property-based fuzzing of every Operator route (PROTOCOL.md §5) with fast-check: 10,000
// requests a run — malformed, oversized, forged, replayed, wrong method, wrong content type —
// from a printed seed (replay a failure with FUZZ_SEED=<seed>). Never a crash or a 5xx, every
// refusal is JSON { error }, and the store's invariants hold afterwards (each mailbox's count
// and bytes match the blobs it holds; every blob has its expiry entry and no entry is orphaned).
// A second run takes a well-formed request of every route (recorded from the real client) and
// breaks one field or path parameter — wrong type, non-numeric or non-canonical decimal — and
// checks each refusal is a 4xx JSON { error } that leaves the store byte for byte unchanged.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { onionFromKey } from '../protocol/onion.ts';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { signAuth } from '../protocol/identity.ts';
import { ROUTES, matchRoute, pathOf, type Route, type RouteName } from '../protocol/routes.ts';
import { SNARK_FIELD, type VouchProof } from '../protocol/vouch-wire.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES, LIMITS } from '../protocol/wire.ts';
import { komrade, startTestOperator, snapshot } from '../test/support/operator.ts';
import type { RunningOperator } from './server.ts';

before(() => loadThemis());

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000); // the fast tier runs fewer (scripts/tests.sh)
/** Requests with one field broken: each compares a dump of the whole store before and after. */
const BROKEN_RUNS = RUNS / 5;
/** Strings that are not canonical decimals below the field, and so must be refused wherever a decimal goes. */
const BAD_DECIMALS = ['x', '01', '1e3', '-1', '0x1f', '', ' 1', '1 ', 'NaN', '1.0', '9'.repeat(78), SNARK_FIELD.toString()];
/** A proof of the right shape (its numbers prove nothing). */
const proofLike: VouchProof = { merkleTreeDepth: 16, merkleTreeRoot: '1', nullifier: '2', message: '3', scope: '4', points: ['5', '6', '7', '8', '9', '10', '11', '12'] };

/** Check the store's invariants from a raw dump: counts, bytes and expiry entries agree with the blobs. */
async function checkInvariants(op: RunningOperator) {
  const rows = await snapshot(op);
  const metas = new Map<string, { count: number; bytes: number }>();
  const blobs = new Map<string, { count: number; bytes: number }>();
  const blobKeys = new Set<string>(), expiryKeys = new Set<string>();
  for (const kv of rows) {
    const [key, hex] = [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)];
    if (key.startsWith('!m!')) {
      const meta = JSON.parse(Buffer.from(hex, 'hex').toString('utf8')) as { count: number; bytes: number };
      metas.set(key.slice(3), meta);
    } else if (key.startsWith('!b!')) {
      const [box, seq] = key.slice(3).split('!') as [string, string];
      const b = blobs.get(box) ?? { count: 0, bytes: 0 };
      b.count++; b.bytes += hex.length / 2 - 4;
      blobs.set(box, b);
      blobKeys.add(`${box}!${seq}`);
    } else if (key.startsWith('!x!')) {
      expiryKeys.add(key.slice(3).split('!').slice(1).join('!'));
    }
  }
  for (const [box, meta] of metas) {
    const held = blobs.get(box) ?? { count: 0, bytes: 0 };
    assert.deepEqual({ count: meta.count, bytes: meta.bytes }, held, `mailbox ${box}: meta matches the blobs held`);
  }
  for (const box of blobs.keys()) assert.ok(metas.has(box), 'no blob without its mailbox');
  assert.deepEqual([...expiryKeys].sort(), [...blobKeys].sort(), 'every blob has one expiry entry and no entry is orphaned');
}

test(`fuzz: ${RUNS} property-based requests on every route never crash, never 5xx, always JSON { error }, store invariants intact`, { timeout: 600_000 }, async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`# fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
  const op = await startTestOperator({ mailboxPowBits: 0, depositPowBits: 0, powBits: 0, maxBlobsPerMailbox: 50 });
  try {
    const owner = new KeyPair(), box = b64(randomBytes(16));
    await op.client.createMailbox(box, owner);
    const named = komrade('fuzzed');
    await named.register(op.client, 0);
    for (let i = 0; i < 3; i++) await op.client.deposit(box, randomBytes(BLOB_SIZES[0]!));
    // signatures made once: used again they are replays; on the wrong target or action, forgeries
    const spent = signAuth(owner.privateKey, 'fetch', box);
    await op.client.fetchBlobs(box, owner.privateKey);
    const signed = [
      spent, signAuth(owner.privateKey, 'ack', box, '000000000001'), signAuth(owner.privateKey, 'delete-mailbox', b64(randomBytes(16))),
      signAuth(named.identity.privateKey, 'delete-name', 'someone'), { ts: Date.now(), nonce: b64(randomBytes(16)), sig: b64(randomBytes(120)) },
      signAuth(owner.privateKey, 'fetch', box, '', Date.now() - 2 * LIMITS.replayWindowMs),
    ];

    const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' },
        fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string(), fc.string({ unit: 'binary' }),
        fc.constantFrom(box, named.intro, b64(randomBytes(16)), b64(randomBytes(45)), b64(randomBytes(BLOB_SIZES[0]!)), '000000000001', 'fuzzed', '__proto__'),
        fc.constantFrom(...BAD_DECIMALS), fc.constant(proofLike),
        fc.constantFrom(...signed), fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 })),
    })).value;
    const fields = fc.constantFrom('id', 'key', 'auth', 'pow', 'blob', 'ids', 'record', 'sig', 'introAuth', 'ts', 'counter', 'constructor',
      'proof', 'root', 'epoch', 'postingKey', 'blobs', 'deleteHash', 'secret', 'upTo', 'charter', 'request');
    const objectBody = fc.dictionary(fields, json, { maxKeys: 5 });
    const rawBody = fc.oneof(
      fc.constantFrom('{', '[]', '"x"', '{"a":', '\u0000', 'null', '{"blob":"' + 'A'.repeat(5000)),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.constant('{"blob":"' + 'A'.repeat(LIMITS.bodyBytes + 10) + '"}'), // oversized
    );
    const routes = Object.values(ROUTES) as Route[];
    const path = fc.oneof(
      fc.constantFrom(...routes).chain((r) => fc.record({
        params: fc.record({
          id: fc.constantFrom(box, named.intro, b64(randomBytes(16)), '%00', '..', 'x'.repeat(300)), name: fc.constantFrom('fuzzed', 'FUZZED', 'nobody', 'a', '..%2f', 'x'.repeat(40)),
          collective: fc.constantFrom('fuzzed', 'nobody', 'a', 'x'.repeat(40)), from: fc.constantFrom('0', '1', '01', 'x'),
          epoch: fc.constantFrom('1', '2', '0', 'x'), prekey: fc.constantFrom(b64(randomBytes(8)), 'x'), seq: fc.constantFrom('0', '1', '01', '-1', 'x'),
        }),
      }).map(({ params }) => ({ route: r, path: pathOf(r, params).replace(/%25/g, '%'), toString: () => `${r.method} ${r.path}` }))),
      fc.constantFrom('/v2/', '/v2/mailboxes/x/y/z', '/v1/info', '/', '/v2/names/%ZZ').map((p) => ({ route: undefined, path: p })),
    );
    const request = fc.record({
      target: path,
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      useRouteMethod: fc.boolean(),
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', undefined),
      body: fc.oneof(objectBody.map((b) => JSON.stringify(b)), rawBody, fc.constant(undefined)),
    });

    const statuses = new Map<number, number>();
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const method = r.useRouteMethod && r.target.route ? r.target.route.method : r.method;
      const res = await fetch(`${op.url}${r.target.path}`, {
        method, headers: r.contentType ? { 'content-type': r.contentType } : {},
        body: method === 'GET' || method === 'OPTIONS' ? undefined : r.body,
      });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500 && res.status !== 507) return false;
      if (res.status >= 400) {
        const body = JSON.parse(text) as Record<string, unknown>;
        return Object.keys(body).length === 1 && typeof body.error === 'string' && /json/.test(res.headers.get('content-type') ?? '');
      }
      if (method === 'OPTIONS') return text === ''; // the Allow header answers it
      // the onion root is a page without script (PROTOCOL.md §10)
      if (r.target.path === '/') return /^text\/html/.test(res.headers.get('content-type') ?? '') && !/<script/i.test(text);
      JSON.parse(text);
      return true;
    }), { numRuns: RUNS, seed });
    console.log(`# fuzz statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok((statuses.get(400) ?? 0) > RUNS / 10, 'most requests are refused as malformed');
    await checkInvariants(op);
    // and the Operator still serves its owner
    assert.ok((await op.client.fetchBlobs(box, owner.privateKey).catch(() => ({ blobs: [] }))).blobs.length >= 0);
  } finally { await op.close(); }
});

/** Every request the real client sends while `run` runs (the Operator's answers pass through). */
async function recordRequests(run: () => Promise<void>) {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  const real = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(String(input));
    sent.push({ method: init?.method ?? 'GET', path: url.pathname, body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined });
    return real(input, init);
  };
  try { await run(); } finally { globalThis.fetch = real; }
  return sent;
}

/** Every path to a leaf of a JSON value (array elements and object fields), the value itself included. */
function leafPaths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => leafPaths(x, [...at, i]))];
  if (v && typeof v === 'object') return [at, ...Object.entries(v).flatMap(([k, x]) => leafPaths(x, [...at, k]))];
  return [at];
}
function replaced(v: unknown, path: (string | number)[], by: unknown): unknown {
  if (path.length === 0) return by;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[path[0]!] = replaced(copy[path[0]!], path.slice(1), by);
  return copy;
}

test(`fuzz: ${BROKEN_RUNS} times a well-formed request of every route with one field broken (wrong type, bad decimal) is a 4xx JSON { error } that changes nothing`, { timeout: 600_000 }, async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`# fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
  const op = await startTestOperator({ mailboxPowBits: 0, depositPowBits: 0, powBits: 0 });
  try {
    const c = op.client, owner = new KeyPair(), box = b64(randomBytes(16)), posting = new KeyPair();
    const founder = komrade('founder'), joiner = komrade('joiner');
    const no = () => undefined;
    const sent = await recordRequests(async () => {
      await c.info(); await c.createMailbox(box, owner); await c.deposit(box, randomBytes(BLOB_SIZES[0]!));
      await c.fetchBlobs(box, owner.privateKey); await c.fetchBlobs(box, owner.privateKey, { wait: 1 }); await c.ack(box, owner.privateKey, ['000000000001']).catch(no);
      await c.deleteMailbox(b64(randomBytes(16)), owner.privateKey).catch(no);
      const signed = await founder.register(c, 0); await joiner.register(c, 0);
      await c.lookup('founder'); await c.available('founder'); await c.checkpoint(); await c.consistency(1, 1).catch(no); await c.logEntries(0); await c.logIndex('founder'); await c.replace(signed).catch(no); await c.deleteName('joiner', founder.identity.privateKey).catch(no);
      await c.createCollective(founder.identity.privateKey, {
        v: 2, name: 'coop', description: 'fuzzed', quorum: 'one', created: Date.now(), founder: 'founder', founderKey: b64(founder.identity.publicKey), founderCommitment: '12345',
      });
      await c.getCollective('coop'); await c.tree('coop'); await c.log('coop'); await c.waitLog('coop', 0, 1); await c.member('coop', 'founder'); await c.vouchCounts('founder');
      await c.requestJoin(joiner.identity.privateKey, {
        v: 2, collective: 'coop', name: 'joiner', identityKey: b64(joiner.identity.publicKey), commitment: '678', prekey: { id: b64(randomBytes(8)), key: b64(joiner.prekey.publicKey) }, ts: Date.now(),
      });
      await c.listRequests('coop'); await c.waitRequests('coop', '0'.repeat(16), 1); await c.vouch('coop', 'joiner', proofLike).catch(no); await c.expel('coop', 'founder', proofLike).catch(no);
      await c.moveMember('coop', 'founder', `founder@${onionFromKey(randomBytes(32))}`, founder.identity.privateKey, '12345').catch(no);
      await c.leave('coop', 'founder', founder.identity.privateKey, '12345').catch(no);
      await c.openEpoch('coop', { epoch: 1, postingKey: b64(posting.publicKey), root: '1', proof: proofLike }).catch(no);
      await c.currentEpoch('coop').catch(no); await c.uploadKeys('coop', 1, [randomBytes(BLOB_SIZES[0]!)], posting.privateKey).catch(no);
      await c.fetchKeys('coop', 1, b64(randomBytes(8))).catch(no);
      await c.post('coop', 1, randomBytes(BLOB_SIZES[0]!), b64(randomBytes(32)), posting.privateKey).catch(no);
      await c.deletePost('coop', 0, randomBytes(32)).catch(no); await c.openCursor('coop', 1, owner.publicKey, proofLike).catch(no);
      await c.readCursor('coop', b64(randomBytes(16)), owner.privateKey).catch(no); await c.ackCursor('coop', b64(randomBytes(16)), 1, owner.privateKey).catch(no);
    });
    const templates = sent.flatMap((r) => { const m = matchRoute(r.path, r.method); return m ? [{ ...r, ...m }] : []; });
    const missing = (Object.keys(ROUTES) as RouteName[]).filter((n) => !templates.some((t) => t.name === n));
    assert.deepEqual(missing, [], 'a well-formed request of every route');

    const wrong = fc.oneof(fc.constantFrom(...BAD_DECIMALS), fc.constantFrom(null, true, 0, -1, 1.5, 2 ** 53, [], {}, [proofLike], 'A'.repeat(300)));
    // info takes neither parameters nor body: the first run covers it
    const broken = fc.constantFrom(...templates.filter((t) => t.body !== undefined || Object.keys(t.params).length)).chain((t) => {
      const targets = [...Object.keys(t.params).map((p) => ({ param: p })), ...(t.body === undefined ? [] : leafPaths(t.body).map((path) => ({ path })))];
      return fc.record({ t: fc.constant(t), target: fc.constantFrom(...targets), by: wrong })
        .map((x) => ({ ...x, toString: () => `${t.name} ${JSON.stringify(x.target)} = ${JSON.stringify(x.by)}` }));
    });
    const statuses = new Map<string, number>();
    let before = await snapshot(op);
    await fc.assert(fc.asyncProperty(broken, async ({ t, target, by }) => {
      const params = 'param' in target ? { ...t.params, [target.param]: String(by) } : t.params;
      const body = 'path' in target ? replaced(t.body, target.path, by) : t.body;
      const res = await fetch(`${op.url}${pathOf(t.route, params)}`, {
        method: t.method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      statuses.set(`${res.status}`, (statuses.get(`${res.status}`) ?? 0) + 1);
      const after = await snapshot(op);
      if (res.status < 400) { before = after; return true; } // a change that left the request valid (e.g. a string for a string)
      const json = JSON.parse(text) as Record<string, unknown>;
      assert.ok(res.status < 500, `${t.name} ${JSON.stringify(target)} = ${JSON.stringify(by)}: ${res.status} ${text}`);
      assert.ok(Object.keys(json).length === 1 && typeof json.error === 'string', `${t.name}: JSON { error }`);
      assert.deepEqual(after, before, `${t.name}: a refused request changes nothing`);
      return true;
    }), { numRuns: BROKEN_RUNS, seed });
    console.log(`# broken-field statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  } finally { await op.close(); }
});
