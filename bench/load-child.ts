/**
 * An open-loop load process for `npm run bench -- cost` (issue #15 §5): sends requests that were
 * signed before it started, at a fixed arrival rate, whatever the answers' pace; each request's
 * latency counts from its SCHEDULED send time (no coordinated omission). Reads a JSON job
 * `{ url, rate, requests: [{ path, body }] }` from the file named by argv[2]; prints
 * `{ latencies, errors }` as JSON on stdout.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { url: string; rate: number; requests: { path: string; body: string }[] };
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const { hostname, port } = new URL(job.url);
const latencies: number[] = [];
let errors = 0;

/** One POST; resolves with true on a 2xx. */
const send = (path: string, body: string) => new Promise<boolean>((resolve) => {
  const req = request({ agent, hostname, port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    res.resume(); res.on('end', () => resolve((res.statusCode ?? 0) < 300));
  });
  req.on('error', () => resolve(false));
  req.end(body);
});

const start = performance.now() + 200, interval = 1000 / job.rate, pending: Promise<void>[] = [];
for (let i = 0; i < job.requests.length; i++) {
  const at = start + i * interval, wait = at - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  const { path, body } = job.requests[i]!;
  pending.push(send(path, body).then((ok) => { if (ok) latencies.push(performance.now() - at); else errors++; }));
}
await Promise.all(pending);
agent.destroy();
process.stdout.write(JSON.stringify({ latencies, errors }));
