/**
 * Runs an Operator: opens the store, serves the API on a loopback address, sweeps expired
 * mail and compacts on a schedule, and logs counts (never who, what or how big).
 */
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import { loadThemis } from '../protocol/themis.ts';
import { shutdownCurve } from '../protocol/vouch.ts';
import { createApp, type AppConfig, type Counters } from './app.ts';
import { answerFramingErrors } from './framing.ts';
import { Holds, MAX_HOLDS } from './holds.ts';
import { forgetCurve } from './routes/shared.ts';
import { Store } from './store/index.ts';

/** Everything an Operator needs to run. */
export interface OperatorOptions extends AppConfig {
  dataDir: string;
  host: string;
  port: number;
  allowPublicBind: boolean;
  sweepMs: number;
  /** All pending blob bytes together, at most (0 = no limit). */
  maxStoreBytes?: number;
  /** Held reads open at once, at most (§5.4; default MAX_HOLDS); above it a read is answered at once. */
  maxHolds?: number;
  /** Log a line of counters this often (ms); 0 = never. */
  logMs: number;
  now?: () => number;
  log?: (line: string) => void;
}

/** A running Operator. */
export interface RunningOperator { url: string; port: number; server: Server; store: Store; counters: Counters; holds: Holds; sweep(): Promise<void>; close(): Promise<void> }

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/** Start an Operator; refuses a non-loopback bind unless explicitly allowed. */
export async function startOperator(o: OperatorOptions): Promise<RunningOperator> {
  if (!isLoopback(o.host) && !o.allowPublicBind) {
    throw new Error(`refusing to bind ${o.host}: the Operator is meant to be reached only through tor; pass --allow-public-bind to override`);
  }
  const log = o.log ?? ((line: string) => console.log(line));
  await loadThemis();
  const store = await Store.open(o.dataDir, { ttlMs: o.ttlMs, maxBlobsPerMailbox: o.maxBlobsPerMailbox, maxBytesPerMailbox: o.maxBytesPerMailbox, maxStoreBytes: o.maxStoreBytes, now: o.now ?? Date.now });
  const counters: Counters = {};
  const holds = new Holds(o.maxHolds ?? MAX_HOLDS);
  const app = createApp(store, o, counters, holds);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(o.port, o.host, () => resolve(s)).on('error', reject);
  });
  answerFramingErrors(server);
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  // an idle keep-alive connection is closed by its client first: with Node's 5 s, a busy client
  // (1,000 at once in \`npm run bench -- endurance\`) sent requests on sockets the server was just
  // closing ("other side closed"). tor itself opens a connection per stream.
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as { port: number }).port;

  async function sweep() {
    const r = await store.sweep();
    const rewritten = await store.compact();
    if (r.blobs || r.mailboxes || rewritten) log(`sweep: expired ${r.blobs} blobs, ${r.mailboxes} idle mailboxes${rewritten ? '; deleted data rewritten off the disk' : ''}`);
  }
  let sweeping = Promise.resolve();
  const sweepTimer = setInterval(() => { sweeping = sweeping.then(sweep).catch(() => log('sweep failed')); }, o.sweepMs);
  const logTimer = o.logMs > 0 ? setInterval(() => {
    const parts = Object.entries(counters).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
    if (parts.length) log(`requests: ${parts.join(', ')}`);
    for (const k of Object.keys(counters)) counters[k] = 0;
  }, o.logMs) : undefined;
  sweepTimer.unref(); logTimer?.unref();

  const host = o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`, port, server, store, counters, holds,
    sweep: () => (sweeping = sweeping.then(sweep)),
    async close() {
      clearInterval(sweepTimer); if (logTimer) clearInterval(logTimer);
      holds.closeAll(); // held reads end now, answered with what they had
      await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
      await sweeping.catch(() => undefined);
      await store.close();
      // the proof verifier's curve (built at the first vouch) would otherwise keep Node running
      forgetCurve();
      await shutdownCurve();
    },
  };
}
