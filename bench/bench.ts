/**
 * `npm run bench`: timings that justify design choices, each as a ratio measured in this one
 * run (absolute numbers depend on the machine). Not a test: nothing here passes or fails.
 */
import { performance } from 'node:perf_hooks';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { seal, open } from '../protocol/envelope.ts';
import { checkPow } from '../protocol/identity.ts';
import { KeyPair, SecureCellSeal, SecureMessage, SymmetricKey, loadThemis } from '../protocol/themis.ts';
import { startTestOperator, raw } from '../operator/testing.ts';

await loadThemis();

/** Median milliseconds of `n` runs of `fn`. */
async function median(n: number, fn: () => unknown): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) { const s = performance.now(); await fn(); t.push(performance.now() - s); }
  return t.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}
const rows: [string, string][] = [];
const row = (what: string, value: string) => { rows.push([what, value]); console.log(`${what.padEnd(64)} ${value}`); };

// 1. the sealed envelope vs bare Secure Message of the same padded size
const alice = new KeyPair(), bob = new KeyPair(), prekey = new KeyPair(), prekeyId = b64(randomBytes(8));
const text = 'x'.repeat(500);
const bare = await median(200, () => {
  const enc = new SecureMessage(new KeyPair(alice.privateKey, prekey.publicKey)).encrypt(new Uint8Array(1024));
  new SecureMessage(new KeyPair(prekey.privateKey, alice.publicKey)).decrypt(enc);
});
const env = await median(200, () => {
  const { blob } = seal({ senderIdentity: alice, recipientIdentityKey: bob.publicKey, prekey: { id: prekeyId, key: prekey.publicKey }, body: { text } });
  open(blob, { prekey: () => prekey.privateKey, myIdentityKey: bob.publicKey, seen: () => false });
});
row('envelope seal+open (1 KiB bucket), ms', env.toFixed(3));
row('  ÷ bare Secure Message encrypt+decrypt (ephemeral key, signature, checks)', (env / bare).toFixed(2));

// 2. the vault: passphrase (PBKDF2) once at unlock, a random key for every save
const key = new SymmetricKey(), state = randomBytes(20_000);
const wrapped = SecureCellSeal.withPassphrase('correct horse battery staple').encrypt(key);
const unwrap = await median(5, () => SecureCellSeal.withPassphrase('correct horse battery staple').decrypt(wrapped));
const cell = await median(50, () => SecureCellSeal.withKey(key).decrypt(SecureCellSeal.withKey(key).encrypt(state)));
row('unlock (Secure Cell with passphrase, PBKDF2), ms', unwrap.toFixed(1));
row('  ÷ save+load of a 20 KB state with the random key', (unwrap / cell).toFixed(0));

// 3. proof of work: hashes per second, so the 18-bit default's cost can be read off
const hashes = 200_000, id = b64(randomBytes(45));
const s = performance.now();
for (let i = 0; i < hashes; i++) checkPow('alice', id, String(i), 30);
const perSec = hashes / ((performance.now() - s) / 1000);
row('proof of work: SHA-256 checks per second', perSec.toFixed(0));
row('  expected seconds to register at 18 bits (2^18 checks)', (2 ** 18 / perSec).toFixed(2));

// 4. the Operator over loopback HTTP on LevelDB with fsync'ed writes
const op = await startTestOperator();
const box = b64(randomBytes(16)), boxKey = new KeyPair();
await op.client.createMailbox(box, boxKey);
const blob = randomBytes(1130);
const info = await median(100, () => raw(op.url, 'GET', '/info'));
const cycle = await median(100, async () => {
  await op.client.deposit(box, blob);
  const { blobs } = await op.client.fetchBlobs(box, boxKey.privateKey);
  await op.client.ack(box, boxKey.privateKey, blobs.map((b) => b.id));
});
row('deposit + fetch + ack of one blob, ms', cycle.toFixed(2));
row('  ÷ GET /v2/info (HTTP round trip, no storage)', (cycle / info).toFixed(1));
await op.close();
