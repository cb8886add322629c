// Forgetting is physical (PROTOCOL.md §6.1): after an ack, a mailbox deletion, a name deletion
// or an expiry, at most one sweep later no byte of the deleted ciphertext, name or mailbox id
// remains in ANY file under the data directory (tables, write-ahead log, MANIFEST, LOG, LOG.old)
// — on a fresh store, on a store with history, and with a restart between delete and sweep.
// Each test searches every byte of every file, as an investigator with the disk would.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes, unb64 } from '../protocol/bytes.ts';
import type { OperatorClient } from '../protocol/client.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { findOnDisk, komrade, startTestOperator, testClock } from '../test/support/operator.ts';

before(() => loadThemis());

/** A blob of one bucket filled with a 16-byte marker repeated: any surviving fragment shows. */
function marked(size = BLOB_SIZES[0]!) {
  const marker = randomBytes(16), blob = new Uint8Array(size);
  for (let i = 0; i < size; i += 16) blob.set(marker.subarray(0, Math.min(16, size - i)), i);
  return { marker, blob };
}

async function newMailbox(client: OperatorClient) {
  const id = b64(randomBytes(16)), key = new KeyPair();
  await client.createMailbox(id, key);
  return { id, key };
}

/** Fill `n` marked blobs into a mailbox; returns their markers by label. */
async function fill(client: OperatorClient, id: string, n: number, label: string, o: { intro?: boolean } = {}) {
  const markers: Record<string, Uint8Array> = {};
  for (let i = 0; i < n; i++) {
    const { marker, blob } = marked();
    await client.deposit(id, blob, o);
    markers[`${label} blob ${i}`] = marker;
  }
  return markers;
}

/** Fetch and acknowledge everything in a mailbox. */
async function drain(client: OperatorClient, box: { id: string; key: KeyPair }) {
  for (;;) {
    const { blobs } = await client.fetchBlobs(box.id, box.key.privateKey);
    if (!blobs.length) return;
    await client.ack(box.id, box.key.privateKey, blobs.map((b) => b.id));
  }
}

test('50 acknowledged blobs leave every file of a fresh store at the next sweep', async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    const gone = await fill(op.client, box.id, 50, 'acked');
    assert.equal(findOnDisk(op.dataDir, gone).length, 50, 'precondition: every blob is on disk');
    await drain(op.client, box);
    assert.ok(findOnDisk(op.dataDir, gone).length > 0, 'an ack alone leaves the bytes (a LevelDB delete is a tombstone)');
    await op.sweep();
    assert.deepEqual(findOnDisk(op.dataDir, gone), [], 'no acknowledged blob survives the sweep');
  } finally { await op.close(); }
});

test('a store with history forgets acked blobs, a deleted mailbox and a deleted name, across a restart', async () => {
  let op = await startTestOperator();
  const dataDir = op.dataDir;
  try {
    // history: other komrades' mail, several sweeps (rewrites) and restarts
    const keep = await newMailbox(op.client);
    const kept = await fill(op.client, keep.id, 40, 'kept');
    const churn = await newMailbox(op.client);
    for (let round = 0; round < 3; round++) {
      await fill(op.client, churn.id, 30, `old ${round}`);
      await drain(op.client, churn);
      await op.sweep();
    }
    await op.close();
    op = await startTestOperator({ dataDir });

    const acked = await newMailbox(op.client);
    const ackedBlobs = await fill(op.client, acked.id, 20, 'acked');
    const doomed = await newMailbox(op.client);
    const doomedBlobs = await fill(op.client, doomed.id, 20, 'in deleted mailbox');
    const victim = komrade('forgotten_victim');
    await victim.register(op.client);
    const introBlobs = await fill(op.client, victim.intro, 5, 'in deleted intro', { intro: true });
    await op.sweep();
    assert.equal(findOnDisk(op.dataDir, { ...ackedBlobs, ...doomedBlobs, ...introBlobs }).length, 45, 'precondition: all on disk');

    await drain(op.client, acked);
    await op.client.deleteMailbox(doomed.id, doomed.key.privateKey);
    await op.client.deleteName('forgotten_victim', victim.identity.privateKey, { id: victim.intro, key: victim.mailbox.privateKey });
    // a clean restart between the deletes and the sweep
    await op.close();
    op = await startTestOperator({ dataDir });
    await op.sweep();

    const deleted = {
      ...ackedBlobs, ...doomedBlobs, ...introBlobs,
      'deleted mailbox id': doomed.id, 'deleted mailbox id (bytes)': unb64(doomed.id), 'deleted mailbox key': doomed.key.publicKey,
      'deleted name': 'forgotten_victim', 'deleted intro id': victim.intro, 'deleted identity key': b64(victim.identity.publicKey),
    };
    assert.deepEqual(findOnDisk(dataDir, deleted), [], 'nothing deleted survives one sweep');
    assert.equal(findOnDisk(dataDir, kept).length, 40, 'what was not deleted is still there');
    const { blobs } = await op.client.fetchBlobs(keep.id, keep.key.privateKey);
    assert.equal(blobs.length, 40, 'and still served');
  } finally { await op.close(); }
});

test('after a restart, the first sweep forgets what the previous process deleted', async () => {
  // the Operator is closed without its own sweep ever running (sweepMs is an hour in tests):
  // the new process does not know what was deleted, so its first sweep rewrites regardless
  const first = await startTestOperator();
  const box = await newMailbox(first.client);
  const gone = await fill(first.client, box.id, 10, 'acked');
  await drain(first.client, box);
  await first.close();
  const second = await startTestOperator({ dataDir: first.dataDir });
  try {
    assert.ok(findOnDisk(first.dataDir, gone).length > 0, 'precondition: still on disk after the restart');
    await second.sweep();
    assert.deepEqual(findOnDisk(first.dataDir, gone), []);
  } finally { await second.close(); }
});

test('expired blobs and idle mailboxes leave every file at the sweep that expires them', async () => {
  const clock = testClock();
  const op = await startTestOperator({ now: clock.now });
  try {
    const box = await newMailbox(op.client);
    const expired = await fill(op.client, box.id, 10, 'expired');
    await op.sweep();
    clock.t += 15 * 86_400_000;
    await op.sweep();
    assert.deepEqual(findOnDisk(op.dataDir, { ...expired, 'expired mailbox id': box.id }), []);
  } finally { await op.close(); }
});

test('requests go on during a rewrite: nothing acknowledged is lost, and what they delete is gone a sweep later', async () => {
  const op = await startTestOperator();
  try {
    const box = await newMailbox(op.client);
    await fill(op.client, box.id, 200, 'bulk');
    const early = await newMailbox(op.client);
    const deletedDuring = await fill(op.client, early.id, 5, 'acked during the rewrite');
    // deposits and an ack race the sweep's rewrite
    const during = Promise.all([
      fill(op.client, box.id, 30, 'deposited during the rewrite'),
      drain(op.client, early),
    ]);
    await op.sweep();
    const [added] = await during;
    assert.equal(findOnDisk(op.dataDir, added).length, 30, 'every deposit made during the rewrite is kept');
    let served = 0;
    for (;;) {
      const { blobs } = await op.client.fetchBlobs(box.id, box.key.privateKey);
      served += blobs.length;
      if (!blobs.length) break;
      await op.client.ack(box.id, box.key.privateKey, blobs.map((b) => b.id));
    }
    assert.equal(served, 230, 'and served');
    await op.sweep();
    assert.deepEqual(findOnDisk(op.dataDir, { ...deletedDuring, ...added }), [], 'gone one sweep later');
  } finally { await op.close(); }
});
