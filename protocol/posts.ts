/**
 * Posts to a collective (POSTS.md §1, §3): the epoch bundle members share, and sealing and
 * opening a post — padded to the envelope buckets, sealed with a key derived from the epoch
 * key (Secure Cell, the collective and epoch as context), and signed inside by the author's
 * identity key so that no member can post as another and the Operator sees no author.
 */
import { z } from 'zod';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { b64, unb64, concat, fromUtf8, randomBytes, utf8 } from './bytes.ts';
import { EpochBundle, MAX_TEXT } from './message.ts';
import { pad, unpad } from './padding.ts';
import { KeyPair, SecureCellSeal, SecureMessageSign, SecureMessageVerify, publicKey, type PrivateKey } from './themis.ts';
import { Handle } from './address.ts';
import { LIMITS, Name } from './wire.ts';

const POST_VERSION = 2;
/** What every member of an epoch holds (POSTS.md §1); the schema lives in message.ts, beside the hand-over that carries it. */
export { EpochBundle };

/** A new epoch bundle for `collective` at `epoch`, opened against the member tree's `root`. */
export function newEpochBundle(collective: string, epoch: number, root: string): EpochBundle {
  const posting = new KeyPair();
  return { kind: 'epoch-key', collective: collective.toLowerCase(), epoch, key: b64(randomBytes(32)), posting: { priv: b64(posting.privateKey), pub: b64(posting.publicKey) }, root };
}

/** The signed content of a post or a tombstone. */
export const PostPayload = z.discriminatedUnion('kind', [
  z.strictObject({ v: z.literal(POST_VERSION), kind: z.literal('post'), id: z.string().regex(/^[A-Za-z0-9_-]{22}$/), collective: Name, epoch: z.number().int().positive(), author: Handle, t: z.number().int().nonnegative(), text: z.string().min(1).max(MAX_TEXT), deleteHash: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }),
  z.strictObject({ v: z.literal(POST_VERSION), kind: z.literal('tombstone'), id: z.string().regex(/^[A-Za-z0-9_-]{22}$/), collective: Name, epoch: z.number().int().positive(), author: Handle, t: z.number().int().nonnegative(), target: z.string().regex(/^[A-Za-z0-9_-]{22}$/) }),
]);
export type PostPayload = z.infer<typeof PostPayload>;

/** Why a post blob was refused by a reader. */
export class PostError extends Error { constructor(message: string) { super(message); this.name = 'PostError'; } }

/** The Secure Cell key for posts of one epoch: HKDF of the epoch key (POSTS.md §1). */
function postKey(bundle: EpochBundle): Uint8Array {
  return hkdf(sha256, unb64(bundle.key), utf8(`${bundle.collective}|${bundle.epoch}`), utf8('komrade/v2 post'), 32);
}
const context = (b: EpochBundle) => utf8(`komrade/v2 post\n${b.collective}\n${b.epoch}`);

/** SHA-256 of a delete secret, as the post and the Operator carry it (POSTS.md §5). */
export const deleteHashOf = (secret: Uint8Array): string => b64(sha256(secret));

/**
 * Seal a post (or tombstone) for an epoch, signed by the author's identity key. Returns the
 * blob the Operator stores (one of the envelope sizes) and, for a post, its delete secret.
 */
export function sealPost(bundle: EpochBundle, author: { name: string; identity: { privateKey: PrivateKey; publicKey: Uint8Array } },
  content: { text: string } | { target: string }, now = Date.now()): { blob: Uint8Array; id: string; deleteSecret?: Uint8Array } {
  const id = b64(randomBytes(16));
  const base = { v: POST_VERSION, id, collective: bundle.collective, epoch: bundle.epoch, author: author.name.toLowerCase(), t: now } as const;
  const deleteSecret = 'text' in content ? randomBytes(32) : undefined;
  const payload: PostPayload = 'text' in content
    ? { ...base, kind: 'post', text: content.text, deleteHash: deleteHashOf(deleteSecret!) }
    : { ...base, kind: 'tombstone', target: content.target };
  PostPayload.parse(payload);
  const signed = new SecureMessageSign(author.identity.privateKey).sign(utf8(JSON.stringify(payload)));
  const body = concat(Uint8Array.of(author.identity.publicKey.length), author.identity.publicKey, signed);
  // the Secure Cell adds a fixed header; the bucket is chosen so the sealed blob is one of the envelope sizes
  const overhead = LIMITS.envelopeOverhead - 1;
  const padded = pad(body);
  if (!padded) throw new PostError('post too large');
  const sealed = SecureCellSeal.withKey(postKey(bundle)).encrypt(padded, context(bundle));
  const out = new Uint8Array(1 + overhead + padded.length);
  out[0] = 2;
  out.set(sealed, 1);
  return { blob: out, id, deleteSecret };
}

/** Open a post blob with the epoch bundle; returns the payload and the signing key, or throws PostError. */
export function openPost(bundle: EpochBundle, blob: Uint8Array): { payload: PostPayload; authorKey: Uint8Array } {
  if (blob[0] !== 2) throw new PostError('not a post');
  const sealedLen = blob.length - 1 - (LIMITS.envelopeOverhead - 1);
  let padded: Uint8Array;
  try {
    const cellLen = sealedLen + (SecureCellSeal.withKey(postKey(bundle)).encrypt(new Uint8Array(1), context(bundle)).length - 1);
    padded = SecureCellSeal.withKey(postKey(bundle)).decrypt(blob.subarray(1, 1 + cellLen), context(bundle));
  } catch { throw new PostError('cannot decrypt (another epoch or not a member)'); }
  const body = unpad(padded);
  if (!body) throw new PostError('bad padding');
  const authorKey = body.slice(1, 1 + body[0]!);
  let payload: PostPayload;
  try {
    const signed = new SecureMessageVerify(publicKey(authorKey)).verify(body.subarray(1 + body[0]!));
    payload = PostPayload.parse(JSON.parse(fromUtf8(signed)));
  } catch { throw new PostError('bad signature'); }
  if (payload.collective !== bundle.collective || payload.epoch !== bundle.epoch) throw new PostError('post for another collective or epoch');
  return { payload, authorKey };
}

/**
 * Open a post as a reader must (POSTS.md §3): decrypt and verify, then check the signing key is
 * the directory's identity key for the named author (`keyOf`, e.g. from the member's replayed
 * log or a lookup). A member who signs with their own key but names another is refused.
 */
export function openPostFrom(bundle: EpochBundle, blob: Uint8Array, keyOf: (author: string) => Uint8Array | undefined): PostPayload {
  const { payload, authorKey } = openPost(bundle, blob);
  const known = keyOf(payload.author);
  if (!known || known.length !== authorKey.length || !known.every((b, i) => b === authorKey[i])) throw new PostError('the author key is not the directory\'s');
  return payload;
}
