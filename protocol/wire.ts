/**
 * Komrade wire protocol v2: the contract between the add-on and the Operator.
 * Every request and response body is defined here once, as a zod schema, and both sides
 * import it. PROTOCOL.md documents each message and what the Operator learns from it.
 */
import { z } from 'zod';
import { utf8 } from './bytes.ts';
import { foldName } from './names.ts';

/** Protocol version carried in every path (/v2/...) and signed statement (PROTOCOL.md §0). */
export const VERSION = 2;
/** The path prefix of every route of this version. */
export const PREFIX = `/v${VERSION}`;

/** Limits both sides agree on. The Operator refuses anything outside them. */
export const LIMITS = {
  /** Largest JSON request body the Operator reads, in bytes. */
  bodyBytes: 96 * 1024,
  /** Sizes (bytes) a sealed envelope's padded plaintext may have. */
  buckets: [1024, 4096, 16384, 65536] as const,
  /** Envelope bytes added around the padded plaintext (header + Secure Message). */
  envelopeOverhead: 1 + 8 + 45 + 52,
  /** Blobs returned by one fetch at most. */
  fetchBatch: 50,
  /** Blob ids in one ack at most. */
  ackBatch: 100,
  /** How far a signed request's timestamp may be from the Operator's clock (ms). */
  replayWindowMs: 5 * 60 * 1000,
  /** Longest a held fetch or log read may wait for something new, in seconds (§5.4): under Firefox's 300 s response timeout. */
  maxWaitSeconds: 270,
  /** How long the add-on holds each read by default, in seconds (§1 "Timing", §5.4). */
  holdSeconds: 240,
} as const;

/** Blob sizes the Operator accepts: exactly one padded bucket each. */
export const BLOB_SIZES: readonly number[] = LIMITS.buckets.map((b) => b + LIMITS.envelopeOverhead);

const B64 = /^[A-Za-z0-9_-]*$/;
/** base64url text whose decoded size lies in [min, max] bytes. */
const b64Bytes = (min: number, max: number) =>
  z.string().regex(B64, 'not base64url')
    .refine((s) => s.length % 4 !== 1, 'not base64url')
    .refine((s) => { const n = Math.floor((s.length * 3) / 4); return n >= min && n <= max; }, `must be ${min}..${max} bytes`);

/** A Themis EC public key (45 bytes), base64url. */
export const PublicKeyB64 = b64Bytes(45, 45);
/** A mailbox id: 16 random bytes, base64url (22 chars). */
export const MailboxId = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'mailbox id must be 22 base64url chars');
/** A prekey id: 8 random bytes, base64url (11 chars). */
export const PrekeyId = z.string().regex(/^[A-Za-z0-9_-]{11}$/, 'prekey id must be 11 base64url chars');
/** A komrade name: 3–32 of [a-z0-9_], unique ignoring case. */
export const Name = z.string().regex(/^[A-Za-z0-9_]{3,32}$/, 'name must be 3-32 of a-z, 0-9, _');
/** A name in a path, folded as it is parsed (the Operator keys by folded names only). */
export const FoldedName = Name.transform(foldName);
/** A blob id as the Operator assigns it. */
export const BlobId = z.string().regex(/^[0-9a-f]{12}$/, 'bad blob id');
/** A nonce: 16 random bytes, base64url. */
export const Nonce = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'nonce must be 22 base64url chars');
/** A Secure Message signed container, base64url. */
export const Signature = b64Bytes(85, 4096);

/** A proof-of-work counter: decimal, at most 16 digits. */
export const PowCounter = z.string().regex(/^[0-9]{1,16}$/, 'proof of work must be a decimal counter');

/** Proof of key possession on a request: a signed statement (see `statement`). */
export const Auth = z.strictObject({ ts: z.number().int().nonnegative(), nonce: Nonce, sig: Signature });
export type Auth = z.infer<typeof Auth>;

/** The directory record a komrade publishes, signed by its identity key. */
export const NameRecord = z.strictObject({
  v: z.literal(1),
  name: Name,
  identityKey: PublicKeyB64,
  intro: MailboxId,
  prekey: z.strictObject({ id: PrekeyId, key: PublicKeyB64 }),
  /** ms since epoch; each replacement must be newer than the last. */
  ts: z.number().int().nonnegative(),
});
export type NameRecord = z.infer<typeof NameRecord>;

/** A name record with the identity key's Secure Message signature over its canonical JSON. */
export const SignedRecord = z.strictObject({ record: NameRecord, sig: Signature });
export type SignedRecord = z.infer<typeof SignedRecord>;

// ---- requests -------------------------------------------------------------------------------

