// The Operator over HTTP on a real LevelDB: mailboxes, concurrency, expiry, quotas, and refusal
// of bad input with the store left unchanged (the directory: names.test.ts).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient, OperatorError } from '../protocol/client.ts';
import { mailboxPowPrefix, signAuth, solveWork } from '../protocol/identity.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES, LIMITS } from '../protocol/wire.ts';
import { startTestOperator, raw, snapshot, komrade, testClock, pendingBlobs } from '../test/support/operator.ts';

before(() => loadThemis());

const blob = (size = BLOB_SIZES[0]!) => randomBytes(size);
const rejects = (status: number) => (e: unknown) => e instanceof OperatorError && e.status === status;

async function newMailbox(client: OperatorClient) {
  const id = b64(randomBytes(16)), key = new KeyPair();
  await client.createMailbox(id, key);
  return { id, key };
}

test('deposit, fetch in order, ack deletes, never served again; delete mailbox', async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    const sent = [blob(), blob(BLOB_SIZES[1]), blob()];
    for (const b of sent) await op.client.deposit(box.id, b);
    const got = await op.client.fetchBlobs(box.id, box.key.privateKey);
    assert.deepEqual(got.blobs.map((b) => b.blob), sent);
    assert.equal(got.more, false);
    // someone else cannot fetch or ack
    const eve = new KeyPair();
    await assert.rejects(op.client.fetchBlobs(box.id, eve.privateKey), rejects(401));
    await assert.rejects(op.client.ack(box.id, eve.privateKey, [got.blobs[0]!.id]), rejects(401));
    assert.deepEqual((await op.client.ack(box.id, box.key.privateKey, [got.blobs[0]!.id, got.blobs[2]!.id])).deleted, 2);
    assert.deepEqual((await op.client.ack(box.id, box.key.privateKey, [got.blobs[0]!.id])).deleted, 0, 'acking twice deletes nothing more');
    const again = await op.client.fetchBlobs(box.id, box.key.privateKey);
    assert.deepEqual(again.blobs.map((b) => b.blob), [sent[1]]);
    await assert.rejects(op.client.deleteMailbox(box.id, eve.privateKey), rejects(401));
    await op.client.deleteMailbox(box.id, box.key.privateKey);
    await assert.rejects(op.client.fetchBlobs(box.id, box.key.privateKey), rejects(404));
    await assert.rejects(op.client.deposit(box.id, blob()), rejects(404));
    await assert.rejects(op.client.createMailbox(b64(randomBytes(16)), { privateKey: box.key.privateKey, publicKey: eve.publicKey }), rejects(401));
  } finally { await op.close(); }
});

test('a fetch returns at most a batch and says there is more', async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    await Promise.all(Array.from({ length: LIMITS.fetchBatch + 3 }, () => op.client.deposit(box.id, blob())));
    const first = await op.client.fetchBlobs(box.id, box.key.privateKey);
    assert.equal(first.blobs.length, LIMITS.fetchBatch);
    assert.equal(first.more, true);
    await op.client.ack(box.id, box.key.privateKey, first.blobs.map((b) => b.id));
    const second = await op.client.fetchBlobs(box.id, box.key.privateKey);
    assert.equal(second.blobs.length, 3);
    assert.equal(second.more, false);
  } finally { await op.close(); }
});

test('50 concurrent fetch+ack cycles on one mailbox never serve a blob after its ack', async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    const ackedAt = new Map<string, number>();
    const violations: string[] = [];
    let deletedTotal = 0, clock = 0;
    await Promise.all(Array.from({ length: 50 }, async () => {
      await op.client.deposit(box.id, blob());
      const started = ++clock;
      const { blobs } = await op.client.fetchBlobs(box.id, box.key.privateKey);
      for (const b of blobs) { const t = ackedAt.get(b.id); if (t !== undefined && t < started) violations.push(b.id); }
      if (!blobs.length) return;
      const { deleted } = await op.client.ack(box.id, box.key.privateKey, blobs.map((b) => b.id));
      deletedTotal += deleted;
      const done = ++clock;
      for (const b of blobs) if (!ackedAt.has(b.id)) ackedAt.set(b.id, done);
    }));
    const rest = await op.client.fetchBlobs(box.id, box.key.privateKey);
    if (rest.blobs.length) deletedTotal += (await op.client.ack(box.id, box.key.privateKey, rest.blobs.map((b) => b.id))).deleted;
    assert.deepEqual(violations, [], 'a blob was served after its ack completed');
    assert.equal(deletedTotal, 50, 'every blob deleted exactly once');
    assert.equal((await op.store.mailboxes.get(box.id))!.count, 0);
  } finally { await op.close(); }
});

