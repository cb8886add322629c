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

// 5. forgetting (PROTOCOL.md §6.1): a sweep that rewrites the live store, with 10^5 blobs
//    pending in 1,000 mailboxes, after 10^4 of them were acknowledged. Filled without fsync.
{
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { Store } = await import('../operator/store.ts');
  const { filesUnder } = await import('../operator/testing.ts');
  const { statSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'komrade-bench-'));
  const store = await Store.open(dir, { ttlMs: 14 * 86_400_000, maxBlobsPerMailbox: 500, maxBytesPerMailbox: 16 << 20, now: Date.now, sync: false });
  const boxes = Array.from({ length: 1000 }, () => b64(randomBytes(16)));
  const t0 = performance.now();
  const payload = randomBytes(1130 * 64);
  await Promise.all(Array.from({ length: 8 }, async (_, lane) => {
    for (const id of boxes.filter((_, i) => i % 8 === lane)) {
      await store.createMailbox(id, b64(randomBytes(45)));
      for (let i = 0; i < 100; i++) await store.deposit(id, payload.subarray((i % 64) * 1130, (i % 64 + 1) * 1130));
    }
  }));
  const fillMs = performance.now() - t0;
  for (const id of boxes.slice(0, 100)) {
    const { blobs } = await store.fetch(id, 100);
    await store.ack(id, blobs.map((b) => b.id));
  }
  const bytes = () => filesUnder(dir).reduce((n, f) => n + statSync(f).size, 0);
  const before = bytes();
  const t1 = performance.now();
  await store.sweep();
  const sweepMs = performance.now() - t1;
  // deposits keep going during the rewrite: how long does the longest one wait?
  const probe = b64(randomBytes(16));
  await store.createMailbox(probe, b64(randomBytes(45)));
  let rewriting = true, worst = 0, probes = 0;
  const prober = (async () => {
    while (rewriting) {
      const s0 = performance.now();
      await store.lock.run(probe, () => store.deposit(probe, randomBytes(1130)));
      worst = Math.max(worst, performance.now() - s0); probes++;
      if (probes % 400 === 0) { const { blobs } = await store.fetch(probe, 500); await store.ack(probe, blobs.map((b) => b.id)); }
    }
  })();
  const t2 = performance.now();
  await store.compact();
  const rewriteMs = performance.now() - t2;
  rewriting = false; await prober;
  row('forgetting: sweep with 10^5 pending blobs (1,000 mailboxes), ms', sweepMs.toFixed(0));
  row('forgetting: rewrite of the live store (9×10^4 blobs, ~100 MB) after 10^4 acks, ms', rewriteMs.toFixed(0));
  row('  ÷ filling the same store in bulk (no fsync)', (rewriteMs / fillMs).toFixed(2));
  row(`  longest deposit wait during the rewrite (${probes} deposits meanwhile), ms`, worst.toFixed(1));
  row('  data dir before → after the rewrite, MB', `${(before / 1e6).toFixed(0)} → ${(bytes() / 1e6).toFixed(0)}`);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

// 6. the add-on's vault: request cost with 10 vs 10,000 stored messages (bench/vault.ts)
await import('./vault.ts');
