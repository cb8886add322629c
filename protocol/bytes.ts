/**
 * Byte helpers shared by the add-on and the Operator: base64url, UTF-8, concatenation,
 * canonical JSON (RFC 8785, by the `canonicalize` package, maintained by the RFC's author).
 * Works in Node 20 and Firefox.
 */
import canonicalize from 'canonicalize';

/** Native base64 where there is one: Uint8Array.prototype.toBase64 (Firefox 133+), Node's Buffer; else the portable code below. */
const nativeTo = (Uint8Array.prototype as unknown as { toBase64?: (o: object) => string }).toBase64;
const nativeFrom = (Uint8Array as unknown as { fromBase64?: (s: string, o: object) => Uint8Array }).fromBase64;
const NodeBuffer = (globalThis as unknown as { Buffer?: { from(b: ArrayBufferLike | string, o?: number | string, l?: number): Uint8Array & { toString(enc: string): string } } }).Buffer;

/** Encode as unpadded base64url. */
export function b64(bytes: Uint8Array): string {
  if (nativeTo) return nativeTo.call(bytes, { alphabet: 'base64url', omitPadding: true });
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  return portableB64(bytes);
}

/** base64url without native help (Tor Browser 14.5's Firefox 128 has no toBase64); tests compare it with the native paths. */
export function portableB64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decode unpadded base64url; throws on anything else. Always a fresh array of its own. */
export function unb64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error('bad base64url');
  if (nativeFrom) return nativeFrom(text, { alphabet: 'base64url', lastChunkHandling: 'loose' });
  if (NodeBuffer) return new Uint8Array(NodeBuffer.from(text, 'base64url'));
  return portableUnb64(text);
}

/** Decoding without native help, for checked input (see `portableB64`). */
export function portableUnb64(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const encoder = new TextEncoder(), decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 encode. */
export const utf8 = (s: string): Uint8Array => encoder.encode(s);

/** Strict UTF-8 decode (throws on invalid sequences). */
export const fromUtf8 = (b: Uint8Array): string => decoder.decode(b);

/** Concatenate byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Constant-time-ish equality of two byte arrays. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Random bytes from the platform CSPRNG (filled 64 KiB at a time, its per-call limit). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/**
 * The JSON Canonicalization Scheme (RFC 8785) of `value`: the exact bytes that get signed and
 * hashed. Throws on what JCS refuses (a lone surrogate, NaN, Infinity, a cycle); the schemas of
 * every signed object admit none of these.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('no JSON representation');
  return text;
}
