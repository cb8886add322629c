// Held fetches (PROTOCOL.md §5.4) on a real Operator and LevelDB: a deposit answers a held
// fetch, a wait ends empty, one hold per mailbox, the global cap, a client that leaves frees
// its hold, bad waits are refused changing nothing, the wait is signed, shutdown ends holds.
// Held log reads: held-log.test.ts.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient, OperatorError } from '../protocol/client.ts';
import { signAuth } from '../protocol/identity.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES, fetchPayload, LIMITS } from '../protocol/wire.ts';
import { raw, snapshot, startTestOperator } from '../test/support/operator.ts';
import { until as poll } from '../test/support/until.ts';

before(() => loadThemis());

const blob = () => randomBytes(BLOB_SIZES[0]!);
async function newMailbox(client: OperatorClient) {
  const id = b64(randomBytes(16)), key = new KeyPair();
  await client.createMailbox(id, key);
  return { id, key };
}
/** Poll (never one fixed wait) until `cond` holds: 2,000 × 10 ms. */
const until = (cond: () => boolean, what: string) => poll(cond, what, 2000);
/** A promise with its settled state visible. */
function watch<T>(p: Promise<T>) {
  const w = { done: false, value: undefined as T | undefined, error: undefined as unknown };
  const settled = p.then((v) => { w.value = v; }, (e) => { w.error = e; }).finally(() => { w.done = true; });
  return Object.assign(w, { settled });
}

test('a held fetch of an empty mailbox (the add-on\'s default wait, minutes) is answered by the next deposit, with that blob (the test times out at 20 s)', { timeout: 20_000 }, async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    const held = watch(op.client.fetchBlobs(box.id, box.key.privateKey, { wait: LIMITS.holdSeconds }));
    await until(() => op.holds.size === 1, 'the fetch is held');
    assert.equal(held.done, false, 'nothing was answered before the deposit');
    const sent = blob();
    await op.client.deposit(box.id, sent);
    await held.settled;
    assert.deepEqual(held.value!.blobs.map((b) => b.blob), [sent]);
    assert.equal(op.holds.size, 0);
    // a fetch with a wait and something there answers at once, as a normal fetch
    assert.equal((await op.client.fetchBlobs(box.id, box.key.privateKey, { wait: 25 })).blobs.length, 1);
    assert.equal(op.holds.size, 0);
  } finally { await op.close(); }
});

test('a wait that ends with nothing arrived answers empty, as a normal fetch', async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    const held = watch(op.client.fetchBlobs(box.id, box.key.privateKey, { wait: 1 }));
    await until(() => op.holds.size === 1, 'the fetch is held');
    await held.settled;
    assert.deepEqual(held.value, { blobs: [], more: false });
    assert.equal(op.holds.size, 0);
  } finally { await op.close(); }
});

test('one held fetch per mailbox: a second ends the first with its empty answer and takes the deposit', { timeout: 20_000 }, async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client), other = await newMailbox(op.client);
    const first = watch(op.client.fetchBlobs(box.id, box.key.privateKey, { wait: 25 }));
    const elsewhere = watch(op.client.fetchBlobs(other.id, other.key.privateKey, { wait: 25 }));
    await until(() => op.holds.size === 2, 'both held');
    const second = watch(op.client.fetchBlobs(box.id, box.key.privateKey, { wait: 25 }));
    await first.settled;
    assert.deepEqual(first.value, { blobs: [], more: false }, 'the first ends empty');
    await until(() => op.holds.size === 2, 'the second holds; the other mailbox still does');
    assert.equal(elsewhere.done, false);
    const sent = blob();
    await op.client.deposit(box.id, sent);
    await second.settled;
    assert.deepEqual(second.value!.blobs.map((b) => b.blob), [sent]);
    await op.client.deposit(other.id, blob());
    await elsewhere.settled;
    assert.equal(elsewhere.value!.blobs.length, 1);
  } finally { await op.close(); }
});

