// Crash safety (PROTOCOL.md §6): the Operator is killed with SIGKILL in the middle of mixed
// deposit / fetch / ack load, 20 times over one data directory. Every deposit that was
// acknowledged (201) is still there afterwards unless its owner acknowledged it, and no blob is
// ever served after its ack was answered.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient } from '../protocol/client.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { spawnOperator } from '../test/support/operator.ts';

before(() => loadThemis());

const CYCLES = Number(process.env.CRASH_CYCLES ?? 20); // the fast tier runs fewer (scripts/tests.sh)
const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test(`kill -9 during mixed load, ${CYCLES} cycles: no acknowledged deposit lost, no blob served after its ack`, { timeout: 600_000 }, async () => {
  const data = mkdtempSync(join(tmpdir(), 'komrade-crash-'));
  const args = ['--port', '0', '--data', data, '--tor', 'off', '--mailbox-pow-bits', '0', '--log-minutes', '0'];
  const boxes = Array.from({ length: 4 }, () => ({ id: b64(randomBytes(16)), key: new KeyPair() }));
  const stored = new Set<string>();  // deposits the Operator acknowledged (201)
  const removed = new Set<string>(); // blobs whose ack the Operator answered
  const ackSent = new Set<string>(); // blobs for which an ack was sent (it may have committed unanswered)
  let deposits = 0, acks = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const op = spawnOperator(args);
    const client = new OperatorClient(await op.url, 5_000);
    if (cycle === 0) for (const b of boxes) await client.createMailbox(b.id, b.key);
    // after the restart: nothing acknowledged is lost, nothing acked comes back
    for (const b of boxes) {
      const { blobs } = await client.fetchBlobs(b.id, b.key.privateKey);
      for (const x of blobs) assert.ok(!removed.has(digest(x.blob)), `cycle ${cycle}: a blob was served after its ack`);
    }
    let stop = false;
    const depositor = (async () => {
      while (!stop) {
        const b = boxes[Math.floor(Math.random() * boxes.length)]!, blob = randomBytes(BLOB_SIZES[0]!);
        try { await client.deposit(b.id, blob); stored.add(digest(blob)); deposits++; } catch { return; }
      }
    })();
    const reader = (async () => {
      while (!stop) {
        for (const b of boxes) {
          try {
            const { blobs } = await client.fetchBlobs(b.id, b.key.privateKey);
            for (const x of blobs) assert.ok(!removed.has(digest(x.blob)), 'served after its ack');
            if (!blobs.length) continue;
            const take = blobs.slice(0, Math.max(1, blobs.length >> 1));
            for (const x of take) ackSent.add(digest(x.blob));
            await client.ack(b.id, b.key.privateKey, take.map((x) => x.id));
            for (const x of take) removed.add(digest(x.blob));
            acks++;
          } catch (e) { if ((e as Error).name === 'AssertionError') throw e; return; }
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
    op.child.kill('SIGKILL');
    stop = true;
    await Promise.all([depositor, reader, op.exited]);
  }
  // the final check: every acknowledged deposit is either still held or was acknowledged by its owner
  const op = spawnOperator(args);
  try {
    const client = new OperatorClient(await op.url);
    const held = new Set<string>();
    for (const b of boxes) {
      for (;;) {
        const { blobs } = await client.fetchBlobs(b.id, b.key.privateKey);
        const fresh = blobs.filter((x) => !held.has(digest(x.blob)));
        for (const x of blobs) { assert.ok(!removed.has(digest(x.blob)), 'served after its ack'); held.add(digest(x.blob)); }
        if (!fresh.length) break;
        await client.ack(b.id, b.key.privateKey, blobs.map((x) => x.id));
      }
    }
    const lost = [...stored].filter((d) => !held.has(d) && !ackSent.has(d));
    console.log(`# crash: ${CYCLES} kills, ${deposits} acknowledged deposits, ${acks} acks, ${lost.length} lost`);
    assert.ok(deposits > CYCLES, 'the load really ran');
    assert.deepEqual(lost, [], 'no acknowledged deposit was lost');
  } finally { op.child.kill('SIGTERM'); await op.exited; }
});
