/**
 * The Operator address setting: only a v3 onion (`http://<56 base32 chars>.onion`, with its
 * checksum verified), or, when the developer option is on, a loopback URL. Never clearnet.
 */
import { sha3_256 } from '@noble/hashes/sha3.js';
import { base32nopad } from '@scure/base';
import { concat, utf8 } from '../../protocol/bytes.ts';
import { UserError } from '../api.ts';

/** Onion names are RFC 4648 base32 without padding, lower-cased (tor's rend-spec-v3 §6). */
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

/**
 * Normalise and check an Operator address. Returns the URL origin (no trailing slash) or
 * throws a UserError, whose message is meant for the person.
 */
export function checkOperatorAddress(input: string, allowLoopback: boolean): string {
  const text = input.trim().toLowerCase();
  const withScheme = /^[a-z]+:\/\//.test(text) ? text : `http://${text}`;
  let url: URL;
  try { url = new URL(withScheme); } catch { throw new UserError('That is not an address.'); }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) throw new UserError('Give only the address, like http://…onion');
  if (url.hostname.endsWith('.onion')) {
    if (url.protocol !== 'http:') throw new UserError('Use http:// for an onion address (Tor already encrypts it).');
    if (!isV3Onion(url.hostname)) throw new UserError('Not a valid v3 onion address (56 characters, checksum must match).');
    return url.origin;
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (loopback && allowLoopback && url.protocol === 'http:') return url.origin;
  if (loopback) throw new UserError('Loopback addresses need the developer option.');
  throw new UserError('Only onion addresses: Komrade never talks to the Operator outside Tor.');
}
