/**
 * Live arrivals (issue #19 item 2; PROTOCOL.md §5.4, COLLECTIVES.md §10): with held reads open
 * (the add-on core's `Live`, in Node, on loopback, a real Operator), how long a message, an
 * admission, a newcomer's group key and a join request (at a member's) take to arrive with no poll and no "Check now"; then the
 * Operator (a process of its own, bench/live-operator.ts) with 10,000 held fetches kept open by
 * a separate process (bench/live-load.ts): its memory (RSS and heap) and CPU per second.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { shutdownCurve } from '../protocol/vouch.ts';
import { LIMITS } from '../protocol/wire.ts';
import { MAX_HOLDS } from '../operator/holds.ts';
import { Live } from '../extension/background/live.ts';
import { account, introduce } from '../test/support/addon.ts';
import { startTestOperator } from '../test/support/operator.ts';
import { percentile, row, section } from './lib.ts';

const HOLDS = Number(process.env.BENCH_LIVE_HOLDS ?? 10_000);
type Dev = Awaited<ReturnType<typeof account>>;

/** Milliseconds until `cond` holds (checked every 10 ms), from `t0`. */
async function until(t0: number, cond: () => Promise<boolean>, limitMs = 60_000): Promise<number> {
  while (!(await cond())) { if (performance.now() - t0 > limitMs) return Infinity; await sleep(10); }
  return performance.now() - t0;
}
const living: Live[] = [];
/** `d`'s held reads (always on, popup or not), in their steady state (no start spread: that is for a browser start), and wait until every one runs. */
async function popup(d: Dev, targets: number): Promise<Live> {
  const live = new Live(d.k, { startMs: 0 });
  living.push(live);
  live.start();
  await until(performance.now(), async () => live.running >= targets);
  return live;
}

async function arrivals(): Promise<void> {
  const op = await startTestOperator();
  op.server.keepAliveTimeout = 10 * 60_000; // proofs block this process for seconds (as in the core tests)
  try {
    const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob');
    await introduce(alice, bob, { from: 'alice', to: 'bob' });
    await popup(bob, 2);
    const message: number[] = [];
    for (let i = 0; i < 10; i++) {
      const text = `live ${i}`, t0 = performance.now();
      await alice.k.send({ name: 'bob', text });
      message.push(await until(t0, async () => (await bob.k.thread({ name: 'alice' })).messages.some((m) => m.text === text)));
      await sleep(200);
    }
    row('live: a message\'s arrival in an open popup (send → filed, no poll), median of 10', percentile(message, 50), 'ms', { text: '≤ 2,000 ms', met: percentile(message, 50) <= 2000 });

    await alice.k.createCollective({ name: 'livecoop', description: '', rule: 'one' });
    await popup(alice, 3);
    const admission: number[] = [], key: number[] = [];
    for (const name of ['carol', 'dave', 'erin']) {
      const d = await account(op.url, name);
      await d.k.askToJoin({ name: 'livecoop' });
      await popup(d, 2);
      const r = await alice.k.vouch({ collective: 'livecoop', name });
      if (!r.admitted) throw new Error('not admitted');
      const t0 = performance.now();
      const mine = async () => (await d.k.collectives()).find((c) => c.name.toLowerCase() === 'livecoop');
      admission.push(await until(t0, async () => (await mine())?.myStatus === 'member'));
      key.push(await until(t0, async () => (await mine())?.hasKey === true));
    }
    row('live: an admission seen by the candidate\'s open popup (deciding vouch → member), median of 3', percentile(admission, 50), 'ms', { text: '≤ 5,000 ms', met: percentile(admission, 50) <= 5000 });
    row('live: a newcomer\'s group key in their open popup (deciding vouch → key held), median of 3', percentile(key, 50), 'ms', { text: '≤ 10,000 ms', met: percentile(key, 50) <= 10_000 });

    // a join request in a member's open popup (a held requests read, requests-live.ts): the row's count, with no poll
    const asked: number[] = [];
    for (const name of ['fred', 'gina', 'hal']) {
      const d = await account(op.url, name);
      const before = (await alice.k.collectives()).find((c) => c.name.toLowerCase() === 'livecoop')?.requests ?? 0;
      const t0 = performance.now();
      await d.k.askToJoin({ name: 'livecoop' });
      asked.push(await until(t0, async () => ((await alice.k.collectives()).find((c) => c.name.toLowerCase() === 'livecoop')?.requests ?? 0) > before));
    }
    row('live: a join request seen by a member\'s open popup (ask → counted on the row, no poll), median of 3', percentile(asked, 50), 'ms', { text: '≤ 5,000 ms', met: percentile(asked, 50) <= 5000 });
  } finally {
    for (const l of living) l.stop();
    await op.close();
    await shutdownCurve();
  }
}

