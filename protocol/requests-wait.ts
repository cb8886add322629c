/**
 * The held read of a collective's open join requests (COLLECTIVES.md §10, "Held requests
 * read"): what the reader has seen is named by a digest of the list, and the Operator holds the
 * read while the list still has that digest. Both sides compute the digest here, from the same
 * public `list-requests` answer, so the Operator learns nothing the public read does not tell it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { canonicalJson, utf8 } from './bytes.ts';
import { foldName } from './names.ts';
import { Wait } from './wire.ts';

/** A requests digest: 16 lowercase hex digits. */
export const RequestsDigest = z.string().regex(/^[0-9a-f]{16}$/, 'seen must be 16 lowercase hex digits');

/** POST /v2/collectives/:collective/requests/wait: `{ wait, seen }` (seen: the digest of the list last read). */
export const WaitRequests = z.strictObject({ wait: Wait, seen: RequestsDigest });

/** The digest of an open-requests list: who asks, with how many vouches, in the list's order (the first 8 bytes of SHA-256 of its canonical JSON). */
export function requestsDigest(requests: readonly { request: { name: string }; vouches: number }[]): string {
  const list = requests.map((r) => [foldName(r.request.name), r.vouches]);
  return bytesToHex(sha256(utf8(canonicalJson(list)))).slice(0, 16);
}
