/**
 * The schedule's cost (issue #18): bytes and requests per komrade per day at the default
 * setting. Each request's bytes on the wire at HTTP level (request line, headers, body; the
 * response likewise) are measured against a real Operator through a counting TCP proxy, with
 * the add-on's own client (Node's fetch: Firefox sends a few hundred bytes more of headers);
 * the requests per day are bench/cost.ts `requestsPerDay` (schedule.ts `ratesFor`). Tor carries
 * each request and each response in 514-byte cells of 498 bytes of payload: the tor rows round
 * every one up to whole cells (circuit set-up and TLS not counted).
 */
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient } from '../protocol/client.ts';
import { FETCH_BUCKETS } from '../protocol/padding.ts';
import { KeyPair } from '../protocol/themis.ts';
import { BLOB_SIZES, LIMITS } from '../protocol/wire.ts';
import { komrade, startTestOperator } from '../test/support/operator.ts';
import { FETCH_SECONDS } from '../extension/background/schedule.ts';
import { heldRequestsPerDay, requestsPerDay } from './cost.ts';
import { row } from './lib.ts';

type Wire = { up: number; down: number };
const CELL = 514, PAYLOAD = 498;
const cells = (bytes: number) => Math.max(1, Math.ceil(bytes / PAYLOAD)) * CELL;

