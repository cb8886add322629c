// Storage guarantees on a real LevelDB: data survives a restart. (Forgetting: forget.test.ts.)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { komrade, startTestOperator } from '../test/support/operator.ts';

before(() => loadThemis());

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
