/**
 * The Operator's cost per request against its floor (issue #15 §5), its capacity, its latency
 * under an open loop, and komrades per core. The Operator runs as its own process (as deployed);
 * its CPU is read from /proc. The floor's parts are measured in the same run the same way: a
 * no-op Koa route in its own process under the same client load, one signature check as the
 * Operator does it (operator/verify.ts), one synced LevelDB batch of the same records
 * (bench/operator.ts `levelBaseline`). Open-loop requests are signed before the timed phase and
 * sent by two separate processes (bench/load-child.ts) at a fixed rate.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { signAuth } from '../protocol/identity.ts';
import { OperatorClient } from '../protocol/client.ts';
import { KeyPair } from '../protocol/themis.ts';
import { BLOB_SIZES, LIMITS } from '../protocol/wire.ts';
import { checkAuth } from '../operator/verify.ts';
import { FETCH_SECONDS, ratesFor } from '../extension/background/schedule.ts';
import { HOLD_GAP_MS } from '../extension/background/live.ts';
import { spawnOperator } from '../test/support/operator.ts';
import { cpuMs, levelBaseline, mailCycle } from './operator.ts';
import { percentile, ratio, row, section } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_SECONDS ?? 20);
const BLOB = BLOB_SIZES[0]!;
const OP_ARGS = ['--port', '0', '--tor', 'off', '--mailbox-pow-bits', '0', '--log-minutes', '0', '--max-blobs', '500'];

/** `clients` concurrent komrades cycling deposit → fetch → ack for `seconds`: requests/s and the Operator's CPU ms per request. */
async function cycles(url: string, pid: number, clients: number, seconds: number) {
  let requests = 0, errors = 0;
  const cpu0 = cpuMs(pid)!, end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    const client = new OperatorClient(url, 30_000), id = b64(randomBytes(16)), key = new KeyPair(), blob = randomBytes(BLOB);
    await client.createMailbox(id, key);
    while (performance.now() < end) {
      try {
        await mailCycle(client, id, key, blob);
        requests += 3;
      } catch { errors++; }
    }
  }));
  return { perSecond: requests / seconds, cpuPerRequest: (cpuMs(pid)! - cpu0) / requests, errors };
}