test('above the cap a fetch with a wait is answered at once, as without one', async () => {
  const op = await startTestOperator({ maxHolds: 2 });
  try {
    const boxes = await Promise.all([1, 2, 3].map(() => newMailbox(op.client)));
    const held = boxes.slice(0, 2).map((b) => watch(op.client.fetchBlobs(b.id, b.key.privateKey, { wait: 25 })));
    await until(() => op.holds.size === 2, 'two held');
    assert.deepEqual(await op.client.fetchBlobs(boxes[2]!.id, boxes[2]!.key.privateKey, { wait: 25 }), { blobs: [], more: false });
    assert.equal(op.holds.size, 2);
    assert.ok(held.every((h) => !h.done), 'the held ones still hold');
  } finally { await op.close(); }
});

test('a client that disconnects frees its hold at once', async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    for (let round = 0; round < 3; round++) {
      const left = new AbortController();
      const held = watch(op.client.fetchBlobs(box.id, box.key.privateKey, { wait: 25, signal: left.signal }));
      await until(() => op.holds.size === 1, 'held');
      left.abort();
      await held.settled;
      assert.ok(held.error instanceof OperatorError && held.error.status === 0, 'the client gave up');
      await until(() => op.holds.size === 0, 'the Operator let go of the hold');
    }
    // nothing was lost: a deposit now waits for the next fetch
    await op.client.deposit(box.id, blob());
    assert.equal((await op.client.fetchBlobs(box.id, box.key.privateKey)).blobs.length, 1);
  } finally { await op.close(); }
});

test('bad waits are refused with 400 JSON and change nothing; the wait is signed; a held fetch cannot be replayed', async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    await op.client.deposit(box.id, blob());
    const path = `/mailboxes/${box.id}/fetch`;
    for (const wait of [-1, LIMITS.maxWaitSeconds + 1, 1.5, '5', null, 1e9]) {
      const before = await snapshot(op);
      const r = await raw(op.url, 'POST', path, { auth: signAuth(box.key.privateKey, 'fetch', box.id, `wait=${wait}`), wait });
      assert.equal(r.status, 400, `wait ${JSON.stringify(wait)}`);
      assert.match(String(r.body?.error), /^wait/);
      assert.deepEqual(await snapshot(op), before, 'a refusal changes nothing');
    }
    // a wait other than the one signed, or a wait added to a fetch signed without one: bad signature
    for (const [signed, sent] of [[fetchPayload(1), 25], [fetchPayload(), 25], [fetchPayload(25), undefined]] as const) {
      const before = await snapshot(op);
      const r = await raw(op.url, 'POST', path, { auth: signAuth(box.key.privateKey, 'fetch', box.id, signed), wait: sent });
      assert.equal(r.status, 401);
      assert.deepEqual(await snapshot(op), before, 'a refusal changes nothing');
    }
    const auth = signAuth(box.key.privateKey, 'fetch', box.id, fetchPayload(0));
    assert.equal((await raw(op.url, 'POST', path, { auth, wait: 0 })).status, 200);
    assert.equal((await raw(op.url, 'POST', path, { auth, wait: 0 })).status, 403, 'replayed');
  } finally { await op.close(); }
});

test('a replayed held fetch is refused even while the first is held', async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    const body = { auth: signAuth(box.key.privateKey, 'fetch', box.id, fetchPayload(25)), wait: 25 };
    const first = watch(raw(op.url, 'POST', `/mailboxes/${box.id}/fetch`, body));
    await until(() => op.holds.size === 1, 'held');
    const again = await raw(op.url, 'POST', `/mailboxes/${box.id}/fetch`, body);
    assert.equal(again.status, 403);
    assert.equal(again.body?.error, 'replayed request');
    assert.equal(first.done, false, 'the replay did not end the hold');
  } finally { await op.close(); }
});

test('shutdown ends every hold at once', { timeout: 20_000 }, async () => {
  const op = await startTestOperator();
  const boxes = await Promise.all([1, 2, 3].map(() => newMailbox(op.client)));
  const held = boxes.map((b) => watch(op.client.fetchBlobs(b.id, b.key.privateKey, { wait: 25 })));
  await until(() => op.holds.size === 3, 'held');
  await op.close();
  await Promise.all(held.map((h) => h.settled));
  assert.equal(op.holds.size, 0);
  // a hold asked after the shutdown began is not kept
  assert.equal(await op.holds.hold('mailbox:x', 25_000, new AbortController().signal, true), 'closing');
});
