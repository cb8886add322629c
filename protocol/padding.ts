/**
 * Bucket padding (PROTOCOL.md §4, POSTS.md §3): what envelopes and posts seal is
 * u32 big-endian length | content | zeros, to the smallest of LIMITS.buckets that holds it, so
 * a sealed blob shows only which bucket its content fell in.
 */
import { LIMITS } from './wire.ts';

/** `content` padded to its bucket; undefined if it fits no bucket. */
export function pad(content: Uint8Array): Uint8Array | undefined {
  const bucket = LIMITS.buckets.find((b) => b >= content.length + 4);
  if (!bucket) return undefined;
  const padded = new Uint8Array(bucket);
  new DataView(padded.buffer).setUint32(0, content.length);
  padded.set(content, 4);
  return padded;
}

/** The content of a padded buffer (a view into it); undefined if its length prefix is impossible (under 2 or past the end). */
export function unpad(padded: Uint8Array): Uint8Array | undefined {
  const len = padded.length >= 4 ? new DataView(padded.buffer, padded.byteOffset).getUint32(0) : -1;
  return len < 2 || len + 4 > padded.length ? undefined : padded.subarray(4, 4 + len);
}

/** The sizes a fetch response's JSON body is padded to (PROTOCOL.md §5.4): 2 KiB holds none or one 1 KiB blob, then × 4. */
export const FETCH_BUCKETS = [2048, 8192, 32_768, 131_072, 524_288, 2_097_152, 8_388_608] as const;

/** The padded length of a fetch response whose unpadded JSON body is `length` bytes (the length itself past the last bucket). */
export function fetchResponseBucket(length: number): number {
  return FETCH_BUCKETS.find((b) => b >= length) ?? length;
}
