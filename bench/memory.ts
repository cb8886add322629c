/**
 * Memory that levels off (issue #15 §5): the Operator (its own process) under a steady moderate
 * load — the endurance cycle, deposit → fetch → ack, by 50 clients each starting one cycle a
 * second (about 150 requests/s, a quarter of `cost`'s capacity) — for BENCH_MEMORY_MINUTES (10), its resident memory (VmRSS) sampled each minute; the
 * ratio max ÷ min over the last five minutes (goal ≤ 1.10); then the memory after a sweep
 * (the Operator sweeps every minute here: we wait for the next one after the load stops).
 * Where it goes: each minute a probe preloaded into the Operator (memory-probe.cjs) runs a full
 * collection and prints V8's heap before and after it. What the Operator keeps is flat (about
 * 32 MiB of heap); the swing was garbage — short-lived request objects promoted into the old
 * generation and collected only when it had grown about threefold — hence the young generation
 * the Operator now runs with (OPERATOR_NODE_FLAGS in test/support/operator.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient } from '../protocol/client.ts';
import { KeyPair } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { spawnOperator } from '../test/support/operator.ts';
import { row, section } from './lib.ts';
import { mailCycle } from './operator.ts';

const MINUTES = Number(process.env.BENCH_MEMORY_MINUTES ?? 10);
const CLIENTS = 50;

const PROBE = new URL('./memory-probe.cjs', import.meta.url).pathname;
const MiB = (bytes: number) => bytes / 2 ** 20;
type Usage = Record<'rss' | 'heapTotal' | 'heapUsed' | 'external' | 'arrayBuffers', number>;

/** Ask the Operator's probe for its memory before and after a full garbage collection. */
async function probe(op: { child: { kill(s: NodeJS.Signals): boolean }; out: () => string }): Promise<{ before: Usage; after: Usage }> {
  const seen = (op.out().match(/memory-probe /g) ?? []).length;
  op.child.kill('SIGUSR2');
  for (let i = 0; i < 200; i++) {
    const lines = [...op.out().matchAll(/memory-probe (\{.*\})\n/g)];
    if (lines.length > seen) return JSON.parse(lines.at(-1)![1]!) as { before: Usage; after: Usage };
    await sleep(50);
  }
  throw new Error('the memory probe did not answer');
}

/** Resident memory of a process in MiB (Linux /proc). */
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** Run the section. */
export async function benchMemory(): Promise<void> {
  section(`Memory: ${CLIENTS} clients, one deposit → fetch → ack cycle a second each, for ${MINUTES} min`);
  const data = mkdtempSync(join(tmpdir(), 'komrade-bench-memory-'));
  const op = spawnOperator(['--port', '0', '--data', data, '--tor', 'off', '--mailbox-pow-bits', '0', '--log-minutes', '0', '--sweep-minutes', '1'], ['--expose-gc', '--require', PROBE]);
  try {
    const url = await op.url, pid = op.child.pid!;
    const clients = [];
    for (let i = 0; i < CLIENTS; i++) {
      const c = { client: new OperatorClient(url, 120_000), id: b64(randomBytes(16)), key: new KeyPair() };
      await c.client.createMailbox(c.id, c.key);
      clients.push(c);
    }
    row(`Operator memory after ${CLIENTS} mailboxes made`, rssMiB(pid), 'MiB');
    const start = performance.now(), end = start + MINUTES * 60_000, blob = randomBytes(BLOB_SIZES[0]!);
    let served = 0, errors = 0;
    const load = Promise.all(clients.map(async ({ client, id, key }, i) => {
      await sleep((i * 1000) / CLIENTS); // spread the clients over the second
      while (performance.now() < end) {
        const next = performance.now() + 1000;
        try {
          await mailCycle(client, id, key, blob);
          served += 3;
        } catch { errors++; }
        await sleep(Math.max(0, next - performance.now()));
      }
    }));
    const samples: number[] = [], kept: Usage[] = [];
    for (let m = 1; m <= MINUTES; m++) {
      await sleep(Math.max(0, start + m * 60_000 - performance.now()));
      samples.push(rssMiB(pid));
      const { before, after } = await probe(op);
      kept.push(after);
      row(`Operator memory at minute ${m}`, samples.at(-1)!, 'MiB');
      console.log(`    V8 heap used ${MiB(before.heapUsed).toFixed(1)} → ${MiB(after.heapUsed).toFixed(1)} MiB by a full GC (heap reserved ${MiB(before.heapTotal).toFixed(1)} → ${MiB(after.heapTotal).toFixed(1)}); RSS after it ${MiB(after.rss).toFixed(1)} MiB; outside the heap (RSS − heap reserved) ${MiB(after.rss - after.heapTotal).toFixed(1)} MiB; external ${MiB(after.external).toFixed(1)} MiB`);
    }
    await load;
    row('requests served', served, 'requests');
    if (errors) row('errors', errors, 'errors');
    const last = samples.slice(-5), r = Math.max(...last) / Math.min(...last);
    row(`memory max ÷ min over the last ${last.length} minutes`, r, '×', { text: '≤ 1.10', met: r <= 1.1 });
    // where it goes: what the Operator keeps (V8's heap after a full collection) against what it holds
    const keptLast = kept.slice(-5);
    row(`V8 heap kept after a full GC, last ${keptLast.length} minutes (min)`, Math.min(...keptLast.map((u) => MiB(u.heapUsed))), 'MiB');
    row(`V8 heap kept after a full GC, max ÷ min over the last ${keptLast.length} minutes`, Math.max(...keptLast.map((u) => u.heapUsed)) / Math.min(...keptLast.map((u) => u.heapUsed)), '×');
    row(`  outside V8's heap after it (LevelDB, Themis' wasm memory, code, allocator), last minute`, MiB(kept.at(-1)!.rss - kept.at(-1)!.heapTotal), 'MiB');
    // wait for the next minute's sweep (expire + compact) to be logged, at most 70 s
    const sweeps = () => (op.out().match(/sweep:/g) ?? []).length, before = sweeps(), until = performance.now() + 70_000;
    while (sweeps() === before && performance.now() < until) await sleep(500);
    row(`Operator memory after a sweep${sweeps() === before ? ' (none logged within 70 s: memory 70 s after the load)' : ''}`, rssMiB(pid), 'MiB');
  } finally {
    op.child.kill('SIGTERM'); await op.exited;
    rmSync(data, { recursive: true, force: true });
  }
}
