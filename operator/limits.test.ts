// Abuse limits and error shapes (PROTOCOL.md §5): look-alike names, proof of work for mailboxes
// and intro deposits, the Operator's storage budget, wrong methods, oversized chunked bodies.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorError } from '../protocol/client.ts';
import { checkWork, depositPowPrefix, mailboxPowPrefix, signAuth, solveWork } from '../protocol/identity.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { komrade, raw, snapshot, startTestOperator } from '../test/support/operator.ts';

before(() => loadThemis());

const rejects = (status: number, reason?: RegExp) => (e: unknown) =>
  e instanceof OperatorError && e.status === status && (!reason || reason.test(e.reason));

test('a name whose confusable skeleton equals an existing one is refused: 409 too similar', async () => {
  const op = await startTestOperator();
  try {
    await komrade('alice').register(op.client);
    const before = await snapshot(op);
    for (const lookalike of ['aIice', 'a1ice', 'ALICE_', '_alice']) {
      await assert.rejects(komrade(lookalike).register(op.client), rejects(409), lookalike);
    }
    await assert.rejects(komrade('aIice').register(op.client), rejects(409, /too similar/));
    // the refused registrations left only their own (ordinary) intro mailboxes behind, no name
    const names = (await snapshot(op)).filter((kv) => kv.startsWith('!n!') || kv.startsWith('!k!'));
    assert.deepEqual(names, before.filter((kv) => kv.startsWith('!n!') || kv.startsWith('!k!')));
    await komrade('alicia').register(op.client); // different enough
    // once @alice is deleted its skeleton is free again
    const rn = komrade('rnodern'); await rn.register(op.client);
    await assert.rejects(komrade('modern').register(op.client), rejects(409, /too similar/));
    await op.client.deleteName('rnodern', rn.identity.privateKey, { id: rn.intro, key: rn.mailbox.privateKey });
    await komrade('modern').register(op.client);
  } finally { await op.close(); }
});

test('creating a mailbox needs proof of work bound to its id and key', async () => {
  const op = await startTestOperator({ mailboxPowBits: 12 });
  try {
    const id = b64(randomBytes(16)), key = new KeyPair(), k = b64(key.publicKey);
    const auth = () => signAuth(key.privateKey, 'create-mailbox', id, k);
    const before = await snapshot(op);
    assert.equal((await raw(op.url, 'POST', '/mailboxes', { id, key: k, auth: auth() })).status, 400, 'no pow: malformed');
    let wrong = 0; // a counter that is not a 12-bit proof
    while (checkWork(mailboxPowPrefix(id, k), String(wrong), 12)) wrong++;
    assert.equal((await raw(op.url, 'POST', '/mailboxes', { id, key: k, pow: String(wrong), auth: auth() })).status, 403);
    // work done for another id does not transfer
    let other = ''; // work for another id that is not also valid for this one (1 in 4096 is, by chance)
    for (let i = 0; i < 5 && !other; i++) {
      const w = await solveWork(mailboxPowPrefix(b64(randomBytes(16)), k), 12);
      if (!checkWork(mailboxPowPrefix(id, k), w, 12)) other = w;
    }
    assert.ok(other, 'work done for another id is not valid for this one');
    assert.equal((await raw(op.url, 'POST', '/mailboxes', { id, key: k, pow: other, auth: auth() })).status, 403);
    assert.deepEqual(await snapshot(op), before, 'refused creations change nothing');
    await op.client.createMailbox(b64(randomBytes(16)), new KeyPair()); // the client does the work itself
  } finally { await op.close(); }
});

test('deposits into an intro mailbox need fresh work bound to the mailbox and blob; pairwise ones do not', async () => {
  const op = await startTestOperator({ depositPowBits: 10 });
  try {
    const bob = komrade('bob_intro');
    await bob.register(op.client);
    const blob = randomBytes(BLOB_SIZES[0]!);
    const before = await snapshot(op);
    const deposit = (body: unknown) => raw(op.url, 'POST', `/mailboxes/${bob.intro}/deposit`, body);
    assert.equal((await deposit({ blob: b64(blob) })).status, 403, 'no work');
    const ts = Date.now();
    const counter = await solveWork(depositPowPrefix(bob.intro, ts, blob), 10);
    const other = randomBytes(BLOB_SIZES[0]!);
    assert.equal((await deposit({ blob: b64(other), pow: { ts, counter } })).status, 403, "another blob's work");
    const old = Date.now() - 10 * 60_000;
    assert.equal((await deposit({ blob: b64(blob), pow: { ts: old, counter: await solveWork(depositPowPrefix(bob.intro, old, blob), 10) } })).status, 403, 'stale work');
    assert.deepEqual(await snapshot(op), before, 'refused deposits change nothing');
    assert.equal((await deposit({ blob: b64(blob), pow: { ts, counter } })).status, 201);
    const replay = await deposit({ blob: b64(blob), pow: { ts, counter } });
    assert.equal(replay.status, 403, 'the same work twice');
    assert.match(replay.body!.error as string, /replayed/);
    // a pairwise mailbox takes deposits without work
    const box = { id: b64(randomBytes(16)), key: new KeyPair() };
    await op.client.createMailbox(box.id, box.key);
    await op.client.deposit(box.id, blob);
  } finally { await op.close(); }
});

