/**
 * Posts and the feed on the wire (POSTS.md §6): request and response bodies of the epoch, key,
 * post and cursor routes, and the statements the epoch's posting key signs. Apart from posts.ts
 * (sealing and opening posts) and vouch.ts (snarkjs) so the route table stays light.
 */
import { z } from 'zod';
import { sha256 } from '@noble/hashes/sha2.js';
import { b64, bytesEqual, concat, unb64, utf8 } from './bytes.ts';
import { FieldDecimal } from './collective.ts';
import { SecureMessageSign, SecureMessageVerify, publicKey, type PrivateKey } from './themis.ts';
import { SNARK_FIELD, VouchProof } from './vouch-wire.ts';
import * as W from './wire.ts';

/** Key envelopes in one upload at most (POSTS.md §2). */
export const MAX_KEY_BLOBS = 1000;
/** Largest body of a key upload (1,000 of the smallest envelopes, base64url, fit). */
export const KEYS_BODY_BYTES = 2 * 1024 * 1024;
/** Posts one cursor read returns at most. */
export const READ_BATCH = 50;
/** The subject every epoch and cursor proof names: scope H(kind, collective, "epoch", n). */
export const EPOCH_SUBJECT = 'epoch';

const B64 = /^[A-Za-z0-9_-]*$/;
const count = z.number().int().nonnegative();
const epochNo = z.number().int().positive().max(2 ** 31);
/** One sealed envelope (or post blob): exactly one of the envelope sizes. */
export const EnvelopeBlob = z.string().regex(B64, 'not base64url')
  .refine((s) => s.length % 4 !== 1 && W.BLOB_SIZES.includes(Math.floor((s.length * 3) / 4)), 'blob is not a padded envelope size');
/** A SHA-256 (delete hash), base64url. */
export const Hash32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes base64url');
/** A post's sequence number or a cursor position, as a path parameter. */
const SeqParam = z.string().regex(/^(0|[1-9][0-9]{0,12})$/, 'must be a sequence number');
/** A cursor id: 16 random bytes the Operator chose, base64url. */
export const CursorId = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'cursor id must be 22 base64url chars');

/**
 * The Semaphore message of an epoch or cursor proof binds what it opens (a field element in
 * place of messageFor's commitment): SHA-256 of the text, reduced into the field.
 */
export function bindingOf(text: string): bigint {
  return sha256(utf8(text)).reduce((n, byte) => (n << 8n) | BigInt(byte), 0n) % SNARK_FIELD;
}
/** What an `epoch` proof binds: the posting public key and the root the epoch is opened against. */
export const epochBinding = (postingKey: string, root: string): bigint => bindingOf(`komrade/v2 epoch\n${postingKey}\n${root}`);
/** What a `cursor` proof binds: the cursor's public key. */
export const cursorBinding = (key: string): bigint => bindingOf(`komrade/v2 cursor\n${key}`);

/** The bytes the posting key signs for a key upload: collective, epoch and SHA-256 of the blobs' bytes concatenated. */
export function keysStatement(c: string, epoch: number, blobs: readonly Uint8Array[]): Uint8Array {
  return utf8(`komrade/v2 keys\n${c.toLowerCase()}\n${epoch}\n${b64(sha256(concat(...blobs)))}`);
}
/** The bytes the posting key signs for a post: collective, epoch, SHA-256 of the blob, delete hash. */
export function postStatement(c: string, epoch: number, blob: Uint8Array, deleteHash: string): Uint8Array {
  return utf8(`komrade/v2 post\n${c.toLowerCase()}\n${epoch}\n${b64(sha256(blob))}\n${deleteHash}`);
}
/** Sign a statement with an epoch's posting key (Secure Message sign), base64url. */
export const signPosting = (key: PrivateKey, statement: Uint8Array): string => b64(new SecureMessageSign(key).sign(statement));
/** True if `sig` is the posting key `keyB64`'s signature over exactly `statement`. */
export function verifyPosting(keyB64: string, sig: string, statement: Uint8Array): boolean {
  try {
    return bytesEqual(new SecureMessageVerify(publicKey(unb64(keyB64))).verify(unb64(sig)), statement);
  } catch {
    return false;
  }
}
/** The prekey id an envelope's header carries (bytes 1..9), base64url. */
export const prekeyOfEnvelope = (blob: Uint8Array): string => b64(blob.subarray(1, 9));
/** The payload an `ack-posts` Auth signs. */
export const ackPostsPayload = (upTo: number): string => String(upTo);

// ---- path parameters ------------------------------------------------------------------------

export const EpochParams = z.strictObject({ collective: W.FoldedName, epoch: z.string().regex(/^[1-9][0-9]{0,9}$/, 'epoch must be a positive number') });
export const KeyParams = z.strictObject({ ...EpochParams.shape, prekey: W.PrekeyId });
export const PostParams = z.strictObject({ collective: W.FoldedName, seq: SeqParam });
export const CursorParams = z.strictObject({ collective: W.FoldedName, id: CursorId });

// ---- request and response bodies ------------------------------------------------------------

/** POST …/epochs: open epoch n = current + 1, with a proof of kind `epoch` binding postingKey and root. */
export const OpenEpoch = z.strictObject({ epoch: epochNo, postingKey: W.PublicKeyB64, root: FieldDecimal, proof: VouchProof });
export const OpenEpochResponse = z.strictObject({ epoch: epochNo });
/** GET …/epochs/current: the epoch, its posting public key, its root and its member count. */
export const CurrentEpoch = z.strictObject({ epoch: epochNo, postingKey: W.PublicKeyB64, root: FieldDecimal, members: count });
export type CurrentEpoch = z.infer<typeof CurrentEpoch>;
/** POST …/epochs/:epoch/keys: the bundle sealed to members, signed by the epoch's posting key. */
export const UploadKeys = z.strictObject({ blobs: z.array(EnvelopeBlob).min(1).max(MAX_KEY_BLOBS), sig: W.Signature });
export const UploadKeysResponse = z.strictObject({ stored: count });
/** GET …/epochs/:epoch/keys/:prekey */
export const KeysResponse = z.strictObject({ blobs: z.array(EnvelopeBlob) });
/** POST …/posts: one blob per post, signed by the current epoch's posting key. */
export const NewPost = z.strictObject({ epoch: epochNo, blob: EnvelopeBlob, deleteHash: Hash32, sig: W.Signature });
export const NewPostResponse = z.strictObject({ seq: count });
/** POST …/posts/:seq/delete: the delete secret (32 bytes) whose SHA-256 the post carries. */
export const DeletePost = z.strictObject({ secret: Hash32 });
export const DeletePostResponse = z.strictObject({ deleted: z.literal(true) });
/** POST …/cursors: an anonymous cursor for one epoch, its key bound in a proof of kind `cursor`. */
export const OpenCursor = z.strictObject({ epoch: epochNo, key: W.PublicKeyB64, proof: VouchProof });
export const OpenCursorResponse = z.strictObject({ id: CursorId });
/** POST …/cursors/:id/read */
export const ReadCursor = z.strictObject({ auth: W.Auth });
export const ReadCursorResponse = z.strictObject({ posts: z.array(z.strictObject({ seq: count, blob: EnvelopeBlob })).max(READ_BATCH), more: z.boolean() });
/** POST …/cursors/:id/ack */
export const AckCursor = z.strictObject({ upTo: count, auth: W.Auth });
export const AckCursorResponse = z.strictObject({ ok: z.literal(true) });