/** The next IPC message of `type` from `child`. */
const next = <T>(child: ChildProcess, type: string) => new Promise<T>((resolve) => {
  const on = (m: { type: string }) => { if (m.type === type) { child.off('message', on); resolve(m as T); } };
  child.on('message', on);
});
type Stats = { rss: number; heapUsed: number; cpuMicros: number; holds: number };

async function holds(): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'komrade-bench-live-'));
  const tsx = { execArgv: ['--import', 'tsx'] };
  const opChild = fork(new URL('./live-operator.ts', import.meta.url).pathname, [data], tsx);
  let load: ChildProcess | undefined;
  try {
    const { url } = await next<{ url: string }>(opChild, 'ready');
    const stats = () => { const p = next<Stats>(opChild, 'stats'); opChild.send({ type: 'stats' }); return p; };
    load = fork(new URL('./live-load.ts', import.meta.url).pathname, [url, String(HOLDS)], tsx);
    await next(load, 'made');
    await sleep(2000);
    const base = await stats();
    load.send({ type: 'go' });
    const t0 = performance.now();
    let s = base;
    while (s.holds < HOLDS && performance.now() - t0 < 120_000) { await sleep(250); s = await stats(); }
    row(`live: held fetches open at the Operator (of ${HOLDS.toLocaleString('en')} asked)`, s.holds, 'holds');
    await sleep(5000);
    const a = await stats(), ta = performance.now();
    await sleep(20_000);
    const b = await stats(), tb = performance.now();
    const mib = (x: number) => x / 2 ** 20;
    row(`live: Operator RSS with ${HOLDS.toLocaleString('en')} held fetches (renewed as they end)`, mib(b.rss), 'MiB');
    row(`live: Operator heap used with ${HOLDS.toLocaleString('en')} held fetches`, mib(b.heapUsed), 'MiB');
    row('live: Operator RSS per held fetch (vs the same mailboxes, none held)', (b.rss - base.rss) / 1024 / HOLDS, 'KiB');
    row('live: Operator heap per held fetch (vs none held)', (b.heapUsed - base.heapUsed) / 1024 / HOLDS, 'KiB');
    // each komrade keeps 25 reads held all the time (22 mailboxes, 3 collectives; PROTOCOL.md §1): held connections are the Operator's limit
    const perKomrade = 25 * ((b.rss - base.rss) / HOLDS);
    row('live: komrades per GiB of Operator memory, by their held reads alone (25 each: 20 contacts, 3 collectives)', 2 ** 30 / perKomrade, 'komrades');
    row(`live: komrades whose held reads fit under the Operator's default cap (${MAX_HOLDS.toLocaleString('en')} held reads)`, MAX_HOLDS / 25, 'komrades');
    row(`live: Operator CPU with ${HOLDS.toLocaleString('en')} held fetches of ${LIMITS.holdSeconds} s (asked together: none renewed in the window), per second`, (b.cpuMicros - a.cpuMicros) / 1000 / ((tb - ta) / 1000), 'ms/s');
  } finally {
    load?.send({ type: 'stop' });
    opChild.send({ type: 'close' });
    await Promise.race([next(opChild, 'closed'), sleep(10_000)]);
    opChild.kill(); load?.kill();
    rmSync(data, { recursive: true, force: true });
  }
}

/** Run the section. */
export async function benchLive(): Promise<void> {
  section('Live: held reads, always open (issues #18, #19 item 2)');
  await arrivals();
  await holds();
}