/** The no-op Koa route in its own process, same client shape (global fetch, `clients` concurrent, the same three bodies): its CPU ms per request. */
async function noopCost(clients: number, seconds: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./noop-server.ts', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve) => { let out = ''; child.stdout!.on('data', (d) => { out += d; const m = /listening on (\S+)/.exec(out); if (m) resolve(m[1]!); }); });
    const key = new KeyPair(), id = b64(randomBytes(16));
    const bodies = [JSON.stringify({ blob: b64(randomBytes(BLOB)) }), JSON.stringify({ auth: signAuth(key.privateKey, 'fetch', id) }), JSON.stringify({ ids: ['1'], auth: signAuth(key.privateKey, 'ack', id, '1') })];
    let requests = 0;
    const cpu0 = cpuMs(child.pid!)!, end = performance.now() + seconds * 1000;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        for (const body of bodies) {
          const res = await fetch(`${url}/noop/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await res.json(); requests++;
        }
      }
    }));
    return (cpuMs(child.pid!)! - cpu0) / requests;
  } finally { child.kill('SIGTERM'); }
}

/** One signature check as the Operator does it per signed request (a known key, OpenSSL): CPU ms each. */
function signatureCost(n = 2000): number {
  const key = new KeyPair(), pub = b64(key.publicKey), id = b64(randomBytes(16));
  const auths = Array.from({ length: n }, () => signAuth(key.privateKey, 'fetch', id));
  checkAuth(pub, signAuth(key.privateKey, 'fetch', id), 'fetch', id); // first sight: wasm-themis, then kept for OpenSSL
  const c0 = process.cpuUsage();
  for (const a of auths) if (!checkAuth(pub, a, 'fetch', id)) throw new Error('bad signature');
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / n;
}

/** Pre-signed requests for the open loop: deposit and fetch in turns over `boxes` mailboxes. */
async function presigned(url: string, n: number, boxes: number) {
  const client = new OperatorClient(url, 30_000), made: { id: string; key: KeyPair }[] = [];
  for (let i = 0; i < boxes; i++) { const m = { id: b64(randomBytes(16)), key: new KeyPair() }; await client.createMailbox(m.id, m.key); made.push(m); }
  const blob = JSON.stringify({ blob: b64(randomBytes(BLOB)) });
  return Array.from({ length: n }, (_, i) => {
    const m = made[Math.floor(i / 2) % boxes]!, path = `/v2/mailboxes/${encodeURIComponent(m.id)}`;
    return i % 2 === 0 ? { path: `${path}/deposit`, body: blob } : { path: `${path}/fetch`, body: JSON.stringify({ auth: signAuth(m.key.privateKey, 'fetch', m.id) }) };
  });
}

/** Two load processes at `rate` requests/s in all for OPEN_SECONDS: latencies from the scheduled send times. */
async function openLoop(url: string, rate: number) {
  const n = Math.round(rate * OPEN_SECONDS), reqs = await presigned(url, n, 1000), dir = mkdtempSync(join(tmpdir(), 'komrade-bench-open-'));
  try {
    const runs = [0, 1].map((k) => {
      const file = join(dir, `job${k}.json`);
      writeFileSync(file, JSON.stringify({ url, rate: rate / 2, requests: reqs.filter((_, i) => Math.floor(i / 2) % 2 === k) }));
      const child = spawn(process.execPath, ['--import', 'tsx', new URL('./load-child.ts', import.meta.url).pathname, file], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d) => { out += d; });
      return new Promise<{ latencies: number[]; errors: number }>((r) => child.on('exit', () => r(JSON.parse(out || '{"latencies":[],"errors":0}'))));
    });
    const all = await Promise.all(runs);
    return { latencies: all.flatMap((a) => a.latencies), errors: all.reduce((s, a) => s + a.errors, 0) };
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

/**
 * Requests per day of one komrade on the add-on's schedule (extension/background/schedule.ts
 * `ratesFor`, at the setting `fetchSeconds`, the default unless given): a fetch of each mailbox
 * (intro, one per contact, the loop) at its own mean gap; one deposit per slot (a message or a
 * dummy); an ack after each fetch that found something (a komrade receives about as many blobs
 * as it deposits, spread over its mailboxes: a fetch finds one with chance 1 − e^(−blobs per
 * fetch)); per collective at each read: getCollective + one log page (collective-log.ts
 * `replay`), currentEpoch (epochs.ts), currentEpoch + one cursor read (posts.ts).
 */
export function requestsPerDay(contacts: number, collectives: number, fetchSeconds: number = FETCH_SECONDS.default) {
  const r = ratesFor(fetchSeconds), day = 86_400_000, boxes = 2 + contacts;
  const fetches = (boxes * day) / r.fetchMs, deposits = day / r.slotMs;
  const acks = fetches * (1 - Math.exp(-deposits / fetches));
  const reads = (collectives * 5 * day) / r.readMs;
  return { fetches, deposits, acks, reads, total: fetches + deposits + acks + reads };
}

/**
 * Requests a day of a komrade at the default since issue #18's held reads (live.ts): one held
 * fetch per mailbox (intro, pairwise, loop) and one held log read per collective all the time,
 * each asked again after its wait (LIMITS.holdSeconds) and gap, or at once after a deposit into
 * it (an upper bound: every deposit counts as one more hold), whose ack follows; the deposit
 * slots and scheduled collective reads as `requestsPerDay`.
 */
export function heldRequestsPerDay(contacts: number, collectives: number) {
  const day = requestsPerDay(contacts, collectives), boxes = 2 + contacts, cycle = LIMITS.holdSeconds + HOLD_GAP_MS / 1000;
  const mailHolds = (boxes * 86_400) / cycle + day.deposits, logHolds = (collectives * 86_400) / cycle;
  return { ...day, mailHolds, logHolds, holds: boxes + collectives, total: mailHolds + logHolds + 2 * day.deposits + day.reads };
}

/** Run the section. */
export async function benchCost(): Promise<void> {
  section(`Operator cost per request against its floor, ${SECONDS} s per load`);
  const data = mkdtempSync(join(tmpdir(), 'komrade-bench-cost-'));
  const op = spawnOperator([...OP_ARGS, '--data', data]);
  try {
    const url = await op.url, pid = op.child.pid!;
    await cycles(url, pid, 10, 1); // warm-up
    const load = await cycles(url, pid, 10, SECONDS);
    row('Operator process CPU per request, deposit → fetch → ack at 10 clients', load.cpuPerRequest, 'ms');
    const noop = await noopCost(10, SECONDS);
    row('  floor part (a): no-op Koa route over HTTP, its process CPU per request at 10 clients', noop, 'ms');
    const sig = signatureCost();
    row('  floor part (b): one signature check (OpenSSL, known key), CPU', sig, 'ms');
    const level = await levelBaseline(true, SECONDS);
    row('  floor part (c): the same records as 3 synced LevelDB batches, CPU per cycle', level.cpuMs, 'ms');
    // a cycle is 3 requests: 3 routes, 2 signature checks (fetch, ack), 3 synced batches
    const floor = noop + (2 * sig) / 3 + level.cpuMs / 3;
    ratio('Operator CPU per request ÷ its floor (a + 2/3 b + c/3)', { name: 'Operator', value: load.cpuPerRequest, unit: 'ms' }, { name: 'floor', value: floor, unit: 'ms' }, { max: 1.5 });

    section('Capacity and latency under an open loop');
    const cap = await cycles(url, pid, 50, SECONDS);
    row('capacity: requests/s one Operator process sustains (closed loop, 50 clients, deposit/fetch/ack)', cap.perSecond, 'req/s');
    row('  Operator process CPU per request at capacity', cap.cpuPerRequest, 'ms');
    // the clients share this machine's 2 cores: what one core busy with the Operator alone would serve
    row('  capacity per core of Operator CPU: 1000 ÷ its CPU ms per request at capacity', 1000 / cap.cpuPerRequest, 'req/s');
    if (cap.errors) row('  errors at capacity', cap.errors, 'errors');
    const rate = Math.max(10, Math.round(cap.perSecond / 2));
    const open = await openLoop(url, rate);
    row(`open loop at 50 % of capacity (${rate} req/s, 2 processes, ${OPEN_SECONDS} s, pre-signed deposit/fetch): p50 from scheduled time`, percentile(open.latencies, 50), 'ms');
    row('  open loop p99 from scheduled time', percentile(open.latencies, 99), 'ms', { text: '< 25 ms', met: percentile(open.latencies, 99) < 25 });
    if (open.errors) row('  open loop errors', open.errors, 'errors');

    const contacts = 20, collectives = 3, daily = requestsPerDay(contacts, collectives), perDay = Math.round(daily.total), perSecond = daily.total / 86_400;
    const perCore = cap.perSecond / perSecond;
    console.log(`    a komrade with ${contacts} contacts and ${collectives} collectives on the default schedule (each mailbox every ${FETCH_SECONDS.default} s on average): ${Math.round(daily.fetches)} fetches + ${Math.round(daily.deposits)} deposits + ${Math.round(daily.acks)} acks + ${Math.round(daily.reads)} collective reads = ${perDay} requests/day = ${perSecond.toFixed(3)} req/s`);
    row(`  komrades per core of Operator CPU = (1000 ÷ CPU ms per request) ÷ ${perDay} req/day`, 1000 / cap.cpuPerRequest / perSecond, 'komrades');
    row(`komrades per core = capacity ÷ ${perDay} req/day (20 contacts, 3 collectives, setting off: fetch ${FETCH_SECONDS.default} s, slot ${FETCH_SECONDS.default / 10} s)`, perCore, 'komrades', undefined);
    // the default since: held reads all the time; CPU allows this many, but held connections (25 each) are the limit (bench section `live`)
    const held = heldRequestsPerDay(contacts, collectives), heldPerCore = cap.perSecond / (held.total / 86_400);
    row(`komrades per core with held reads all the time (default) = capacity ÷ ${Math.round(held.total)} req/day (20 contacts, 3 collectives, holds of ${LIMITS.holdSeconds} s)`, heldPerCore, 'komrades', { text: '≥ 10,000', met: heldPerCore >= 10_000 });
  } finally {
    op.child.kill('SIGTERM'); await op.exited;
    rmSync(data, { recursive: true, force: true });
  }
}
