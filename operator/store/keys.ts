/**
 * Key and value codecs more than one record family uses (PROTOCOL.md §6, POSTS.md §7):
 * sortable hex sequence numbers, and the hour stamp that blobs and key envelopes start with.
 */

/** A sequence number as it appears in keys (12 hex digits, sortable). */
export const seqKey = (seq: number) => seq.toString(16).padStart(12, '0');

/** `data` behind a 4-byte big-endian hour number (the only time a stored blob keeps). */
export function stamped(hour: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, hour);
  out.set(data, 4);
  return out;
}

/** The hour stamp a stored blob value starts with. */
export const stampOf = (value: Uint8Array) => new DataView(value.buffer, value.byteOffset).getUint32(0);
