/**
 * The Operator vs its storage engine (issue "Proof under fire"): deposit → fetch → ack cycles
 * over HTTP on loopback at 1, 10 and 100 concurrent clients, against one writer doing the same
 * records as synced LevelDB batches one at a time in this process. The Operator runs as its own
 * process (as deployed); group commit lets concurrent requests share one fsync.
 *
 * The same records include the spent nonces (PROTOCOL.md §4): fetch and ack are signed, and
 * the Operator must check each nonce and fsync it before it answers, so a cycle is three
 * synced batches for both sides — deposit; fetch's nonce; ack's nonce with its deletes. The
 * former baseline left the nonces out (two batches a cycle, no nonce reads); it is still
 * measured and shown, without a goal.
 *
 * No goals here: on 2 cores the load and the Operator share the CPU, so a closed loop's
 * throughput and p99 say more about the clients than the Operator (issue "A lean Operator"
 * dropped them). The Operator's own cost is `npm run bench -- cost` (bench/cost.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Level } from 'level';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient } from '../protocol/client.ts';
import { KeyPair } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { spawnOperator } from '../test/support/operator.ts';
import { percentile, ratio, row, section } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BLOB = BLOB_SIZES[0]!;

/** One writer, synced LevelDB batches one at a time: the same records a cycle writes and deletes (with its two spent nonces unless `nonces` is false); cycles/s and this process's CPU ms per cycle. */
export async function levelBaseline(nonces = true, seconds = SECONDS): Promise<{ perSecond: number; cpuMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-bench-level-'));
  const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
  await db.open();
  const blobs = db.sublevel<string, Uint8Array>('b', { valueEncoding: 'view' }), meta = db.sublevel<string, unknown>('m', { valueEncoding: 'json' }), x = db.sublevel<string, string>('x', { valueEncoding: 'utf8' });
  const spent = db.sublevel<string, number>('r', { valueEncoding: 'json' });
  /** A signed request's nonce: checked unseen, then put (in `ops`' batch, or alone). */
  const nonce = async (ops: unknown[]) => {
    if (!nonces) return;
    const n = b64(randomBytes(16));
    if ((await spent.get(n)) !== undefined) throw new Error('nonce seen');
    ops.push({ type: 'put', key: n, value: Date.now() + 300_000, sublevel: spent });
  };
  const id = b64(randomBytes(16)), data = randomBytes(BLOB + 4);
  let cycles = 0, seq = 0;
  const end = performance.now() + seconds * 1000, cpu0 = process.cpuUsage();
  while (performance.now() < end) {
    seq++;
    const k = `${id}!${seq.toString(16).padStart(12, '0')}`;
    await db.batch([{ type: 'put', key: k, value: data, sublevel: blobs }, { type: 'put', key: `00000001!${k}`, value: '', sublevel: x }, { type: 'put', key: id, value: { seq, count: 1 }, sublevel: meta }] as never, { sync: true });
    await meta.get(id);
    const fetchOps: unknown[] = [];
    await nonce(fetchOps);
    if (fetchOps.length) await db.batch(fetchOps as never, { sync: true });
    for await (const _ of blobs.iterator({ gt: `${id}!`, lt: `${id}!~`, limit: 51 })) { /* read */ }
    const ackOps: unknown[] = [];
    await nonce(ackOps);
    await db.batch([...ackOps, { type: 'del', key: k, sublevel: blobs }, { type: 'del', key: `00000001!${k}`, sublevel: x }, { type: 'put', key: id, value: { seq, count: 0 }, sublevel: meta }] as never, { sync: true });
    cycles++;
  }
  const cpu = process.cpuUsage(cpu0);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return { perSecond: cycles / seconds, cpuMs: (cpu.user + cpu.system) / 1000 / cycles };
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function cpuMs(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch { return undefined; }
}

/** One deposit → fetch → ack of `blob` on a komrade's own mailbox: the 3 requests every Operator load here repeats. */
export async function mailCycle(client: OperatorClient, id: string, key: KeyPair, blob: Uint8Array): Promise<void> {
  await client.deposit(id, blob);
  const { blobs } = await client.fetchBlobs(id, key.privateKey);
  await client.ack(id, key.privateKey, blobs.map((b) => b.id));
}

/** `clients` concurrent komrades, each cycling deposit → fetch → ack on its own mailbox for SECONDS. */
async function operatorLoad(url: string, clients: number, pid: number) {
  const latencies: number[] = [];
  let cycles = 0, errors = 0;
  const end = performance.now() + SECONDS * 1000;
  const cpu0 = cpuMs(pid), own0 = process.cpuUsage();
  await Promise.all(Array.from({ length: clients }, async () => {
    const client = new OperatorClient(url, 30_000), id = b64(randomBytes(16)), key = new KeyPair(), blob = randomBytes(BLOB);
    await client.createMailbox(id, key);
    const timed = async <T>(p: () => Promise<T>) => { const s = performance.now(); const r = await p(); latencies.push(performance.now() - s); return r; };
    while (performance.now() < end) {
      try {
        await timed(() => client.deposit(id, blob));
        const { blobs } = await timed(() => client.fetchBlobs(id, key.privateKey));
        await timed(() => client.ack(id, key.privateKey, blobs.map((b) => b.id)));
        cycles++;
      } catch { errors++; }
    }
  }));
  const cpu1 = cpuMs(pid), own = process.cpuUsage(own0);
  return {
    perSecond: cycles / SECONDS, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors,
    operatorCpu: cpu0 !== undefined && cpu1 !== undefined && cycles ? (cpu1 - cpu0) / cycles : undefined,
    clientCpu: cycles ? (own.user + own.system) / 1000 / cycles : undefined,
  };
}

/** Run the section. */
export async function benchOperator(): Promise<void> {
  section(`Operator vs LevelDB: deposit → fetch → ack cycles, ${SECONDS} s each`);
  const level = (await levelBaseline()).perSecond;
  row('LevelDB alone: one writer, the same records with the spent nonces, 3 synced batches a cycle, cycles/s', level, 'cycles/s');
  const former = (await levelBaseline(false)).perSecond;
  row('LevelDB alone, former baseline without the nonces (2 synced batches a cycle), cycles/s', former, 'cycles/s');
  const data = mkdtempSync(join(tmpdir(), 'komrade-bench-op-'));
  const op = spawnOperator(['--port', '0', '--data', data, '--tor', 'off', '--mailbox-pow-bits', '0', '--log-minutes', '0', '--max-blobs', '500']);
  try {
    const url = await op.url;
    for (const clients of [1, 10, 100]) {
      const r = await operatorLoad(url, clients, op.child.pid!);
      row(`Operator over HTTP, ${clients} concurrent client${clients > 1 ? 's' : ''}: cycles/s`, r.perSecond, 'cycles/s');
      row(`  request latency p50 at ${clients}`, r.p50, 'ms');
      row(`  request latency p99 at ${clients}`, r.p99, 'ms');
      // a closed loop: each client waits for its answer, so mean latency = clients ÷ requests per second (Little's law)
      if (clients > 1) row(`  queueing floor at ${clients}: clients ÷ requests/s (Little's law; the mean cannot be lower)`, (1000 * clients) / (3 * r.perSecond), 'ms');
      if (r.errors) row(`  errors at ${clients}`, r.errors, 'errors');
      // both processes share this machine's cores: what each spends on one cycle
      if (r.operatorCpu !== undefined) row(`  Operator process CPU per cycle at ${clients} (3 requests)`, r.operatorCpu, 'ms');
      if (r.clientCpu !== undefined) row(`  the clients' CPU per cycle at ${clients} (this process: signing, HTTP)`, r.clientCpu, 'ms');
      ratio(`  durable throughput ÷ LevelDB one writer, at ${clients}`, { name: 'Operator', value: r.perSecond, unit: 'cycles/s' }, { name: 'LevelDB', value: level, unit: 'cycles/s' });
      if (clients === 100) ratio(`  durable throughput ÷ the former baseline (no nonces), at ${clients}`, { name: 'Operator', value: r.perSecond, unit: 'cycles/s' }, { name: 'LevelDB without nonces', value: former, unit: 'cycles/s' });
    }
  } finally {
    op.child.kill('SIGTERM'); await op.exited;
    rmSync(data, { recursive: true, force: true });
  }
}
