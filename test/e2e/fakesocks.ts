/**
 * A stand-in for Tor's SocksPort (this is a fake: the fast tier of the browser tests uses it
 * where real tor is not needed). SOCKS5, no auth or username/password (RFC 1929, which Tor
 * uses to isolate circuits: the username stands for the circuit here), CONNECT only:
 * `<onion>:80` goes to the Operator on loopback; every other destination is refused, as Tor
 * refuses internal addresses. Every connection is logged, with its username and the HTTP
 * request lines sent over it, so tests can assert what the browser tried to reach and what
 * an Operator that sees circuits could link.
 */
import net from 'node:net';
import { requestPathReader } from './linkage.ts';

/** A running SOCKS stand-in. */
export interface FakeSocks {
  port: number;
  log: { host: string; port: number; routed: boolean; user?: string; requests: string[] }[];
  /** SOCKS username (which stands for a Tor circuit) → the request paths sent with it. */
  byCircuit(): Map<string | undefined, string[]>;
  close(): Promise<void>;
}

/** Start it on a free loopback port (or the Unix socket `path`), mapping `onion` to 127.0.0.1:`targetPort`. */
export function startFakeSocks(onion: string, targetPort: () => number, path?: string): Promise<FakeSocks> {
  const log: FakeSocks['log'] = [];
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((c) => {
    sockets.add(c); c.on('close', () => sockets.delete(c)); c.on('error', () => undefined);
    c.once('data', (hello) => {
      if (hello[0] !== 5) return c.destroy();
      const methods = [...hello.subarray(2, 2 + hello[1]!)];
      if (methods.includes(2)) {
        c.write(Buffer.from([5, 2]));
        c.once('data', (auth) => { c.write(Buffer.from([1, 0])); connect(auth.subarray(2, 2 + auth[1]!).toString()); });
      } else {
        c.write(Buffer.from([5, 0]));
        connect(undefined);
      }
    });
    const connect = (user: string | undefined) => {
      c.once('data', (req) => {
        let host = '', off = 0;
        if (req[3] === 1) { host = [...req.subarray(4, 8)].join('.'); off = 8; }
        else if (req[3] === 3) { const n = req[4]!; host = req.subarray(5, 5 + n).toString(); off = 5 + n; }
        else { host = 'ipv6'; off = 20; }
        const port = req.readUInt16BE(off);
        const routed = host === onion && port === 80;
        const entry = { host, port, routed, user, requests: [] as string[] };
        log.push(entry);
        const read = requestPathReader();
        c.on('data', (d) => entry.requests.push(...read(d)));
        if (!routed) { c.end(Buffer.from([5, 2, 0, 1, 0, 0, 0, 0, 0, 0])); return; }
        const up = net.connect(targetPort(), '127.0.0.1', () => {
          c.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          c.pipe(up); up.pipe(c);
        });
        sockets.add(up); up.on('close', () => sockets.delete(up));
        up.on('error', () => c.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]))); // 5 = connection refused
      });
    };
  });
  const listening = (r: () => void) => (path ? srv.listen(path, r) : srv.listen(0, '127.0.0.1', r));
  return new Promise((resolve) => listening(() => resolve({
    port: path ? 0 : (srv.address() as net.AddressInfo).port, log,
    byCircuit: () => {
      const m = new Map<string | undefined, string[]>();
      for (const e of log) m.set(e.user, [...(m.get(e.user) ?? []), ...e.requests]);
      return m;
    },
    close: () => new Promise<void>((r) => { sockets.forEach((s) => s.destroy()); srv.close(() => r()); }),
  })));
}