test('undelivered blobs expire after the TTL and idle mailboxes are removed', async () => {
  const clock = testClock();
  const op = await startTestOperator({ now: clock.now, ttlMs: 14 * 86_400_000 });
  try {
    const active = await newMailbox(op.client);
    const idle = await newMailbox(op.client);
    await op.client.deposit(active.id, blob());
    clock.t += 10 * 86_400_000; // day 10
    await op.client.deposit(active.id, blob());
    await op.client.deposit(idle.id, blob());
    // the owner of `active` checks in; its signed request carries the (test) time
    const r = await raw(op.url, 'POST', `/mailboxes/${active.id}/fetch`, { auth: signAuth(active.key.privateKey, 'fetch', active.id, '', clock.t) });
    assert.equal(r.status, 200);
    clock.t += 5 * 86_400_000; // day 15
    await op.sweep();
    assert.equal(await pendingBlobs(op, active.id), 1, 'the 15-day-old blob expired, the 5-day-old one stays');
    assert.equal(await op.store.mailboxes.get(idle.id), undefined, 'a mailbox whose owner never came for 15 days is removed, deposits or not');
    clock.t += 10 * 86_400_000; // day 25
    await op.sweep();
    assert.equal(await op.store.mailboxes.get(active.id), undefined, 'idle since day 10: removed');
    assert.deepEqual((await snapshot(op)).filter((kv) => !kv.startsWith('!r!') && !kv.startsWith('!g!') && !kv.startsWith('!K!')), [], 'no blob or index entry left behind');
  } finally { await op.close(); }
});

test('quotas: too many blobs or bytes in one mailbox gives 429 and stores nothing', async () => {
  const op = await startTestOperator({ maxBlobsPerMailbox: 3, maxBytesPerMailbox: BLOB_SIZES[1]! + 2 * BLOB_SIZES[0]! });
  try {
    const box = await newMailbox(op.client);
    await op.client.deposit(box.id, blob(BLOB_SIZES[1]));
    await op.client.deposit(box.id, blob());
    const before = await snapshot(op);
    await assert.rejects(op.client.deposit(box.id, blob(BLOB_SIZES[1])), rejects(429));
    assert.deepEqual(await snapshot(op), before);
    await op.client.deposit(box.id, blob());
    await assert.rejects(op.client.deposit(box.id, blob()), rejects(429));
  } finally { await op.close(); }
});

