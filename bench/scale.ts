/**
 * Scale: the Operator's operations with 10^3 vs 10^6 stored mailboxes (the store filled
 * directly, without fsync), as a ratio (goal ≤ 1.5); and the sweep + forgetting rewrite at
 * 10^6 mailboxes with 10^5 pending blobs, and the data directory's size per mailbox then.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient } from '../protocol/client.ts';
import { KeyPair } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { Store } from '../operator/store/index.ts';
import { filesUnder, spawnOperator } from '../test/support/operator.ts';
import { interleavedMedians, ratio, row, section } from './lib.ts';
import { mailCycle } from './operator.ts';

const BIG = Number(process.env.BENCH_MAILBOXES ?? 1_000_000);

/** Fill a data dir with `mailboxes` mailboxes, `blobs` of them holding one pending blob. */
async function fill(dir: string, mailboxes: number, blobs: number): Promise<number> {
  const store = await Store.open(dir, { ttlMs: 14 * 86_400_000, maxBlobsPerMailbox: 500, maxBytesPerMailbox: 16 << 20, now: Date.now, sync: false });
  const s = performance.now();
  const LANES = 32;
  await Promise.all(Array.from({ length: LANES }, async (_, lane) => {
    for (let i = lane; i < mailboxes; i += LANES) {
      const id = b64(randomBytes(16));
      // each key and blob its own random bytes, as real ones are (LevelDB compresses repeats)
      await store.mailboxes.create(id, b64(randomBytes(45)));
      if (i < blobs) await store.mailboxes.deposit(id, randomBytes(BLOB_SIZES[0]!));
    }
  }));
  await store.close();
  return performance.now() - s;
}

/** An Operator on `dir` and the operations to time against it. */
async function operations(dir: string) {
  const op = spawnOperator(['--port', '0', '--data', dir, '--tor', 'off', '--mailbox-pow-bits', '0', '--log-minutes', '0']);
  const client = new OperatorClient(await op.url);
  const key = new KeyPair(), id = b64(randomBytes(16)), blob = randomBytes(BLOB_SIZES[0]!);
  await client.createMailbox(id, key);
  return {
    create: { fn: () => client.createMailbox(b64(randomBytes(16)), key) },
    cycle: { fn: async () => {
      await mailCycle(client, id, key, blob);
    } },
    miss: { fn: () => client.deposit(b64(randomBytes(16)), blob).catch(() => undefined) },
    close: async () => { op.child.kill('SIGTERM'); await op.exited; },
  };
}

/** Run the section. */
export async function benchScale(): Promise<void> {
  section(`Scale: 10^3 vs ${BIG.toExponential(0)} stored mailboxes`);
  const small = mkdtempSync(join(tmpdir(), 'komrade-bench-small-')), big = mkdtempSync(join(tmpdir(), 'komrade-bench-big-'));
  try {
    await fill(small, 1000, 100);
    const fillMs = await fill(big, BIG, 100_000);
    row(`filling ${BIG} mailboxes and 10^5 blobs directly (no fsync)`, fillMs / 1000, 's');
    // both Operators run at once and are timed in turns, so the machine's other work weighs on each alike
    const ops = [await operations(small), await operations(big)];
    const m = async (k: 'create' | 'cycle' | 'miss', n: number) => interleavedMedians(n, ops.map((o) => o[k]));
    let a: { create: number; cycle: number; miss: number }, b: typeof a;
    try {
      const [create, cycle, miss] = [await m('create', 50), await m('cycle', 100), await m('miss', 100)];
      a = { create: create[0]!, cycle: cycle[0]!, miss: miss[0]! }; b = { create: create[1]!, cycle: cycle[1]!, miss: miss[1]! };
    } finally { for (const o of ops) await o.close(); }
    ratio('create a mailbox: 10^6 ÷ 10^3 stored mailboxes', { name: '10^6', value: b.create, unit: 'ms' }, { name: '10^3', value: a.create, unit: 'ms' }, { max: 1.5 });
    ratio('deposit + fetch + ack: 10^6 ÷ 10^3', { name: '10^6', value: b.cycle, unit: 'ms' }, { name: '10^3', value: a.cycle, unit: 'ms' }, { max: 1.5 });
    ratio('deposit to an unknown mailbox (404): 10^6 ÷ 10^3', { name: '10^6', value: b.miss, unit: 'ms' }, { name: '10^3', value: a.miss, unit: 'ms' }, { max: 1.5 });
    // the sweep and the forgetting rewrite at that size (something deleted, so it rewrites)
    const store = await Store.open(big, { ttlMs: 14 * 86_400_000, maxBlobsPerMailbox: 500, maxBytesPerMailbox: 16 << 20, now: Date.now });
    const s = performance.now();
    await store.sweep();
    const sweepMs = performance.now() - s;
    const r = performance.now();
    await store.compact(true);
    const rewriteMs = performance.now() - r;
    await store.close();
    row(`sweep at ${BIG} mailboxes / 10^5 pending blobs`, sweepMs / 1000, 's');
    row(`forgetting rewrite at ${BIG} mailboxes / 10^5 pending blobs`, rewriteMs / 1000, 's');
    // storage, as it rests after the rewrite: every file of the data directory (the pending blobs included)
    const bytes = filesUnder(big).reduce((sum, f) => sum + statSync(f).size, 0);
    row(`storage: data directory bytes per stored mailbox at ${BIG} mailboxes / 10^5 pending ${BLOB_SIZES[0]}-byte blobs, after the rewrite`, bytes / BIG, 'bytes');
  } finally {
    rmSync(small, { recursive: true, force: true }); rmSync(big, { recursive: true, force: true });
  }
}
