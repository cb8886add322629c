/**
 * Test support (not part of the Operator): a lying Operator for the key-transparency tests
 * (PROTOCOL.md §5.11). `forkedOperators` runs two real Operators that share one checkpoint key
 * and one history up to a point, then diverge (a forked log); `splitProxy` is a loopback HTTP
 * proxy that sends each request to the Operator `route` picks (e.g. alice's look-ups and log
 * reads to the fork, everything else to the honest one); `forgeLeaf` enters a key under a name
 * in a real Operator's log, as an Operator that wants to show that key to someone would.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningOperator } from '../../operator/server.ts';
import { startTestOperator } from './operator.ts';

type Op = Awaited<ReturnType<typeof startTestOperator>>;

/** Two Operators with one key and one history so far: `honest` goes on, `fork` is a copy that diverges from now on. */
export async function forkedOperators(honest: Op): Promise<{ honest: Op; fork: Op }> {
  const dataDir = honest.dataDir;
  await honest.close();
  const copy = mkdtempSync(join(tmpdir(), 'komrade-fork-'));
  cpSync(dataDir, copy, { recursive: true });
  return { honest: await startTestOperator({ dataDir }), fork: await startTestOperator({ dataDir: copy }) };
}

/** A proxy that forwards each request to the URL `route(method, path)` returns; `url` is where it listens. */
export async function splitProxy(route: (method: string, path: string) => string) {
  const server = createServer((req, res) => {
    const target = new URL(route(req.method ?? 'GET', req.url ?? '/'));
    const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
      res.writeHead(r.statusCode!, r.headers); r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

type Core = { gate: { shared<T>(f: () => Promise<T>): Promise<T> }; write(ops: unknown[]): Promise<void> };
type Tables = { openings: { put(k: string, v: unknown): unknown }; indexes: { del(k: string): unknown } };

/**
 * Enter `key` under `name` in the Operator's log but list that leaf opaque (as a deleted name's)
 * to everyone reading the entries, keeping `name`'s own opening served as before: the leaf an
 * Operator would open only in the look-ups it answers to its victim (§5.11.6).
 */
export async function forgeOpaqueLeaf(op: RunningOperator, name: string, key: string): Promise<number> {
  const core = (op.store as unknown as { core: Core }).core, log = op.store.log, t = log as unknown as Tables;
  return core.gate.shared(async () => {
    const real = (await log.live(name))!, at = log.head.size;
    await log.append(name, key, (ops) => core.write([...ops, t.openings.put(name, real), t.indexes.del(at.toString(16).padStart(12, '0'))]));
    return at;
  });
}

/** Enter `key` under `name` in the Operator's log (a leaf the Operator opens to anyone who reads the log). */
export async function forgeLeaf(op: RunningOperator, name: string, key: string): Promise<void> {
  const core = (op.store as unknown as { core: { gate: { shared<T>(f: () => Promise<T>): Promise<T> }; write(ops: unknown[]): Promise<void> } }).core;
  await core.gate.shared(() => op.store.log.append(name, key, (ops) => core.write(ops)));
}
