/**
 * Ratios behind design choices: the envelope vs bare Secure Message, passphrase unlock vs a
 * save with the random key, proof-of-work cost, one Operator cycle vs a bare round trip.
 */
import { performance } from 'node:perf_hooks';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { seal, open } from '../protocol/envelope.ts';
import { checkPow } from '../protocol/identity.ts';
import { KeyPair, SecureCellSeal, SecureMessage, SymmetricKey } from '../protocol/themis.ts';
import { startTestOperator, raw } from '../test/support/operator.ts';
import { median, ratio, row, section } from './lib.ts';

/** Run the section. */
export async function benchDesign(): Promise<void> {
  section('Design ratios');
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
  ratio('envelope seal+open (1 KiB bucket) ÷ bare Secure Message encrypt+decrypt', { name: 'envelope', value: env, unit: 'ms' }, { name: 'bare Secure Message', value: bare, unit: 'ms' });

  // 2. the vault: passphrase (PBKDF2) once at unlock, a random key for every save
  const key = new SymmetricKey(), state = randomBytes(20_000);
  const wrapped = SecureCellSeal.withPassphrase('correct horse battery staple').encrypt(key);
  const unwrap = await median(5, () => SecureCellSeal.withPassphrase('correct horse battery staple').decrypt(wrapped));
  const cell = await median(50, () => SecureCellSeal.withKey(key).decrypt(SecureCellSeal.withKey(key).encrypt(state)));
  ratio('unlock (passphrase, PBKDF2) ÷ save+load of a 20 KB state with the random key', { name: 'unlock', value: unwrap, unit: 'ms' }, { name: 'save+load', value: cell, unit: 'ms' });

  // 3. proof of work: hashes per second, so the 18-bit default's cost can be read off
  const hashes = 200_000, id = b64(randomBytes(45));
  const s = performance.now();
  for (let i = 0; i < hashes; i++) checkPow('alice', id, String(i), 30);
  const perSec = hashes / ((performance.now() - s) / 1000);
  row('proof of work: SHA-256 checks per second (Node)', perSec, 'checks/s');
  row('  expected time to register a name at 20 bits (2^20 checks)', 2 ** 20 / perSec, 's');
  row('  expected time to create a mailbox or deposit into an intro at 16 bits (2^16 checks)', 2 ** 16 / perSec * 1000, 'ms');

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
  ratio('deposit + fetch + ack of one blob ÷ GET /v2/info (HTTP round trip, no storage)', { name: 'cycle', value: cycle, unit: 'ms' }, { name: 'info', value: info, unit: 'ms' });
  await op.close();

}
