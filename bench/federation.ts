/**
 * Komrades across Operators (`npm run bench -- federation`, PROTOCOL.md §11): a send to a
 * komrade of another Operator against one to a komrade of the same Operator, in the same run
 * (goal: ≤ 1.1×). Two real Operators over loopback; alice on A writes to bob on A and to dan on
 * B, both already contacts with pairwise mailboxes; the sends are taken in turns.
 *
 * Then each Operator's CPU per request in a network of three Operators against one Operator alone
 * at the same load (goal: ≤ 1.1×): an open loop of pre-signed deposits and fetches at a fixed rate,
 * as bench/cost.ts sends it, spread evenly over three Operator processes, and a third of it on one
 * Operator alone, in alternating rounds; each Operator's CPU is read from /proc as bench/cost.ts
 * reads it (BENCH_FED_RATE sets the total rate, 400 requests/s by default). A row for scale, with
 * no goal, puts the whole load on one Operator: an Operator's CPU per request falls as its own
 * load grows (more requests share each wake-up and synced batch), so three Operators sharing one
 * load each spend more per request than one with all of it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient } from '../protocol/client.ts';
import { signAuth } from '../protocol/identity.ts';
import { KeyPair } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { spawnOperator, startTestOperator } from '../test/support/operator.ts';
import { account, introduce } from '../test/support/addon.ts';
import { cpuMs } from './operator.ts';
import { interleavedMedians, ratio, row, section } from './lib.ts';

const SAMPLES = 60;

/** Run the section. */
export async function benchFederation(): Promise<void> {
  section('Across Operators: a send to a komrade of another Operator vs of the same one');
  const A = await startTestOperator(), B = await startTestOperator();
  try {
    const alice = await account(A.url, 'alice'), bob = await account(A.url, 'bob'), dan = await account(B.url, 'dan');
    const danAt = `dan@${B.url.replace('http://', '')}`, aliceAt = `alice@${A.url.replace('http://', '')}`;
    await introduce(alice, bob, { from: 'alice', to: 'bob' });
    await introduce(alice, dan, { from: aliceAt, to: danAt });
    // both answer once, so alice writes to their pairwise mailboxes (not their intros) from now on
    await bob.k.send({ name: 'alice', text: 'hi' });
    await dan.k.send({ name: aliceAt, text: 'hi' });
    await alice.k.poll();
    const [same, other] = await interleavedMedians(SAMPLES, [
      { fn: () => alice.k.send({ name: 'bob', text: 'one more message' }) },
      { fn: () => alice.k.send({ name: danAt, text: 'one more message' }) },
    ]);
    ratio('federation: send to another Operator\'s komrade ÷ to the same Operator\'s', { name: 'other Operator', value: other!, unit: 'ms' }, { name: 'same Operator', value: same!, unit: 'ms' }, { max: 1.1 });
  } finally { await A.close(); await B.close(); }
  await benchFederationCpu();
}

const RATE = Number(process.env.BENCH_FED_RATE ?? 400), ROUND_SECONDS = 5, ROUNDS = 2, BOXES = 600;
const OP_ARGS = ['--port', '0', '--tor', 'off', '--mailbox-pow-bits', '0', '--log-minutes', '0', '--max-blobs', '500'];
const LOAD_CHILD = new URL('./load-child.ts', import.meta.url).pathname;

/** An Operator process for the CPU rows, with its own data directory, its mailboxes made and its CPU and requests counted over the rounds. */
async function operatorProcess(boxes: number) {
  const data = mkdtempSync(join(tmpdir(), 'komrade-bench-fed-'));
  const op = spawnOperator(['--data', data, ...OP_ARGS]);
  const url = await op.url, client = new OperatorClient(url, 30_000), made: { id: string; key: KeyPair }[] = [];
  for (let i = 0; i < boxes; i++) { const m = { id: b64(randomBytes(16)), key: new KeyPair() }; await client.createMailbox(m.id, m.key); made.push(m); }
  return { url, pid: op.child.pid!, made, cpu: 0, requests: 0, stop: async () => { op.child.kill('SIGTERM'); await op.exited; rmSync(data, { recursive: true, force: true }); } };
}
type Proc = Awaited<ReturnType<typeof operatorProcess>>;

