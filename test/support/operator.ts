/**
 * Test support (not part of the Operator): a real Operator on a real LevelDB in a fresh temp
 * directory, on a free loopback port, with an injectable clock, plus helpers to make komrades
 * and raw requests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64, randomBytes } from '../../protocol/bytes.ts';
import { OperatorClient } from '../../protocol/client.ts';
import { signRecord, solvePow } from '../../protocol/identity.ts';
import { KeyPair } from '../../protocol/themis.ts';
import type { NameRecord } from '../../protocol/wire.ts';
import { startOperator, type OperatorOptions, type RunningOperator } from '../../operator/server.ts';

/** A mutable clock for TTL tests. */
export const testClock = (start = Date.now()) => { const c = { t: start, now: () => c.t }; return c; };

/** Start an Operator for a test; `dataDir` defaults to a new temp dir. */
export async function startTestOperator(over: Partial<OperatorOptions> = {}): Promise<RunningOperator & { client: OperatorClient; dataDir: string }> {
  const dataDir = over.dataDir ?? mkdtempSync(join(tmpdir(), 'komrade-op-'));
  const op = await startOperator({
    dataDir, host: '127.0.0.1', port: 0, allowPublicBind: false, ttlMs: 14 * 86_400_000, powBits: 8, mailboxPowBits: 4, depositPowBits: 4,
    maxBlobsPerMailbox: 500, maxBytesPerMailbox: 16 << 20, sweepMs: 3_600_000, logMs: 0, log: () => {}, ...over,
  });
  return { ...op, client: new OperatorClient(op.url), dataDir };
}

/** Raw JSON request; returns status and parsed body. */
export async function raw(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v2${path}`, {
    method, headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined };
}

/** Every key/value in the store, for "unchanged" assertions. */
export async function snapshot(op: RunningOperator): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of op.store.db.iterator({ valueEncoding: 'hex' } as never)) out.push(`${k}=${v as string}`);
  return out;
}

/** How many blobs the store holds, in one mailbox or in all. Reads the store directly: a fetch would mark the owner active. */
export async function pendingBlobs(op: RunningOperator, mailboxId = ''): Promise<number> {
  return (await snapshot(op)).filter((kv) => kv.startsWith(`!b!${mailboxId}`)).length;
}

/** A komrade with identity, intro mailbox and prekey; `register()` creates the mailbox and the name. */
export function komrade(name: string) {
  const identity = new KeyPair(), mailbox = new KeyPair(), prekey = new KeyPair();
  const intro = b64(randomBytes(16));
  const record = (ts = Date.now(), pk = prekey): NameRecord => ({
    v: 1, name, identityKey: b64(identity.publicKey), intro, prekey: { id: b64(randomBytes(8)), key: b64(pk.publicKey) }, ts,
  });
  return {
    name, identity, mailbox, prekey, intro, record,
    async register(client: OperatorClient, bits = 8, ts = Date.now()) {
      await client.createMailbox(intro, mailbox);
      const signed = signRecord(identity.privateKey, record(ts));
      await client.register(signed, await solvePow(name, signed.record.identityKey, bits), mailbox.privateKey);
      return signed;
    },
  };
}

/** Every file under `dir`, recursively (tables, write-ahead logs, MANIFEST, LOG, pointers, tor's files). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * Search every byte of every file under `dir` the way an investigator would: returns the
 * labels of the needles found, each with the file it was found in.
 */
export function findOnDisk(dir: string, needles: Record<string, Uint8Array | string>): string[] {
  const found: string[] = [];
  const files = filesUnder(dir).map((f) => [f, readFileSync(f)] as const);
  for (const [label, needle] of Object.entries(needles)) {
    const bytes = Buffer.from(needle);
    const hit = files.find(([, data]) => data.indexOf(bytes) >= 0);
    if (hit) found.push(`${label} in ${hit[0].slice(dir.length + 1)}`);
  }
  return found;
}

const MAIN = new URL('../../operator/main.ts', import.meta.url).pathname;

/**
 * V8 flags the Operator runs with (package.json's `operator` and `start` give the same): a young
 * generation of 64 MiB semi-spaces, so that a request's short-lived objects die young instead of
 * being promoted and piling up in the old generation between major collections — that sawtooth
 * made the Operator's memory swing by a third under steady load (bench section `memory`).
 */
export const OPERATOR_NODE_FLAGS = ['--max-semi-space-size=64'];

/** Run the Operator's command line as a real process; `url` resolves once it listens. */
export function spawnOperator(args: string[], nodeArgs: string[] = []): { child: ChildProcess; out: () => string; exited: Promise<number | null>; url: Promise<string> } {
  const child = spawn(process.execPath, [...OPERATOR_NODE_FLAGS, ...nodeArgs, '--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = new Promise<string>((resolve, reject) => {
    const check = () => { const m = /listening on (http:\/\/\S+)/.exec(out); if (m) resolve(m[1]!); };
    child.stdout!.on('data', check);
    void exited.then(() => reject(new Error(`exited: ${out}`)));
  });
  url.catch(() => undefined); // awaited only by callers that expect the Operator to start
  return { child, out: () => out, exited, url };
}