/** A TCP proxy in front of `port` that counts the bytes each way. */
async function counting(port: number) {
  const n = { up: 0, down: 0 }, sockets = new Set<Socket>();
  const server = createServer((s) => {
    const up = createConnection({ host: '127.0.0.1', port });
    sockets.add(s); sockets.add(up);
    s.on('data', (d) => { n.up += d.length; up.write(d); });
    up.on('data', (d) => { n.down += d.length; s.write(d); });
    s.on('close', () => up.destroy()); up.on('close', () => s.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { n, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

/** Bytes of one request each way, measured: fetches with 0, 1, 2 and 6 short blobs, a deposit, an ack, a directory look-up. */
export async function measureWire(): Promise<Record<'fetch0' | 'fetch1' | 'fetch2' | 'fetch6' | 'deposit' | 'ack' | 'lookup' | 'held0', Wire>> {
  const op = await startTestOperator(), proxy = await counting(op.port);
  try {
    const client = new OperatorClient(proxy.url), id = b64(randomBytes(16)), key = new KeyPair(), blob = randomBytes(BLOB_SIZES[0]!);
    const someone = komrade('costly'); await someone.register(op.client);
    await client.createMailbox(id, key); await client.info();
    const measure = async (fn: () => Promise<unknown>): Promise<Wire> => { const u = proxy.n.up, d = proxy.n.down; await fn(); return { up: proxy.n.up - u, down: proxy.n.down - d }; };
    const fetchWith = async (k: number) => {
      for (let i = 0; i < k; i++) await client.deposit(id, blob);
      let got: string[] = [];
      const w = await measure(async () => { got = (await client.fetchBlobs(id, key.privateKey)).blobs.map((b) => b.id); });
      if (got.length) await client.ack(id, key.privateKey, got);
      return w;
    };
    const fetch0 = await fetchWith(0), fetch1 = await fetchWith(1), fetch2 = await fetchWith(2), fetch6 = await fetchWith(6);
    const deposit = await measure(() => client.deposit(id, blob));
    const got = (await client.fetchBlobs(id, key.privateKey)).blobs.map((b) => b.id);
    const ack = await measure(() => client.ack(id, key.privateKey, got));
    const lookup = await measure(() => client.lookup('costly'));
    const held0 = await measure(() => client.fetchBlobs(id, key.privateKey, { wait: 1 })); // a held fetch that ran out: its signed wait, the empty padded answer
    return { fetch0, fetch1, fetch2, fetch6, deposit, ack, lookup, held0 };
  } finally { await proxy.close(); await op.close(); }
}

/** Poisson probabilities of k = 0 … 40 blobs per fetch at mean λ. */
const poisson = (lambda: number) => Array.from({ length: 41 }, (_, k) => { let p = Math.exp(-lambda); for (let i = 1; i <= k; i++) p *= lambda / i; return p; });

/** The cost rows: a komrade with 20 contacts and 3 collectives at the default setting. */
export async function costRows(): Promise<void> {
  const w = await measureWire(), day = requestsPerDay(20, 3);
  row(`  measured: an empty fetch, request + response (${FETCH_BUCKETS[0]} B body, padded)`, w.fetch0.up + w.fetch0.down, 'B');
  row('  measured: a fetch of 1 short blob (the same bucket as none)', w.fetch1.up + w.fetch1.down, 'B');
  row(`  measured: a fetch of 2 short blobs (the next bucket, ${FETCH_BUCKETS[1]} B)`, w.fetch2.up + w.fetch2.down, 'B');
  row('  measured: a deposit of a short blob, request + response', w.deposit.up + w.deposit.down, 'B');
  // blobs per fetch: what a komrade receives (about what it deposits) over its fetches
  const p = poisson(day.deposits / day.fetches);
  const fetchOf = (k: number) => (k === 0 ? w.fetch0 : k === 1 ? w.fetch1 : k <= 2 ? w.fetch2 : w.fetch6);
  let http = 0, tor = 0;
  p.forEach((pk, k) => { const f = fetchOf(k); http += day.fetches * pk * (f.up + f.down); tor += day.fetches * pk * (cells(f.up) + cells(f.down)); });
  const add = (n: number, x: Wire) => { http += n * (x.up + x.down); tor += n * (cells(x.up) + cells(x.down)); };
  add(day.deposits, w.deposit);
  add(day.acks, w.ack);
  add(day.reads, w.lookup); // a collective read: a GET of about a directory record's size (estimate)
  console.log(`    per day: ${Math.round(day.fetches)} fetches, ${Math.round(day.deposits)} deposits, ${Math.round(day.acks)} acks, ${Math.round(day.reads)} collective reads (each estimated as one directory look-up's bytes)`);
  row(`schedule cost: requests per komrade per day (20 contacts, 3 collectives, fetch ${FETCH_SECONDS.default} s, slot ${FETCH_SECONDS.default / 10} s)`, day.total, 'req/day');
  row('  bytes per komrade per day, HTTP request + response on the wire', http / 1e6, 'MB/day', { text: '≤ 20 MB/day', met: http <= 20e6 });
  row('  the same carried by tor: each request and response in whole 514-byte cells', tor / 1e6, 'MB/day');
  heldRows(w, day);
}

/**
 * The default since (live.ts): no fetch timers; each of the 22 mailboxes (intro, 20 pairwise,
 * loop) and each of the 3 collectives keeps one held read open all the time. A hold that runs
 * out (answered bare, not padded) is asked again after the gap; each deposit into one of ours
 * ends a hold at once (its padded answer carries the blob), then the ack, then the next hold. Upper bound:
 * every deposit counts as one more hold. Slots and scheduled collective reads as above.
 */
function heldRows(w: Awaited<ReturnType<typeof measureWire>>, day: ReturnType<typeof requestsPerDay>): void {
  const held = heldRequestsPerDay(20, 3), { mailHolds, logHolds } = held;
  let http = 0, tor = 0;
  const add = (n: number, x: Wire) => { http += n * (x.up + x.down); tor += n * (cells(x.up) + cells(x.down)); };
  add(mailHolds - day.deposits, w.held0);
  add(day.deposits, w.fetch1); // the hold's answer with the blob
  add(day.deposits, w.ack);
  add(day.deposits, w.deposit); // our slots (a message, a receipt or a dummy)
  add(logHolds + day.reads, w.lookup); // held log reads and scheduled collective reads, each estimated as a look-up
  const total = held.total;
  console.log(`    held: ${Math.round(mailHolds)} held fetches, ${Math.round(logHolds)} held log reads, ${Math.round(day.deposits)} deposits (each: an ack), ${Math.round(day.reads)} collective reads a day`);
  row(`held cost: requests per komrade per day (20 contacts, 3 collectives, holds of ${LIMITS.holdSeconds} s, slot ${FETCH_SECONDS.default / 10} s)`, total, 'req/day');
  row('  held cost: bytes per komrade per day, HTTP request + response on the wire', http / 1e6, 'MB/day', { text: '≤ 20 MB/day', met: http <= 20e6 });
  row('  held cost: the same carried by tor, whole 514-byte cells', tor / 1e6, 'MB/day');
  row('  held cost: held reads open at the Operator per komrade, all the time (one per mailbox and collective)', held.holds, 'holds');
}
