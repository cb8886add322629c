/**
 * Forgetting (PROTOCOL.md §6.1): a sweep that rewrites the live store, with 10^5 blobs pending
 * in 1,000 mailboxes, after 10^4 of them were acknowledged (filled without fsync), and how long
 * a deposit waits meanwhile. The default sweep interval is chosen from these figures.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { Store } from '../operator/store/index.ts';
import { filesUnder } from '../test/support/operator.ts';
import { ratio, row, section } from './lib.ts';

/** Run the section. */
export async function benchForgetting(): Promise<void> {
  section('Forgetting');
  const dir = mkdtempSync(join(tmpdir(), 'komrade-bench-'));
  const store = await Store.open(dir, { ttlMs: 14 * 86_400_000, maxBlobsPerMailbox: 500, maxBytesPerMailbox: 16 << 20, now: Date.now, sync: false });
  const boxes = Array.from({ length: 1000 }, () => b64(randomBytes(16)));
  const t0 = performance.now();
  const payload = randomBytes(1130 * 64);
  await Promise.all(Array.from({ length: 8 }, async (_, lane) => {
    for (const id of boxes.filter((_, i) => i % 8 === lane)) {
      await store.mailboxes.create(id, b64(randomBytes(45)));
      for (let i = 0; i < 100; i++) await store.mailboxes.deposit(id, payload.subarray((i % 64) * 1130, (i % 64 + 1) * 1130));
    }
  }));
  const fillMs = performance.now() - t0;
  for (const id of boxes.slice(0, 100)) {
    const { blobs } = await store.mailboxes.fetch(id, 100);
    await store.mailboxes.ack(id, blobs.map((b) => b.id));
  }
  const bytes = () => filesUnder(dir).reduce((n, f) => n + statSync(f).size, 0);
  const before = bytes();
  const t1 = performance.now();
  await store.sweep();
  const sweepMs = performance.now() - t1;
  // deposits keep going during the rewrite: how long does the longest one wait?
  const probe = b64(randomBytes(16));
  await store.mailboxes.create(probe, b64(randomBytes(45)));
  let rewriting = true, worst = 0, probes = 0;
  const prober = (async () => {
    while (rewriting) {
      const s0 = performance.now();
      await store.lock.run(probe, () => store.mailboxes.deposit(probe, randomBytes(1130)));
      worst = Math.max(worst, performance.now() - s0); probes++;
      if (probes % 400 === 0) { const { blobs } = await store.mailboxes.fetch(probe, 500); await store.mailboxes.ack(probe, blobs.map((b) => b.id)); }
    }
  })();
  const t2 = performance.now();
  await store.compact();
  const rewriteMs = performance.now() - t2;
  rewriting = false; await prober;
  row('forgetting: sweep with 10^5 pending blobs (1,000 mailboxes)', sweepMs, 'ms');
  row('forgetting: rewrite of the live store (9×10^4 blobs, ~100 MB) after 10^4 acks', rewriteMs, 'ms');
  ratio('  rewrite ÷ filling the same store in bulk (no fsync)', { name: 'rewrite', value: rewriteMs, unit: 'ms' }, { name: 'fill', value: fillMs, unit: 'ms' });
  row(`  longest deposit wait during the rewrite (${probes} deposits meanwhile)`, worst, 'ms');
  row('  data dir before the rewrite', before / 1e6, 'MB');
  row('  data dir after the rewrite', bytes() / 1e6, 'MB');
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
