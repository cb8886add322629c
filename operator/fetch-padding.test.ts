// Fetch responses padded to fixed sizes (PROTOCOL.md §5.4, protocol/padding.ts FETCH_BUCKETS): an empty mailbox and one
// holding a short message answer with bodies of the same length; three short messages with the next size; the client reads the blobs as before.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { signAuth } from '../protocol/identity.ts';
import { FETCH_BUCKETS } from '../protocol/padding.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES, fetchPayload } from '../protocol/wire.ts';
import { startTestOperator } from '../test/support/operator.ts';

before(() => loadThemis());

test('a fetch answers with a body padded to its bucket: 0 and 1 short blobs alike, 3 in the next', { timeout: 60_000 }, async () => {
  const op = await startTestOperator();
  try {
    const id = b64(randomBytes(16)), key = new KeyPair();
    await op.client.createMailbox(id, key);
    /** The raw fetch: the body's length in bytes on the wire, and what the client makes of it. */
    const fetchRaw = async () => {
      const res = await fetch(`${op.url}/v2/mailboxes/${id}/fetch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth: signAuth(key.privateKey, 'fetch', id) }) });
      const text = await res.text();
      assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text));
      return { length: Buffer.byteLength(text), blobs: (JSON.parse(text) as { blobs: unknown[] }).blobs.length };
    };
    assert.deepEqual(await fetchRaw(), { length: FETCH_BUCKETS[0], blobs: 0 });
    const blob = randomBytes(BLOB_SIZES[0]!);
    await op.client.deposit(id, blob);
    assert.deepEqual(await fetchRaw(), { length: FETCH_BUCKETS[0], blobs: 1 }, 'one short message looks like none');
    await op.client.deposit(id, randomBytes(BLOB_SIZES[0]!));
    await op.client.deposit(id, randomBytes(BLOB_SIZES[0]!));
    assert.deepEqual(await fetchRaw(), { length: FETCH_BUCKETS[1], blobs: 3 });
    const got = await op.client.fetchBlobs(id, key.privateKey);
    assert.deepEqual(got.blobs[0]!.blob, blob, 'the client reads the blobs as before');
  } finally { await op.close(); }
});

test('a held fetch answered by a deposit is padded like any fetch; one that runs out empty is not (its end tells that already)', { timeout: 60_000 }, async () => {
  const op = await startTestOperator();
  try {
    const id = b64(randomBytes(16)), key = new KeyPair();
    await op.client.createMailbox(id, key);
    const held = async (wait: number) => {
      const res = await fetch(`${op.url}/v2/mailboxes/${id}/fetch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth: signAuth(key.privateKey, 'fetch', id, fetchPayload(wait)), wait }) });
      const text = await res.text();
      return { length: Buffer.byteLength(text), blobs: (JSON.parse(text) as { blobs: unknown[] }).blobs.length };
    };
    const ranOut = await held(1);
    assert.equal(ranOut.blobs, 0);
    assert.ok(ranOut.length < 100, `an empty held answer is bare JSON (${ranOut.length} B)`);
    const waiting = held(20);
    for (let i = 0; i < 2000 && op.holds.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await op.client.deposit(id, randomBytes(BLOB_SIZES[0]!));
    assert.deepEqual(await waiting, { length: FETCH_BUCKETS[0], blobs: 1 }, 'the answer with the blob is padded');
  } finally { await op.close(); }
});
