/**
 * Endurance: 1,000 concurrent clients against one Operator (its own process) for 60 s
 * (BENCH_ENDURANCE_SECONDS), each cycling deposit → fetch → ack on its own mailbox: requests
 * served, errors (must be 0), and the Operator's resident memory at the start and the end.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient, OperatorError } from '../protocol/client.ts';
import { KeyPair } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { spawnOperator } from '../test/support/operator.ts';
import { percentile, row, section } from './lib.ts';
import { mailCycle } from './operator.ts';

const SECONDS = Number(process.env.BENCH_ENDURANCE_SECONDS ?? 60);
const CLIENTS = 1000;

/** Resident memory of a process in MiB (Linux /proc). */
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** Run the section. */
export async function benchEndurance(): Promise<void> {
  section(`Endurance: ${CLIENTS} concurrent clients for ${SECONDS} s`);
  const data = mkdtempSync(join(tmpdir(), 'komrade-bench-endure-'));
  const op = spawnOperator(['--port', '0', '--data', data, '--tor', 'off', '--mailbox-pow-bits', '0', '--log-minutes', '0']);
  try {
    const url = await op.url;
    const pid = op.child.pid!;
    const clients = [];
    for (let i = 0; i < CLIENTS; i++) {
      const c = { client: new OperatorClient(url, 120_000), id: b64(randomBytes(16)), key: new KeyPair() };
      await c.client.createMailbox(c.id, c.key);
      clients.push(c);
    }
    const startRss = rssMiB(pid);
    let served = 0, errors = 0;
    const kinds = new Map<string, number>();
    const latencies: number[] = [];
    const end = performance.now() + SECONDS * 1000;
    const blob = randomBytes(BLOB_SIZES[0]!);
    await Promise.all(clients.map(async ({ client, id, key }) => {
      while (performance.now() < end) {
        try {
          const s = performance.now();
          await mailCycle(client, id, key, blob);
          latencies.push(performance.now() - s);
          served += 3;
        } catch (e) { errors++; const k = e instanceof OperatorError ? `${e.status} ${e.reason}` : `${String((e as Error).message ?? e).slice(0, 60)} (${String(((e as Error).cause as { code?: string; message?: string } | undefined)?.code ?? ((e as Error).cause as Error | undefined)?.message)})`; kinds.set(k, (kinds.get(k) ?? 0) + 1); }
      }
    }));
    row('requests served', served, 'requests');
    row('requests per second', served / SECONDS, 'req/s');
    row('errors', errors, 'errors', { text: '0', met: errors === 0 });
    for (const [k, n] of kinds) console.log(`    ${n} × ${k}`);
    row('cycle latency p50 (deposit+fetch+ack)', percentile(latencies, 50), 'ms');
    row('cycle latency p99', percentile(latencies, 99), 'ms');
    row('Operator memory at the start (1,000 mailboxes made)', startRss, 'MiB');
    row('Operator memory at the end', rssMiB(pid), 'MiB');
  } finally {
    op.child.kill('SIGTERM'); await op.exited;
    rmSync(data, { recursive: true, force: true });
  }
}