test('an intro deposit refused for room (429) spends nothing: its work is still good once there is room', async () => {
  const op = await startTestOperator({ depositPowBits: 6, maxBlobsPerMailbox: 1 });
  try {
    const bob = komrade('bob_full');
    await bob.register(op.client);
    const deposit = async (blob: Uint8Array, ts = Date.now()) => ({ blob: b64(blob), pow: { ts, counter: await solveWork(depositPowPrefix(bob.intro, ts, blob), 6) } });
    assert.equal((await raw(op.url, 'POST', `/mailboxes/${bob.intro}/deposit`, await deposit(randomBytes(BLOB_SIZES[0]!)))).status, 201);
    const second = await deposit(randomBytes(BLOB_SIZES[0]!));
    const before = await snapshot(op);
    const full = await raw(op.url, 'POST', `/mailboxes/${bob.intro}/deposit`, second);
    assert.equal(full.status, 429);
    assert.deepEqual(await snapshot(op), before, 'a deposit refused for room changes nothing, its work not spent either');
    const got = await op.client.fetchBlobs(bob.intro, bob.mailbox.privateKey);
    await op.client.ack(bob.intro, bob.mailbox.privateKey, got.blobs.map((x) => x.id));
    assert.equal((await raw(op.url, 'POST', `/mailboxes/${bob.intro}/deposit`, second)).status, 201, 'the same work, now that there is room');
  } finally { await op.close(); }
});

test('past --max-store-mib deposits get 507 and nothing stored is harmed', async () => {
  const op = await startTestOperator({ maxStoreBytes: 3 * BLOB_SIZES[1]! });
  try {
    const a = { id: b64(randomBytes(16)), key: new KeyPair() }, b = { id: b64(randomBytes(16)), key: new KeyPair() };
    await op.client.createMailbox(a.id, a.key); await op.client.createMailbox(b.id, b.key);
    const kept = [randomBytes(BLOB_SIZES[1]!), randomBytes(BLOB_SIZES[1]!), randomBytes(BLOB_SIZES[1]!)];
    await op.client.deposit(a.id, kept[0]!); await op.client.deposit(a.id, kept[1]!); await op.client.deposit(b.id, kept[2]!);
    const before = await snapshot(op);
    await assert.rejects(op.client.deposit(b.id, randomBytes(BLOB_SIZES[0]!)), rejects(507, /storage full/));
    assert.deepEqual(await snapshot(op), before, 'a refused deposit changes nothing');
    assert.deepEqual((await op.client.fetchBlobs(a.id, a.key.privateKey)).blobs.map((x) => x.blob), kept.slice(0, 2));
    // room again once mail is acknowledged, and after a restart the budget is counted from the store
    const got = await op.client.fetchBlobs(b.id, b.key.privateKey);
    await op.client.ack(b.id, b.key.privateKey, got.blobs.map((x) => x.id));
    await op.client.deposit(b.id, randomBytes(BLOB_SIZES[0]!));
    await op.close();
    const again = await startTestOperator({ dataDir: op.dataDir, maxStoreBytes: 3 * BLOB_SIZES[1]! });
    try {
      await assert.rejects(again.client.deposit(b.id, randomBytes(BLOB_SIZES[1]!)), rejects(507));
    } finally { await again.close(); }
  } finally { await op.close().catch(() => undefined); }
});

test('a wrong HTTP method answers 405 as JSON { error }', async () => {
  const op = await startTestOperator();
  try {
    for (const [method, path] of [['DELETE', '/names/alice'], ['GET', '/mailboxes'], ['PATCH', '/info'], ['PUT', '/mailboxes/x/fetch']] as const) {
      const res = await fetch(`${op.url}/v2${path}`, { method });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.match(res.headers.get('content-type') ?? '', /json/);
      assert.deepEqual(await res.json(), { error: 'method not allowed' });
    }
  } finally { await op.close(); }
});

test('after a 413 on a chunked body the connection is closed at once, not left hanging', async () => {
  const op = await startTestOperator();
  try {
    const { port } = op;
    const result = await new Promise<{ status: number; connection: string | undefined; closedMs: number }>((resolve, reject) => {
      const started = Date.now();
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v2/mailboxes', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', connection: 'keep-alive' } });
      req.on('response', (res) => {
        res.resume();
        res.socket.on('close', () => resolve({ status: res.statusCode!, connection: res.headers.connection, closedMs: Date.now() - started }));
      });
      req.on('error', reject);
      const chunk = '"' + 'x'.repeat(64 * 1024);
      req.write('{"id":'); for (let i = 0; i < 3; i++) req.write(chunk);
      // the client never ends the body: a kept-alive connection would now hang
    });
    assert.equal(result.status, 413);
    assert.equal(result.connection, 'close');
    assert.ok(result.closedMs < 2000, `closed after ${result.closedMs} ms`);
  } finally { await op.close(); }
});
