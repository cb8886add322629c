/**
 * A load process for `npm run bench -- live`: makes `n` mailboxes on the Operator at `url`
 * (argv[2], argv[3]) and keeps one held fetch open on each (wait LIMITS.holdSeconds, PROTOCOL.md §5.4), each
 * asked again as soon as it returns, as n open popups would. Says `{ type: 'made' }`, starts on
 * `{ type: 'go' }`, then says `{ type: 'open', n }` every half second; stops on `{ type: 'stop' }`.
 */
import { Agent, request } from 'node:http';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient } from '../protocol/client.ts';
import { signAuth } from '../protocol/identity.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { fetchPayload, LIMITS } from '../protocol/wire.ts';

await loadThemis();
const url = process.argv[2]!, n = Number(process.argv[3]);
const client = new OperatorClient(url, 120_000);
const boxes: { id: string; key: KeyPair }[] = [];
for (let i = 0; i < n; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, n - i) }, async () => {
    const box = { id: b64(randomBytes(16)), key: new KeyPair() };
    await client.createMailbox(box.id, box.key);
    boxes.push(box);
  }));
}
process.send!({ type: 'made' });
// the parent measures the Operator with the mailboxes made and nothing held, then says `go`
await new Promise<void>((r) => { const on = (m: { type: string }) => { if (m.type === 'go') { process.off('message', on); r(); } }; process.on('message', on); });
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
const { hostname, port } = new URL(url);
let stopped = false, open = 0, errors = 0;
/** One held fetch; resolves when it is answered. */
const held = (box: { id: string; key: KeyPair }) => new Promise<void>((resolve) => {
  const body = JSON.stringify({ auth: signAuth(box.key.privateKey, 'fetch', box.id, fetchPayload(LIMITS.holdSeconds)), wait: LIMITS.holdSeconds });
  const req = request({ agent, hostname, port, path: `/v2/mailboxes/${box.id}/fetch`, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    res.resume(); res.on('end', () => { if ((res.statusCode ?? 0) >= 300) errors++; resolve(); });
  });
  req.on('error', () => { errors++; resolve(); });
  req.end(body);
});
const loops = boxes.map(async (box) => {
  while (!stopped) { open++; await held(box); open--; if (errors > n) await new Promise((r) => setTimeout(r, 1000)); }
});
const report = setInterval(() => process.send!({ type: 'open', n: open, errors }), 500);
process.on('message', async (m: { type: string }) => {
  if (m.type !== 'stop') return;
  stopped = true; clearInterval(report);
  agent.destroy();
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 2000))]);
  process.exit(0);
});
