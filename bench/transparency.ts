/**
 * Key transparency (issue #16, PROTOCOL.md §5.11): a look-up with its proof ÷ the same look-up
 * without (same Operator, same run, interleaved); proof sizes at 10⁶ names; the cost of one
 * append to a log of 10⁶ leaves ÷ one of 10³; the witness replaying 10⁶ entries; the name
 * index proof at 10⁶ names (§5.11.6). Logs are filled in bulk (opaque leaves, as deleted names
 * leave), then served by the real Operator; the index is filled in bulk with 10⁶ positions
 * after the witness's run (their leaves are not in the entries, so a witness would refuse it).
 * KOMRADE_KT_SCALE overrides 10⁶ (a smoke run).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { parseVkey } from '../protocol/transparency/checkpoint.ts';
import { nodeHash } from '../protocol/transparency/merkle.ts';
import { bucketHash, bucketOf, comparePositions, DEFAULTS, DEPTH, EMPTY_INDEX, entryBytes, type IndexEntry } from '../protocol/transparency/name-index.ts';
import { verifyLookup } from '../protocol/transparency/verify.ts';
import { Store } from '../operator/store/index.ts';
import { replay } from '../operator/witness/replay.ts';
import { komrade, startTestOperator } from '../test/support/operator.ts';
import { interleavedMedians, ratio, row, section } from './lib.ts';

const BIG = Number(process.env.KOMRADE_KT_SCALE ?? 1_000_000);
const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
const OPTS = { ttlMs: 14 * 86_400_000, maxBlobsPerMailbox: 500, maxBytesPerMailbox: 16 << 20, now: Date.now, sync: false } as const;

/** A data directory whose log holds `n` opaque leaves and a signed checkpoint of them. */
async function filledLog(n: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-kt-bench-'));
  const store = await Store.open(dir, OPTS);
  const nodes = store.db.sublevel<string, Uint8Array>('H', { valueEncoding: 'view' });
  let level = Array.from({ length: n }, () => randomBytes(32)), lv = 0;
  const edge: Uint8Array[] = []; // the perfect subtrees along the right edge, highest first, for the root
  while (level.length) {
    for (let i = 0; i < level.length; i += 10_000) await nodes.batch(level.slice(i, i + 10_000).map((h, j) => ({ type: 'put' as const, key: `${hex(lv, 2)}!${hex(i + j, 12)}`, value: h })));
    if (level.length % 2) edge.unshift(level.at(-1)!);
    const up: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!));
    level = up; lv++;
  }
  let root = edge.at(-1)!;
  for (let i = edge.length - 2; i >= 0; i--) root = nodeHash(edge[i]!, root);
  await store.db.sublevel<string, unknown>('K', { valueEncoding: 'json' }).put('head', { size: n, note: store.log.signer.checkpoint({ size: n, root, index: EMPTY_INDEX }) });
  await store.close();
  return dir;
}

/** Fill the name index of the store in `dir` with `n` random positions (replacing what it held); the next append signs its root. */
async function fillIndex(dir: string, n: number): Promise<void> {
  const store = await Store.open(dir, OPTS);
  const nodes = store.db.sublevel<string, Uint8Array>('N', { valueEncoding: 'view' }), buckets = store.db.sublevel<string, Uint8Array>('B', { valueEncoding: 'view' });
  const byBucket = new Map<number, IndexEntry[]>();
  for (let i = 0; i < n; i++) {
    const e = { position: randomBytes(32), index: i, leaf: randomBytes(32) }, b = bucketOf(e.position);
    byBucket.set(b, [...(byBucket.get(b) ?? []), e]);
  }
  let level = new Map<number, Uint8Array>(), ops: { type: 'put'; key: string; value: Uint8Array }[] = [];
  const flush = async (db: typeof nodes, force = false) => { if (ops.length >= 10_000 || (force && ops.length)) { await db.batch(ops); ops = []; } };
  for (const [b, es] of byBucket) {
    es.sort((x, y) => comparePositions(x.position, y.position));
    ops.push({ type: 'put', key: hex(b, 6), value: Buffer.concat(es.map(entryBytes)) }); await flush(buckets);
  }
  await flush(buckets, true);
  for (const [b, es] of byBucket) level.set(b, bucketHash(es));
  for (let l = 0; l <= DEPTH; l++) {
    const up = new Map<number, Uint8Array>();
    for (const [at, h] of level) {
      ops.push({ type: 'put', key: `${hex(l, 2)}!${hex(at, 6)}`, value: h }); await flush(nodes);
      if (l < DEPTH && !up.has(at >>> 1)) up.set(at >>> 1, nodeHash(level.get(at & ~1) ?? DEFAULTS[l]!, level.get(at | 1) ?? DEFAULTS[l]!));
    }
    await flush(nodes, true);
    level = up;
  }
  await store.close();
}

