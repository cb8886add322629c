// Storage guarantees on a real LevelDB: acknowledged ciphertext leaves the disk after
// compaction, and data survives a restart.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { komrade, startTestOperator } from './testing.ts';

before(() => loadThemis());

/** True if any file in the LevelDB directory contains `needle`. */
function onDisk(dir: string, needle: Uint8Array): boolean {
  return readdirSync(dir).some((f) => Buffer.from(readFileSync(join(dir, f))).indexOf(Buffer.from(needle)) >= 0);
}

test('an acknowledged blob leaves the disk once compacted', async () => {
  const op = await startTestOperator();
  try {
    const id = b64(randomBytes(16)), key = new KeyPair();
    await op.client.createMailbox(id, key);
    const kept = randomBytes(BLOB_SIZES[0]!), gone = randomBytes(BLOB_SIZES[0]!);
    await op.client.deposit(id, gone);
    await op.client.deposit(id, kept);
    await op.store.compact(true); // flush both to table files
    assert.ok(onDisk(op.dataDir, gone.subarray(100, 164)), 'precondition: the blob is on disk');
    const { blobs } = await op.client.fetchBlobs(id, key.privateKey);
    await op.client.ack(id, key.privateKey, [blobs[0]!.id]);
    assert.ok(onDisk(op.dataDir, gone.subarray(100, 164)), 'a delete alone is only a tombstone');
    assert.equal(await op.store.compact(), true, 'a delete schedules compaction');
    assert.ok(!onDisk(op.dataDir, gone.subarray(100, 164)), 'after compaction the ciphertext is gone');
    assert.ok(onDisk(op.dataDir, kept.subarray(100, 164)), 'the unacknowledged blob is still there');
    assert.equal(await op.store.compact(), false, 'nothing deleted since: no compaction');
  } finally { await op.close(); }
});

// A registered name, a mailbox and its pending blob are all still there after the Operator
// closes and reopens the same data directory.
test('names, mailboxes and blobs survive a restart', async () => {
  const first = await startTestOperator();
  const id = b64(randomBytes(16)), key = new KeyPair(), data = randomBytes(BLOB_SIZES[1]!);
  const alice = komrade('Alice');
  const signed = await alice.register(first.client);
  assert.deepEqual(await first.client.lookup('alice'), signed, 'precondition: the name is registered');
  await first.client.createMailbox(id, key);
  await first.client.deposit(id, data);
  await first.close();
  const second = await startTestOperator({ dataDir: first.dataDir });
  try {
    assert.deepEqual(await second.client.lookup('alice'), signed, 'the name survives');
    const { blobs } = await second.client.fetchBlobs(id, key.privateKey);
    assert.deepEqual(blobs.map((b) => b.blob), [data]);
  } finally { await second.close(); }
});
