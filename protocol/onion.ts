/**
 * Tor v3 onion names (tor's rend-spec-v3 §6): the check both sides need, for the Operator
 * address setting and for addresses that name an Operator (PROTOCOL.md, "Addressing across
 * Operators").
 */
import { sha3_256 } from '@noble/hashes/sha3.js';
import { base32nopad } from '@scure/base';
import { concat, utf8 } from './bytes.ts';

/** Onion names are RFC 4648 base32 without padding, lower-cased. */
const onionBase32 = { decode: (s: string) => base32nopad.decode(s.toUpperCase()), encode: (b: Uint8Array) => base32nopad.encode(b).toLowerCase() };

/** True if `host` is a v3 onion name with a valid checksum and version byte. */
export function isV3Onion(host: string): boolean {
  const m = /^([a-z2-7]{56})\.onion$/.exec(host);
  if (!m) return false;
  const raw = onionBase32.decode(m[1]!);
  const pubkey = raw.subarray(0, 32), checksum = raw.subarray(32, 34), version = raw[34];
  if (version !== 3) return false;
  const expect = sha3_256(concat(utf8('.onion checksum'), pubkey, Uint8Array.of(3)));
  return expect[0] === checksum[0] && expect[1] === checksum[1];
}

/** Encode a 32-byte ed25519 public key as a v3 onion host name (used by tests and tools). */
export function onionFromKey(pubkey: Uint8Array): string {
  const check = sha3_256(concat(utf8('.onion checksum'), pubkey, Uint8Array.of(3))).subarray(0, 2);
  const raw = concat(pubkey, check, Uint8Array.of(3));
  return `${onionBase32.encode(raw)}.onion`;
}