/** POST /v2/mailboxes — create a mailbox; auth signed by the mailbox key itself; `pow` bound to id and key (§5.2). */
export const CreateMailbox = z.strictObject({ id: MailboxId, key: PublicKeyB64, auth: Auth, pow: PowCounter });
/** A deposit's proof of work, required by intro mailboxes only (§5.3): bound to the mailbox, a time and the blob. */
export const DepositPow = z.strictObject({ ts: z.number().int().nonnegative(), counter: PowCounter });
export type DepositPow = z.infer<typeof DepositPow>;
/** POST /v2/mailboxes/:id/deposit — anyone: one sealed blob, no sender information. */
export const Deposit = z.strictObject({
  blob: z.string().regex(B64, 'not base64url')
    .refine((s) => s.length % 4 !== 1 && BLOB_SIZES.includes(Math.floor((s.length * 3) / 4)), 'blob is not a padded envelope size'),
  pow: DepositPow.optional(),
});
/** How long a held read may wait for something new: whole seconds, 0..LIMITS.maxWaitSeconds (§5.4). */
export const Wait = z.number().int('wait must be whole seconds').min(0, `wait must be 0..${LIMITS.maxWaitSeconds} seconds`).max(LIMITS.maxWaitSeconds, `wait must be 0..${LIMITS.maxWaitSeconds} seconds`);
/**
 * POST /v2/mailboxes/:id/fetch — the owner asks for pending blobs; with `wait` (signed, see
 * `fetchPayload`) an empty mailbox holds the answer until a blob arrives or `wait` seconds pass (§5.4).
 */
export const Fetch = z.strictObject({ auth: Auth, wait: Wait.optional() });
/** POST /v2/mailboxes/:id/ack — the owner acknowledges (and so deletes) blobs. */
export const Ack = z.strictObject({ ids: z.array(BlobId).min(1).max(LIMITS.ackBatch), auth: Auth });
/** POST /v2/mailboxes/:id/delete — the owner deletes the mailbox and all it holds. */
export const DeleteMailbox = z.strictObject({ auth: Auth });
/**
 * POST /v2/names — register a name; `pow` is the proof-of-work counter; `introAuth` proves the
 * intro mailbox's key (action `claim-intro`, target the intro id, payload the folded name; §5.7).
 */
export const Register = z.strictObject({ ...SignedRecord.shape, pow: PowCounter, introAuth: Auth });
/** PUT /v2/names/:name — replace the record (prekey rotation); same identity and intro. */
export const Replace = SignedRecord;
/**
 * POST /v2/names/:name/delete — delete the account; auth signed by the identity key. The intro
 * mailbox is deleted too only if `introAuth` proves its key (action `delete-mailbox`; §5.10).
 */
export const DeleteName = z.strictObject({ auth: Auth, introAuth: Auth.optional() });

// ---- responses ------------------------------------------------------------------------------

/** GET /v2/info */
export const InfoResponse = z.strictObject({
  v: z.literal(VERSION), powBits: z.number().int(), mailboxPowBits: z.number().int(), depositPowBits: z.number().int(), ttlDays: z.number(),
  blobSizes: z.array(z.number().int()), maxBlobsPerMailbox: z.number().int(), maxBytesPerMailbox: z.number().int(),
  /** The key-transparency log's checkpoint key, as a C2SP signed-note vkey (§5.11). */
  checkpointKey: z.string().max(200),
});
export type InfoResponse = z.infer<typeof InfoResponse>;
/** POST /v2/mailboxes/:id/fetch response: blobs in deposit order; `more` if the batch was cut; `pad`, zeros to a FETCH_BUCKETS size (padding.ts). */
export const FetchResponse = z.strictObject({
  blobs: z.array(z.strictObject({ id: BlobId, blob: z.string().regex(B64) })), more: z.boolean(),
  pad: z.string().regex(/^0*$/).optional(),
});
export type FetchResponse = z.infer<typeof FetchResponse>;
/** POST /v2/mailboxes/:id/ack response: how many of the ids were deleted now. */
export const AckResponse = z.strictObject({ deleted: z.number().int() });
/**
 * GET /v2/names/:name/available (§5.12): whether a komrade or collective could take this name
 * now; `taken` if it is held, `look-alike` if another name with the same skeleton (§5.7) is.
 */
export const AvailableResponse = z.discriminatedUnion('available', [
  z.strictObject({ available: z.literal(true) }),
  z.strictObject({ available: z.literal(false), reason: z.enum(['taken', 'look-alike']) }),
]);
export type AvailableResponse = z.infer<typeof AvailableResponse>;
/** Success without data. */
export const OkResponse = z.strictObject({ ok: z.literal(true) });
/** Every error: a 4xx status and a short reason. */
export const ErrorResponse = z.strictObject({ error: z.string() });

// ---- signed statements ----------------------------------------------------------------------

/** What a signed request is about. */
export type Action = 'create-mailbox' | 'fetch' | 'ack' | 'delete-mailbox' | 'delete-name' | 'claim-intro' | 'leave-collective' | 'move-collective' | 'read-posts' | 'ack-posts';

/**
 * The exact bytes an `Auth.sig` signs: protocol, action, target (mailbox id or lower-case
 * name), timestamp, nonce and a digest of the request's payload (e.g. the acked ids).
 */
export function statement(action: Action, target: string, ts: number, nonce: string, payload = ''): Uint8Array {
  return utf8(`komrade/v${VERSION}\n${action}\n${target}\n${ts}\n${nonce}\n${payload}`);
}

/** Payload string a fetch signs: empty without a wait, `wait=<seconds>` with one (so it cannot be altered). */
export const fetchPayload = (wait?: number): string => (wait === undefined ? '' : `wait=${wait}`);

/** Payload string an ack signs: its ids, in order. */
export const ackPayload = (ids: readonly string[]): string => ids.join(',');
