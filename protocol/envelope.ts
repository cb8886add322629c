/**
 * The sealed envelope: how a message travels so that the Operator sees neither its sender
 * nor its length. Client-side only; the Operator just stores the resulting blob.
 *
 *   blob  = 0x01 | prekeyId (8) | ephemeralPublicKey (45) | SecureMessage(ephemeral → prekey, padded)
 *   padded = u32 length | inner | zeros, to the smallest bucket in LIMITS.buckets
 *   inner = u8 keyLength | senderIdentityKey | SecureMessageSign(senderIdentity, payload JSON)
 *   payload = { v: 1, id, t, to: b64(fingerprint(recipient identity)), body }
 *
 * The recipient checks the signature, that the message was addressed to it (no surreptitious
 * forwarding), its age, and that its id is new (no replay).
 */
import { z } from 'zod';
import { b64, unb64, concat, fromUtf8, randomBytes, utf8 } from './bytes.ts';
import { fingerprint } from './identity.ts';
import { pad, unpad } from './padding.ts';
import { KeyPair, PublicKey, SecureMessage, SecureMessageSign, SecureMessageVerify, publicKey, type PrivateKey } from './themis.ts';

const VERSION_BYTE = 1;

/** Why an envelope was refused. */
export type EnvelopeFault = 'format' | 'unknown-prekey' | 'decrypt' | 'signature' | 'not-for-me' | 'stale' | 'replay' | 'too-large';

/** Thrown by seal/open with a machine-readable reason. */
export class EnvelopeError extends Error {
  constructor(readonly fault: EnvelopeFault, message: string = fault) { super(message); this.name = 'EnvelopeError'; }
}

/** The signed payload inside every envelope. */
export const Payload = z.strictObject({
  v: z.literal(1),
  id: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  t: z.number().int().nonnegative(),
  to: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  body: z.unknown(),
});

/** What `open` returns: the verified sender identity key and the payload. */
export interface Opened { from: Uint8Array; id: string; t: number; body: unknown }

/** Seal `body` from `sender` to a recipient's identity and current prekey. */
export function seal(opts: {
  senderIdentity: { privateKey: PrivateKey; publicKey: Uint8Array };
  recipientIdentityKey: Uint8Array;
  prekey: { id: string; key: Uint8Array };
  body: unknown;
  id?: string;
  now?: number;
}): { blob: Uint8Array; id: string } {
  const id = opts.id ?? b64(randomBytes(16));
  const payload = { v: 1, id, t: opts.now ?? Date.now(), to: b64(fingerprint(opts.recipientIdentityKey)), body: opts.body };
  const signed = new SecureMessageSign(opts.senderIdentity.privateKey).sign(utf8(JSON.stringify(payload)));
  const sender = opts.senderIdentity.publicKey;
  const inner = concat(Uint8Array.of(sender.length), sender, signed);
  const padded = pad(inner);
  if (!padded) throw new EnvelopeError('too-large', 'message too large for the largest envelope');
  const eph = new KeyPair();
  const prekey = opts.prekey.key instanceof PublicKey ? opts.prekey.key : publicKey(opts.prekey.key); // already checked if it is one
  const sealed = new SecureMessage(new KeyPair(eph.privateKey, prekey)).encrypt(padded);
  const prekeyId = unb64(opts.prekey.id);
  if (prekeyId.length !== 8) throw new EnvelopeError('format', 'prekey id must be 8 bytes');
  return { blob: concat(Uint8Array.of(VERSION_BYTE), prekeyId, eph.publicKey, sealed), id };
}

/** Open a blob: decrypt with the named prekey, verify, and check addressing, age and replay. */
export function open(blob: Uint8Array, opts: {
  prekey: (id: string) => PrivateKey | undefined;
  myIdentityKey: Uint8Array;
  seen: (id: string) => boolean;
  now?: number;
  /** Oldest acceptable message age (ms); default 30 days. Future skew allowed: 1 day. */
  maxAgeMs?: number;
}): Opened {
  if (blob.length < 1 + 8 + 45 + 1 || blob[0] !== VERSION_BYTE) throw new EnvelopeError('format');
  const prekeyId = b64(blob.subarray(1, 9));
  const priv = opts.prekey(prekeyId);
  if (!priv) throw new EnvelopeError('unknown-prekey');
  let padded: Uint8Array;
  try {
    padded = new SecureMessage(new KeyPair(priv, publicKey(blob.slice(9, 54)))).decrypt(blob.subarray(54));
  } catch {
    throw new EnvelopeError('decrypt');
  }
  const inner = unpad(padded);
  if (!inner) throw new EnvelopeError('format');
  const keyLen = inner[0]!;
  const from = inner.slice(1, 1 + keyLen);
  let payload: z.infer<typeof Payload>;
  try {
    const signed = new SecureMessageVerify(publicKey(from)).verify(inner.subarray(1 + keyLen));
    payload = Payload.parse(JSON.parse(fromUtf8(signed)));
  } catch {
    throw new EnvelopeError('signature');
  }
  if (payload.to !== b64(fingerprint(opts.myIdentityKey))) throw new EnvelopeError('not-for-me');
  const now = opts.now ?? Date.now();
  if (payload.t > now + 86_400_000 || payload.t < now - (opts.maxAgeMs ?? 30 * 86_400_000)) throw new EnvelopeError('stale');
  if (opts.seen(payload.id)) throw new EnvelopeError('replay');
  return { from, id: payload.id, t: payload.t, body: payload.body };
}

/** The id of the prekey a blob is sealed to (in its clear header), or undefined if it is too short to be an envelope. */
export function prekeyIdOf(blob: Uint8Array): string | undefined {
  return blob.length >= 9 && blob[0] === VERSION_BYTE ? b64(blob.subarray(1, 9)) : undefined;
}