test('bad input: clear 4xx with a reason, never 5xx, store unchanged', async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    await op.client.deposit(box.id, blob());
    const before = await snapshot(op);
    const key = box.key.privateKey;
    const fresh = () => signAuth(key, 'fetch', box.id);
    const cases: [string, string, unknown, number, RegExp?][] = [
      ['POST', `/mailboxes/${box.id}/deposit`, '{"blob": "abc"', 400, /malformed JSON/],
      ['POST', `/mailboxes/${box.id}/deposit`, { blob: 42 }, 400, /blob/],
      ['POST', `/mailboxes/${box.id}/deposit`, { blob: b64(randomBytes(1000)) }, 400, /padded/],
      ['POST', `/mailboxes/${box.id}/deposit`, { blob: b64(randomBytes(BLOB_SIZES[0]!)), from: 'alice' }, 400],
      ['POST', `/mailboxes/${box.id}/deposit`, [1, 2, 3], 400],
      ['POST', `/mailboxes/${box.id}/deposit`, 'null', 400],
      ['POST', `/mailboxes/${box.id}/deposit`, { blob: 'A'.repeat(200_000) }, 413, /too large/],
      ['POST', `/mailboxes/not-an-id/deposit`, { blob: b64(blob()) }, 400, /mailbox id/],
      ['POST', `/mailboxes/${b64(randomBytes(16))}/deposit`, { blob: b64(blob()) }, 404],
      ['POST', `/mailboxes/${box.id}/fetch`, { auth: { ...fresh(), sig: b64(randomBytes(120)) } }, 401, /signature/],
      ['POST', `/mailboxes/${box.id}/fetch`, { auth: signAuth(key, 'fetch', box.id, '', Date.now() - 3_600_000) }, 403, /stale/],
      ['POST', `/mailboxes/${box.id}/fetch`, { auth: signAuth(key, 'ack', box.id) }, 401],
      ['POST', `/mailboxes/${box.id}/ack`, { ids: ['000000000001'], auth: signAuth(key, 'ack', box.id, '000000000002') }, 401],
      ['POST', `/mailboxes/${box.id}/ack`, { ids: 'all', auth: fresh() }, 400],
      ['POST', `/mailboxes/${box.id}/delete`, { auth: signAuth(new KeyPair().privateKey, 'delete-mailbox', box.id) }, 401],
      ['POST', '/mailboxes', { id: box.id, key: b64(box.key.publicKey), pow: await solveWork(mailboxPowPrefix(box.id, b64(box.key.publicKey)), 4), auth: signAuth(key, 'create-mailbox', box.id, b64(box.key.publicKey)) }, 409],
      ['POST', '/names', { record: {}, sig: 'x', pow: '1' }, 400],
      ['GET', '/names/a', undefined, 400, /name/],
      ['GET', '/names/..%2F..%2Fetc', undefined, 400],
      ['PUT', '/names/nobody', { record: { v: 1 } }, 400],
      ['POST', '/names/nobody/delete', { auth: fresh() }, 404],
      ['GET', '/nothing', undefined, 404],
    ];
    for (const [method, path, body, status, reason] of cases) {
      const r = await raw(op.url, method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)} → ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body?.error, 'string', 'error has a reason');
      if (reason) assert.match(r.body!.error as string, reason);
    }
    const wrongType = await raw(op.url, 'POST', `/mailboxes/${box.id}/deposit`, 'blob=abc', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(wrongType.status, 400);
    assert.deepEqual(await snapshot(op), before, 'refused requests changed the store');

    // a replayed fetch: the first succeeds, the identical second is refused
    const auth = fresh();
    assert.equal((await raw(op.url, 'POST', `/mailboxes/${box.id}/fetch`, { auth })).status, 200);
    const afterFirst = await snapshot(op);
    const replay = await raw(op.url, 'POST', `/mailboxes/${box.id}/fetch`, { auth });
    assert.equal(replay.status, 403);
    assert.match(replay.body!.error as string, /replayed/);
    assert.deepEqual(await snapshot(op), afterFirst);
  } finally { await op.close(); }
});

test('logs carry counts only: no mailbox ids, names, keys or sizes', async () => {
  const lines: string[] = [];
  const op = await startTestOperator({ log: (l) => lines.push(l), logMs: 30 });
  try {
    const carol = komrade('carol_logs');
    await carol.register(op.client);
    await op.client.deposit(carol.intro, blob(), { intro: true });
    await raw(op.url, 'POST', `/mailboxes/${carol.intro}/deposit`, { blob: 'bad' });
    await op.client.lookup('carol_logs');
    // the counters of each 30 ms go out in one line: summed over the lines, however a busy machine splits them
    const total = (what: string) => lines.reduce((n, l) => n + Number(new RegExp(`\\b${what} (\\d+)`).exec(l)?.[1] ?? 0), 0);
    for (let i = 0; i < 100 && !(total('deposit') && total('refused')); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([total('deposit'), total('refused')], [1, 1], `counters logged: ${lines.join(' | ')}`);
    const all = lines.join('\n');
    for (const secret of [carol.intro, 'carol', b64(carol.identity.publicKey).slice(0, 20), String(BLOB_SIZES[0]), '127.0.0.1']) {
      assert.ok(!all.includes(secret), `log mentions ${secret}`);
    }
  } finally { await op.close(); }
});
