/**
 * The Operator's signed-request check (PROTOCOL.md §4) on Node's own crypto. A Themis Secure
 * Message signature is a container `u32 type | u32 message length | u32 signature length |
 * message | DER ECDSA signature` (little-endian; P-256, SHA-256), which OpenSSL verifies in
 * about a tenth of wasm-themis's time. What is accepted stays exactly what Themis accepts:
 * a key is used natively only after wasm-themis itself accepted a signature by it (so Themis
 * has checked its container), only containers in that exact canonical form are verified
 * natively, and anything else goes to wasm-themis as before.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { bytesEqual, unb64 } from '../protocol/bytes.ts';
import { verifyAuth } from '../protocol/identity.ts';
import { statement, type Action, type Auth } from '../protocol/wire.ts';

/** Themis's type tag of an EC-signed Secure Message, as the u32 it is stored as. */
const EC_SIGNED = 0x26042620;
/** DER SubjectPublicKeyInfo prefix of a compressed P-256 point (id-ecPublicKey, prime256v1). */
const SPKI_P256 = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
/** Keys kept imported at most (least recently used dropped first). */
const MAX_KEYS = 10_000;
/** Mailbox and identity keys (b64) that wasm-themis has accepted, imported for OpenSSL. */
const keys = new Map<string, KeyObject>();

/** The message and signature of a canonical EC-signed container; undefined for anything else. */
function container(sig: Uint8Array): { message: Uint8Array; signature: Uint8Array } | undefined {
  if (sig.length < 12) return undefined;
  const dv = new DataView(sig.buffer, sig.byteOffset, sig.length);
  const type = dv.getUint32(0, true), messageLength = dv.getUint32(4, true), signatureLength = dv.getUint32(8, true);
  if (type !== EC_SIGNED || messageLength === 0 || signatureLength === 0 || 12 + messageLength + signatureLength !== sig.length) return undefined;
  return { message: sig.subarray(12, 12 + messageLength), signature: sig.subarray(12 + messageLength) };
}

/** A Themis EC public key (45 bytes: `UEC2`, length, checksum, compressed point) imported for OpenSSL; undefined if it is not one. */
function importKey(bytes: Uint8Array): KeyObject | undefined {
  if (bytes.length !== 45 || bytes[0] !== 0x55 || bytes[1] !== 0x45 || bytes[2] !== 0x43 || bytes[3] !== 0x32) return undefined;
  try { return createPublicKey({ key: Buffer.concat([SPKI_P256, bytes.subarray(12)]), format: 'der', type: 'spki' }); } catch { return undefined; }
}

/** True if `auth` is a valid signature by `keyB64` over this exact statement: `verifyAuth`'s answer, faster. */
export function checkAuth(keyB64: string, auth: Auth, action: Action, target: string, payload = ''): boolean {
  const key = keys.get(keyB64);
  if (!key) {
    // first sight of this key: Themis decides, and the key is kept only if OpenSSL agrees
    if (!verifyAuth(keyB64, auth, action, target, payload)) return false;
    let bytes: Uint8Array, sig: Uint8Array;
    try { bytes = unb64(keyB64); sig = unb64(auth.sig); } catch { return true; }
    const imported = importKey(bytes), parts = container(sig);
    if (imported && parts && verify('sha256', parts.message, { key: imported, dsaEncoding: 'der' }, parts.signature)) {
      keys.set(keyB64, imported);
      if (keys.size > MAX_KEYS) keys.delete(keys.keys().next().value!);
    }
    return true;
  }
  keys.delete(keyB64); keys.set(keyB64, key); // most recently used last
  let sig: Uint8Array;
  try { sig = unb64(auth.sig); } catch { return false; }
  const parts = container(sig);
  if (!parts) return verifyAuth(keyB64, auth, action, target, payload);
  if (!bytesEqual(parts.message, statement(action, target, auth.ts, auth.nonce, payload))) return false;
  try { return verify('sha256', parts.message, { key, dsaEncoding: 'der' }, parts.signature); } catch { return false; }
}
