/**
 * What a curious Operator can see, for tests: with `HiddenServiceExportCircuitID haproxy` tor
 * starts every connection to the service with a PROXY protocol line naming the circuit it came
 * in on (`PROXY TCP6 fc00:dead:beef:4dad::<id> ::1 <port> 80`). This tap stands between tor
 * and the Operator: it strips that line, passes the rest through, and records the HTTP request
 * paths seen on each circuit.
 */
import net from 'node:net';
import { requestPathReader } from '../e2e/linkage.ts';

const HEADER = /^PROXY TCP6 fc00:dead:beef:4dad::([0-9a-f:]+) /;

/** A running tap. */
export interface CircuitTap {
  port: number;
  /** Circuit id → the request paths seen on it (`no-header` for a connection without one). */
  byCircuit: Map<string, string[]>;
  /** How many connections the tap made to the Operator. */
  forwarded: () => number;
  close(): Promise<void>;
}

/** Listen on a free loopback port and forward to 127.0.0.1:`target`; `onConnection` sees each incoming socket. */
export function startCircuitTap(target: number, onConnection?: (s: net.Socket) => void): Promise<CircuitTap> {
  const byCircuit = new Map<string, string[]>();
  let forwarded = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((c) => {
    onConnection?.(c);
    sockets.add(c); c.on('close', () => sockets.delete(c)); c.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const first = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const eol = head.indexOf('\r\n');
      if (eol < 0 && head.length < 120) return;
      c.off('data', first);
      c.pause(); // hold what follows until the Operator connection is up
      const m = HEADER.exec(head.subarray(0, Math.max(eol, 0)).toString('latin1'));
      const circuit = m ? m[1]! : 'no-header';
      const paths = byCircuit.get(circuit) ?? [];
      byCircuit.set(circuit, paths);
      const read = requestPathReader();
      const record = (b: Buffer) => paths.push(...read(b));
      const rest = m ? head.subarray(eol + 2) : head;
      forwarded++;
      const up = net.connect(target, '127.0.0.1', () => {
        record(rest); up.write(rest);
        c.on('data', (b) => { record(b); up.write(b); });
        c.resume();
        up.pipe(c);
      });
      sockets.add(up); up.on('close', () => { sockets.delete(up); c.end(); }); up.on('error', () => c.destroy());
      c.on('end', () => up.end());
    };
    c.on('data', first);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    port: (srv.address() as net.AddressInfo).port, byCircuit, forwarded: () => forwarded,
    close: () => new Promise<void>((r) => { sockets.forEach((s) => s.destroy()); srv.close(() => r()); }),
  })));
}