/** `n` pre-signed requests for `p`: deposit and fetch in turns over its mailboxes (as bench/cost.ts's open loop). */
function presigned(p: Proc, n: number) {
  const blob = JSON.stringify({ blob: b64(randomBytes(BLOB_SIZES[0]!)) });
  return Array.from({ length: n }, (_, i) => {
    const m = p.made[Math.floor(i / 2) % p.made.length]!, path = `/v2/mailboxes/${encodeURIComponent(m.id)}`;
    return i % 2 === 0 ? { path: `${path}/deposit`, body: blob } : { path: `${path}/fetch`, body: JSON.stringify({ auth: signAuth(m.key.privateKey, 'fetch', m.id) }) };
  });
}

/** One round: RATE requests/s in all for ROUND_SECONDS, split evenly over `procs`, each sent by its own load process (bench/load-child.ts) at a fixed rate; adds each Operator's CPU and answered requests. */
async function round(procs: Proc[], total = RATE) {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-bench-fedload-')), rate = total / procs.length;
  try {
    const files = procs.map((p, k) => { const f = join(dir, `job${k}.json`); writeFileSync(f, JSON.stringify({ url: p.url, rate, requests: presigned(p, Math.round(rate * ROUND_SECONDS)) })); return f; });
    const cpu0 = procs.map((p) => cpuMs(p.pid)!);
    const runs = await Promise.all(files.map((f) => new Promise<{ latencies: number[]; errors: number }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', LOAD_CHILD, f], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d) => { out += d; });
      child.on('exit', () => resolve(JSON.parse(out || '{"latencies":[],"errors":0}')));
    })));
    procs.forEach((p, i) => { p.cpu += cpuMs(p.pid)! - cpu0[i]!; p.requests += runs[i]!.latencies.length; });
    const errors = runs.reduce((s, r) => s + r.errors, 0);
    if (errors) throw new Error(`${errors} requests failed`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

/**
 * Each Operator's CPU per request with three Operators ÷ with one: the same total load (an open
 * loop of RATE requests/s, deposit and fetch in turns) on one Operator process, then spread
 * evenly over three, in alternating rounds; CPU from /proc, per request answered.
 */
export async function benchFederationCpu(): Promise<void> {
  section(`Across Operators: each Operator's CPU per request, ${RATE} requests/s on 1 Operator vs spread over 3`);
  const one = [await operatorProcess(BOXES)], three = [await operatorProcess(BOXES / 3), await operatorProcess(BOXES / 3), await operatorProcess(BOXES / 3)];
  const slow = [await operatorProcess(BOXES / 3)]; // one Operator alone at a third of the load: what each of the three serves
  try {
    // warm-up, not counted: each process compiles its hot paths once (JIT), which one process at RATE amortises 3× as fast
    await round(one); await round(three); await round(slow, RATE / 3);
    for (const p of [...one, ...three, ...slow]) { p.cpu = 0; p.requests = 0; }
    for (let i = 0; i < ROUNDS; i++) { await round(one); await round(three); await round(slow, RATE / 3); }
    const perRequest = (p: Proc) => p.cpu / p.requests;
    three.forEach((p, i) => row(`federation: Operator ${'ABC'[i]} of 3, CPU per request (a third of the load each)`, perRequest(p), 'ms'));
    row('federation: one Operator, CPU per request (the whole load)', perRequest(one[0]!), 'ms');
    const worst = Math.max(...three.map(perRequest));
    // the goal: an Operator in a network of three costs what it costs alone at the same load (running more Operators adds no work to each)
    ratio('federation: each Operator\'s CPU per request in a network of 3 ÷ alone, at the same load each (the most of the three)', { name: `3 Operators at ${Math.round(RATE / 3)} req/s each, the most`, value: worst, unit: 'ms' }, { name: `1 Operator alone at ${Math.round(RATE / 3)} req/s`, value: perRequest(slow[0]!), unit: 'ms' }, { max: 1.1 });
    // for scale, no goal: splitting one Operator's load over three costs more per request, as any Operator's CPU per request falls as its own load grows (more requests share each wake-up and synced batch)
    ratio('  federation: 3 Operators sharing one load ÷ 1 Operator with all of it, CPU per request (the most of the three)', { name: `3 Operators at ${Math.round(RATE / 3)} req/s each, the most`, value: worst, unit: 'ms' }, { name: `1 Operator at ${RATE} req/s`, value: perRequest(one[0]!), unit: 'ms' });
  } finally { for (const p of [...one, ...three, ...slow]) await p.stop(); }
}
