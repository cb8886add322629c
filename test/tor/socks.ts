/**
 * Test helpers around tor: an HTTP request through a SOCKS5 port (remote DNS, as Tor Browser
 * does), and which process owns the other end of a loopback TCP connection (/proc/net/tcp).
 */
import net from 'node:net';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** One HTTP/1.1 request to `host` (e.g. an onion) through the SOCKS5 proxy on 127.0.0.1:`socksPort`. */
export function socksRequest(socksPort: number, host: string, path: string, timeoutMs = 60_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socksPort, '127.0.0.1');
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('SOCKS request timed out')); }, timeoutMs);
    let stage = 0, buf = Buffer.alloc(0);
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('connect', () => sock.write(Buffer.from([5, 1, 0])));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 2) {
        buf = buf.subarray(2); stage = 1;
        const h = Buffer.from(host);
        sock.write(Buffer.concat([Buffer.from([5, 1, 0, 3, h.length]), h, Buffer.from([0, 80])]));
      }
      if (stage === 1 && buf.length >= 10) {
        if (buf[1] !== 0) { clearTimeout(timer); sock.destroy(); reject(new Error(`SOCKS refused: ${buf[1]}`)); return; }
        buf = buf.subarray(10); stage = 2;
        sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      }
    });
    sock.on('end', () => {
      clearTimeout(timer);
      const text = buf.toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

/** Retry `socksRequest` until it answers (the first circuits to a new onion can take a while). */
export async function socksRequestRetry(socksPort: number, host: string, path: string, deadlineMs = 120_000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try { return await socksRequest(socksPort, host, path, 30_000); } catch (e) { if (Date.now() > end) throw e; }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Which of `candidates` holds the local socket 127.0.0.1:`port` connected to our port `to` (the
 * peer of a connection we accepted): its pid, `'closed'` when the peer has closed it already (a
 * closed socket keeps its line in /proc/net/tcp with inode 0, and no owner), or undefined when
 * some other process holds it.
 */
export function ownerOfLocalPort(port: number, to: number, candidates: number[]): number | 'closed' | undefined {
  const hex = (p: number) => `:${p.toString(16).toUpperCase().padStart(4, '0')}`;
  let inode: string | undefined;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // an earlier, closed connection from the same port can still be listed: skip its inode 0
      if (cols[1]?.endsWith(hex(port)) && cols[2]?.endsWith(hex(to)) && cols[9] !== '0') inode = cols[9];
    }
  }
  if (!inode) return 'closed';
  for (const pid of candidates) {
    try {
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`; } catch { return false; } })) return pid;
    } catch { /* gone */ }
  }
  return undefined;
}
