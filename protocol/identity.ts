/**
 * Identities and proofs: safety words and numbers people compare out of band, signed
 * requests (Auth), self-signed directory records, and the registration proof of work.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { b64, unb64, bytesEqual, canonicalJson, randomBytes, utf8 } from './bytes.ts';
import { SecureMessageSign, SecureMessageVerify, publicKey, type PrivateKey } from './themis.ts';
import { statement, type Action, type Auth, type NameRecord, type SignedRecord } from './wire.ts';

/** SHA-256 of an identity public key: what "same person" means. */
export const fingerprint = (identityKey: Uint8Array): Uint8Array => sha256(identityKey);

/** Six words (66 bits of the fingerprint) from the BIP-39 English list. */
export function safetyWords(identityKey: Uint8Array): string[] {
  const fp = fingerprint(identityKey);
  let bits = '';
  for (const byte of fp.subarray(0, 9)) bits += byte.toString(2).padStart(8, '0');
  return Array.from({ length: 6 }, (_, i) => wordlist[parseInt(bits.slice(i * 11, i * 11 + 11), 2)]!);
}

/** Thirty digits in six groups of five (each group from 5 fingerprint bytes, mod 100000). */
export function safetyNumber(identityKey: Uint8Array): string {
  const fp = fingerprint(identityKey);
  const groups: string[] = [];
  for (let i = 0; i < 6; i++) {
    let n = 0;
    for (const byte of fp.subarray(i * 5, i * 5 + 5)) n = (n * 256 + byte) % 100000;
    groups.push(String(n).padStart(5, '0'));
  }
  return groups.join(' ');
}

/** Sign a request: the Auth object proving possession of `key` for this action and target. */
export function signAuth(key: PrivateKey, action: Action, target: string, payload = '', now = Date.now()): Auth {
  const nonce = b64(randomBytes(16));
  const sig = new SecureMessageSign(key).sign(statement(action, target, now, nonce, payload));
  return { ts: now, nonce, sig: b64(sig) };
}

/** True if `auth` is a valid signature by `keyB64` over this exact statement (time is checked elsewhere). */
export function verifyAuth(keyB64: string, auth: Auth, action: Action, target: string, payload = ''): boolean {
  try {
    const signed = new SecureMessageVerify(publicKey(unb64(keyB64))).verify(unb64(auth.sig));
    return bytesEqual(signed, statement(action, target, auth.ts, auth.nonce, payload));
  } catch {
    return false;
  }
}

const recordBytes = (record: NameRecord) => utf8(`komrade/v1 record\n${canonicalJson(record)}`);

/** Sign a directory record with the identity private key. */
export function signRecord(identity: PrivateKey, record: NameRecord): SignedRecord {
  return { record, sig: b64(new SecureMessageSign(identity).sign(recordBytes(record))) };
}

/** True if the record is signed by the identity key it names. */
export function verifyRecord({ record, sig }: SignedRecord): boolean {
  try {
    const signed = new SecureMessageVerify(publicKey(unb64(record.identityKey))).verify(unb64(sig));
    return bytesEqual(signed, recordBytes(record));
  } catch {
    return false;
  }
}

/** What a name registration's work is bound to (PROTOCOL.md §5.7): the folded name and the identity key. */
export const namePowPrefix = (name: string, identityKey: string): string => `komrade/v1 pow\n${name.toLowerCase()}\n${identityKey}\n`;

/** What a mailbox creation's work is bound to (PROTOCOL.md §5.2): the id and the key. */
export const mailboxPowPrefix = (id: string, key: string): string => `komrade/v2 mailbox-pow\n${id}\n${key}\n`;

/** What an intro deposit's work is bound to (PROTOCOL.md §5.3): the mailbox, a time and the blob's SHA-256. */
export const depositPowPrefix = (id: string, ts: number, blob: Uint8Array): string =>
  `komrade/v2 deposit-pow\n${id}\n${ts}\n${b64(sha256(blob))}\n`;

function leadingZeroBits(h: Uint8Array): number {
  let n = 0;
  for (const byte of h) {
    if (byte === 0) { n += 8; continue; }
    return n + Math.clz32(byte) - 24;
  }
  return n;
}

/** True if SHA-256(prefix + counter) starts with at least `bits` zero bits. */
export const checkWork = (prefix: string, counter: string, bits: number): boolean =>
  leadingZeroBits(sha256(utf8(prefix + counter))) >= bits;

/** Find a counter for `prefix` (expected 2^bits hashes). Yields to the event loop now and then; `onProgress` gets tries so far. */
export async function solveWork(prefix: string, bits: number, onProgress?: (tries: number) => void): Promise<string> {
  for (let i = 0; ; i++) {
    if (checkWork(prefix, String(i), bits)) return String(i);
    if (i % 20000 === 19999) { onProgress?.(i + 1); await new Promise((r) => setTimeout(r, 0)); }
  }
}

/** True if `counter` is a proof of work of at least `bits` for this name and identity key. */
export const checkPow = (name: string, identityKey: string, counter: string, bits: number): boolean =>
  checkWork(namePowPrefix(name, identityKey), counter, bits);

/** Find a name-registration proof-of-work counter (expected 2^bits hashes). */
export const solvePow = (name: string, identityKey: string, bits: number, onProgress?: (tries: number) => void): Promise<string> =>
  solveWork(namePowPrefix(name, identityKey), bits, onProgress);
