/**
 * Crypto overhead: the sealed envelope (PROTOCOL.md §8) against the raw wasm-themis primitives
 * it is made of — an ephemeral key pair, Secure Message sign and verify, Secure Message
 * encrypt and decrypt of the padded bucket — so what the envelope adds (JSON, padding, checks)
 * is measured on its own, the two interleaved so both see the same machine load; and the vault's
 * per-record seal/open against a bare Secure Cell. Goal: ≤ 15 % overhead each.
 */
import { b64, randomBytes, utf8 } from '../protocol/bytes.ts';
import { seal, open } from '../protocol/envelope.ts';
import { KeyPair, SecureCellSeal, SecureMessage, SecureMessageSign, SecureMessageVerify } from '../protocol/themis.ts';
import { memoryKV } from '../extension/background/kv.ts';
import { Records } from '../extension/background/records.ts';
import { interleavedMedians, ratio, section } from './lib.ts';

/** Run the section. */
export async function benchCrypto(): Promise<void> {
  section('Crypto overhead');
  const alice = new KeyPair(), bob = new KeyPair(), prekey = new KeyPair(), prekeyId = b64(randomBytes(8));
  const body = { kind: 'msg', from: 'alice', text: 'x'.repeat(500) };
  const payload = utf8(JSON.stringify({ v: 1, id: b64(randomBytes(16)), t: Date.now(), to: b64(randomBytes(32)), body }));
  const N = 300;
  // warm up both paths
  for (let i = 0; i < 20; i++) {
    const { blob } = seal({ senderIdentity: alice, recipientIdentityKey: bob.publicKey, prekey: { id: prekeyId, key: prekey.publicKey }, body });
    open(blob, { prekey: () => prekey.privateKey, myIdentityKey: bob.publicKey, seen: () => false });
  }
  const primitive = () => {
    const signed = new SecureMessageSign(alice.privateKey).sign(payload);
    const padded = new Uint8Array(1024); padded.set(signed.subarray(0, 1000), 4);
    const eph = new KeyPair();
    const sealed = new SecureMessage(new KeyPair(eph.privateKey, prekey.publicKey)).encrypt(padded);
    const opened = new SecureMessage(new KeyPair(prekey.privateKey, eph.publicKey)).decrypt(sealed);
    new SecureMessageVerify(alice.publicKey).verify(signed);
    return opened;
  };
  const envelopeOnce = () => {
    const { blob } = seal({ senderIdentity: alice, recipientIdentityKey: bob.publicKey, prekey: { id: prekeyId, key: prekey.publicKey }, body });
    open(blob, { prekey: () => prekey.privateKey, myIdentityKey: bob.publicKey, seen: () => false });
  };
  // interleaved, alternating which goes first: on a shared machine both sides see the same load
  const [envelope, primitives] = await interleavedMedians(N, [{ fn: envelopeOnce }, { fn: primitive }]) as [number, number];
  ratio('envelope seal+open ÷ its raw primitives (keygen, sign, encrypt, decrypt, verify)', { name: 'envelope', value: envelope, unit: 'ms' }, { name: 'primitives', value: primitives, unit: 'ms' }, { max: 1.15 });

  // the vault's record (extension/background/records.ts): a chunk of 50 messages sealed and
  // opened as a record (JSON, context, base64 for storage) against a bare Secure Cell
  // encrypting and decrypting the same bytes with the same context
  const key = randomBytes(32), records = new Records(memoryKV(), key), cell = SecureCellSeal.withKey(key);
  const chunk = { messages: Array.from({ length: 50 }, (_, i) => ({ id: b64(randomBytes(16)), dir: i % 2 ? 'out' : 'in', text: `message ${i} `.padEnd(120, '.'), t: Date.now() + i, state: 'received' })) };
  const bytes = utf8(JSON.stringify(chunk)), context = utf8('komrade record v2:chunk/bob/3');
  const recordOnce = () => records.unseal('chunk/bob/3', records.seal('chunk/bob/3', chunk));
  const cellOnce = () => cell.decrypt(cell.encrypt(bytes, context), context);
  for (let i = 0; i < 50; i++) { recordOnce(); cellOnce(); }
  const [record, bare] = await interleavedMedians(2 * N, [{ fn: recordOnce }, { fn: cellOnce }]) as [number, number];
  ratio(`vault record seal+open (a chunk of 50 messages, ${bytes.length} B of JSON) ÷ a bare Secure Cell on the same bytes`, { name: 'record', value: record, unit: 'ms' }, { name: 'Secure Cell', value: bare, unit: 'ms' }, { max: 1.15 });
}
