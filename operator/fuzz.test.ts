// Property-based fuzzing of every Operator route (PROTOCOL.md §5) with fast-check: 10,000
// requests a run — malformed, oversized, forged, replayed, wrong method, wrong content type —
// from a printed seed (replay a failure with FUZZ_SEED=<seed>). Never a crash or a 5xx, every
// refusal is JSON { error }, and the store's invariants hold afterwards (each mailbox's count
// and bytes match the blobs it holds; every blob has its expiry entry and no entry is orphaned).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { signAuth } from '../protocol/identity.ts';
import { ROUTES, pathOf, type Route } from '../protocol/routes.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES, LIMITS } from '../protocol/wire.ts';
import { komrade, startTestOperator, snapshot } from '../test/support/operator.ts';
import type { RunningOperator } from './server.ts';

before(() => loadThemis());

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000); // the fast tier runs fewer (scripts/tests.sh)

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
        fc.constantFrom(...signed), fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 })),
    })).value;
    const fields = fc.constantFrom('id', 'key', 'auth', 'pow', 'blob', 'ids', 'record', 'sig', 'introAuth', 'ts', 'counter', 'constructor');
    const objectBody = fc.dictionary(fields, json, { maxKeys: 5 });
    const rawBody = fc.oneof(
      fc.constantFrom('{', '[]', '"x"', '{"a":', '\u0000', 'null', '{"blob":"' + 'A'.repeat(5000)),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.constant('{"blob":"' + 'A'.repeat(LIMITS.bodyBytes + 10) + '"}'), // oversized
    );
    const routes = Object.values(ROUTES) as Route[];
    const path = fc.oneof(
      fc.constantFrom(...routes).chain((r) => fc.record({
        params: fc.record({ id: fc.constantFrom(box, named.intro, b64(randomBytes(16)), '%00', '..', 'x'.repeat(300)), name: fc.constantFrom('fuzzed', 'FUZZED', 'nobody', 'a', '..%2f', 'x'.repeat(40)) }),
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
