/**
 * The witness command (`npm run witness -- --operator <url>`, PROTOCOL.md §5.11.4, README
 * "Running a witness"): replays an Operator's key-transparency log every `--every` seconds,
 * checks every checkpoint's consistency, and cosigns it with its own key. It writes the newest
 * cosigned checkpoint to `<data>/cosigned` and, with `--port`, serves it at `GET /checkpoint`
 * (and its vkey at `GET /key`). When the log does not hold together it writes `<data>/alarm`
 * (what failed and the signed checkpoints that prove it), stops cosigning and exits 2.
 */
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { b64, randomBytes, unb64 } from '../../protocol/bytes.ts';
import { OperatorClient } from '../../protocol/client.ts';
import { replay, WitnessAlarm, WitnessSigner, type WitnessState } from './replay.ts';

const o = new Command('komrade-witness')
  .requiredOption('--operator <url>', "the Operator's address (http://…onion through a Tor-aware proxy, or loopback)")
  .option('--data <dir>', 'where the witness keeps its key and state', 'witness-data')
  .option('--name <name>', "the witness's name in its cosignatures", 'komrade-witness')
  .option('--port <n>', 'serve the cosigned checkpoint on 127.0.0.1:<n> (for a tor onion service)', (v) => Number(v))
  .option('--every <s>', 'seconds between replays', (v) => Number(v), 60)
  .option('--once', 'replay and cosign once, then exit')
  .parse().opts<{ operator: string; data: string; name: string; port?: number; every: number; once?: boolean }>();

const dir = resolve(o.data);
mkdirSync(dir, { recursive: true, mode: 0o700 });
const seedFile = join(dir, 'seed'), stateFile = join(dir, 'state.json'), cosignedFile = join(dir, 'cosigned');
if (!existsSync(seedFile)) writeFileSync(seedFile, b64(randomBytes(32)), { mode: 0o600 });
const signer = new WitnessSigner(unb64(readFileSync(seedFile, 'utf8').trim()), o.name);
const client = new OperatorClient(o.operator.replace(/\/$/, ''));
let state = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as WitnessState) : undefined;
let cosigned = existsSync(cosignedFile) ? readFileSync(cosignedFile, 'utf8') : '';

/** One replay: cosign the new checkpoint, or record the alarm and exit. */
async function round(): Promise<void> {
  try {
    const r = await replay(client, state);
    state = r.state;
    cosigned = signer.cosign(r.checkpoint.note, Math.floor(Date.now() / 1000));
    writeFileSync(stateFile, JSON.stringify(state));
    writeFileSync(cosignedFile, cosigned);
    console.log(`cosigned the checkpoint at ${r.checkpoint.size} entries`);
  } catch (e) {
    if (!(e instanceof WitnessAlarm)) { console.error(`replay failed (will retry): ${(e as Error).message}`); return; }
    writeFileSync(join(dir, 'alarm'), JSON.stringify({ message: e.message, evidence: e.evidence }, null, 1));
    console.error(`ALARM: the Operator's log does not hold together: ${e.message}`);
    process.exit(2);
  }
}

console.log(`witness ${signer.vkey}`);
await round();
if (!o.once) {
  if (o.port !== undefined) {
    const server = createServer((req, res) => {
      const body = req.url === '/checkpoint' ? cosigned : req.url === '/key' ? `${signer.vkey}\n` : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(body ?? 'not found\n');
    });
    server.listen(o.port, '127.0.0.1', () => console.log(`serving on http://127.0.0.1:${(server.address() as { port: number }).port}`));
  }
  setInterval(() => void round(), o.every * 1000);
}