/** Run the section. */
export async function benchTransparency(): Promise<void> {
  section('Key transparency');
  let t = performance.now();
  const bigDir = await filledLog(BIG), smallDir = await filledLog(1000);
  row(`  (filling a log of ${BIG} leaves in bulk, not a goal)`, (performance.now() - t) / 1000, 's');

  // 4. the witness replaying every entry over HTTP (before the index is filled and the appends below change the log)
  let op = await startTestOperator({ dataDir: bigDir });
  try {
    await komrade('bench_w').register(op.client);
    t = performance.now();
    const r = await replay(op.client, undefined);
    row(`witness replaying ${r.state.size} entries from the Operator (time)`, (performance.now() - t) / 1000, 's');
  } finally { await op.close(); }
  t = performance.now();
  await fillIndex(bigDir, BIG);
  row(`  (filling a name index of ${BIG} names in bulk, not a goal)`, (performance.now() - t) / 1000, 's');

  op = await startTestOperator({ dataDir: bigDir });
  try {
    const key = parseVkey((await op.client.info()).checkpointKey);
    await komrade('bench_kt').register(op.client);
    // 1. a look-up with its proof (made and checked) ÷ the same route with the proof left out
    const real = op.store.log.lookup.bind(op.store.log);
    const none = async (name: string) => { const r = await real(name); return r && { ...r, proof: [], names: { bucket: [], bitmap: 0, siblings: [] } }; };
    const [withProof, without] = await interleavedMedians(200, [
      { setup: () => { op.store.log.lookup = real; }, fn: async () => verifyLookup(await op.client.lookupWithProof('bench_kt'), key) },
      { setup: () => { op.store.log.lookup = none; }, fn: () => op.client.lookupWithProof('bench_kt') },
    ]);
    op.store.log.lookup = real;
    ratio(`look-up with inclusion and name index proofs (made and checked) ÷ without, at ${BIG} names`, { name: 'with proof', value: withProof!, unit: 'ms' }, { name: 'without', value: without!, unit: 'ms' }, { max: 1.2 });

    // 2. proof sizes as served (JSON of the proof array)
    const rec = await op.client.lookupWithProof('bench_kt');
    const size = BIG + 1;
    const inclusion = Math.max(JSON.stringify(rec.log.proof).length, ...(await Promise.all([0, 1, Math.floor(size / 3), size - 2].map(async (i) => JSON.stringify((await op.store.log.inclusion(i)).map(b64)).length))));
    row(`inclusion proof bytes at ${BIG} names (largest of 5 leaves)`, inclusion, 'bytes', { text: '≤ 1024', met: inclusion <= 1024 });
    let consistency = 0;
    for (const from of [1, 3, 1000, Math.floor(size / 2) + 1, Math.max(1, size - 12_345), size - 1]) consistency = Math.max(consistency, JSON.stringify(await op.client.consistency(from, size)).length);
    row(`consistency proof bytes to ${BIG} names (largest of 6 older sizes)`, consistency, 'bytes', { text: '≤ 2048', met: consistency <= 2048 });
    let index = JSON.stringify(rec.log.names).length;
    for (let i = 0; i < 20; i++) index = Math.max(index, JSON.stringify((await op.client.logIndex(`nobody_${i}`)).proof).length);
    row(`name index proof bytes at ${BIG} names (largest of 21 positions, with its bucket)`, index, 'bytes', { text: '≤ 2048', met: index <= 2048 });
  } finally { await op.close(); }

  // 3. one append (nodes, signed checkpoint, one batch) at 10⁶ leaves ÷ at 10³
  const big = await Store.open(bigDir, OPTS), small = await Store.open(smallDir, OPTS);
  try {
    const append = (s: Store) => () => (s as unknown as { core: { gate: { shared<T>(f: () => Promise<T>): Promise<T> }; write(o: unknown[]): Promise<void> } }).core.gate.shared(() => s.log.append(`n${Math.random()}`, 'k', (ops) => (s as unknown as { core: { write(o: unknown[]): Promise<void> } }).core.write(ops)));
    const [atBig, atSmall] = await interleavedMedians(500, [{ fn: append(big) }, { fn: append(small) }]);
    ratio(`append one leaf at ${BIG} leaves ÷ at 1000 leaves`, { name: `at ${BIG}`, value: atBig!, unit: 'ms' }, { name: 'at 1000', value: atSmall!, unit: 'ms' }, { max: 1.5 });
  } finally { await big.close(); await small.close(); }
}
