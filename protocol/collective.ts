/**
 * Collectives (COLLECTIVES.md): the founder's signed charter, a komrade's signed join request,
 * the membership log, and the request and response bodies of the collective routes. The
 * Semaphore side (proofs, scopes, messages) is in vouch.ts, the quorum rules in quorum.ts.
 */
import { z } from 'zod';
import { sha256 } from '@noble/hashes/sha2.js';
import { b64, bytesEqual, canonicalJson, unb64, utf8 } from './bytes.ts';
import { Handle } from './address.ts';
import { QuorumRule } from './quorum.ts';
import { SecureMessageSign, SecureMessageVerify, publicKey, type PrivateKey } from './themis.ts';
import { SNARK_FIELD, VouchProof, decimalBelow } from './vouch-wire.ts';
import * as W from './wire.ts';

/** Longest charter description, in characters. */
export const MAX_DESCRIPTION = 500;
/** Most open join requests one collective holds; more are refused (429). */
export const MAX_OPEN_REQUESTS = 1000;
/** Most log entries one read returns. */
export const LOG_BATCH = 100;
/** How many roots since the last removal the Operator accepts proofs against (COLLECTIVES.md §4). */
export const ACCEPTED_ROOTS = 64;
/** How old an accepted root may be, except the current one (ms). */
export const ROOT_MAX_AGE_MS = 7 * 86_400_000;

/** A canonical decimal below the SNARK field order. */
export const FieldDecimal = decimalBelow(SNARK_FIELD);
/** A member's Semaphore commitment: a non-zero field element, decimal (0 marks a removed leaf). */
export const Commitment = FieldDecimal.refine((s) => s !== '0', 'a commitment cannot be 0');

/** The founder's charter: immutable, signed by the founder's identity key (§3). */
export const Charter = z.strictObject({
  v: z.literal(2),
  name: W.Name,
  description: z.string().max(MAX_DESCRIPTION).refine((s) => !/\p{Cs}/u.test(s), 'description is not well-formed Unicode (a lone surrogate)'),
  quorum: QuorumRule,
  /** ms since epoch; within the replay window of the Operator's clock when founded. */
  created: z.number().int().nonnegative(),
  founder: W.Name,
  founderKey: W.PublicKeyB64,
  /** The founder's commitment in this collective: leaf 0. */
  founderCommitment: Commitment,
});
export type Charter = z.infer<typeof Charter>;
export const SignedCharter = z.strictObject({ charter: Charter, sig: W.Signature });
export type SignedCharter = z.infer<typeof SignedCharter>;

/** A named komrade's request to join (§5.1), signed by their identity key (the directory's). */
export const JoinRequest = z.strictObject({
  v: z.literal(2),
  collective: W.Name,
  /** The candidate's handle at the collective's Operator: a bare name, or `name@<home host>` for another Operator's komrade (§15). */
  name: Handle,
  identityKey: W.PublicKeyB64,
  commitment: Commitment,
  /** The prekey a member's add-on seals the group key to (§8). */
  prekey: z.strictObject({ id: W.PrekeyId, key: W.PublicKeyB64 }),
  /** ms since epoch; within the replay window of the Operator's clock. */
  ts: z.number().int().nonnegative(),
});
export type JoinRequest = z.infer<typeof JoinRequest>;
export const SignedJoin = z.strictObject({ request: JoinRequest, sig: W.Signature });
export type SignedJoin = z.infer<typeof SignedJoin>;

const charterBytes = (c: Charter) => utf8(`komrade/v2 charter\n${canonicalJson(c)}`);
const joinBytes = (r: JoinRequest) => utf8(`komrade/v2 join\n${canonicalJson(r)}`);

function verifySigned(keyB64: string, sig: string, bytes: Uint8Array): boolean {
  try {
    return bytesEqual(new SecureMessageVerify(publicKey(unb64(keyB64))).verify(unb64(sig)), bytes);
  } catch {
    return false;
  }
}

/** Sign a charter with the founder's identity key. */
export const signCharter = (identity: PrivateKey, charter: Charter): SignedCharter =>
  ({ charter, sig: b64(new SecureMessageSign(identity).sign(charterBytes(charter))) });
/** True if the charter is signed by the founder key it names. */
export const verifyCharter = ({ charter, sig }: SignedCharter): boolean => verifySigned(charter.founderKey, sig, charterBytes(charter));

/** Sign a join request with the candidate's identity key. */
export const signJoin = (identity: PrivateKey, request: JoinRequest): SignedJoin =>
  ({ request, sig: b64(new SecureMessageSign(identity).sign(joinBytes(request))) });
/** True if the join request is signed by the identity key it names. */
export const verifyJoin = ({ request, sig }: SignedJoin): boolean => verifySigned(request.identityKey, sig, joinBytes(request));

/** The payload a `leave-collective` Auth signs (target: the collective, lower-cased): the member's name and commitment. */
export const leavePayload = (name: string, commitment: string): string => `${name.toLowerCase()}\n${commitment}`;
/** The payload a `move-collective` Auth signs (target: the collective, lower-cased): the old handle, the new one and the commitment (§15.1). */
export const movePayload = (from: string, to: string, commitment: string): string => `${from.toLowerCase()}\n${to.toLowerCase()}\n${commitment}`;

/** One entry of a collective's append-only, hash-chained membership log (§6). */
export const LogEntry = z.strictObject({
  seq: z.number().int().nonnegative(),
  /** b64url SHA-256 of the canonical JSON of the previous entry; "" for seq 0. */
  prev: z.string().regex(/^([A-Za-z0-9_-]{43})?$/, 'prev must be a SHA-256, base64url, or empty'),
  /** Hour the entry was made (ms, rounded down to the hour: nothing finer is kept). */
  ts: z.number().int().nonnegative(),
  type: z.enum(['found', 'admit', 'leave', 'expel', 'move']),
  /** The member this entry is about (lower-cased; `name@<host>` for another Operator's komrade, §15). */
  name: Handle,
  leaf: z.number().int().nonnegative(),
  commitment: Commitment,
  /** The epoch of the proofs' scope (admit: the vouch epoch; expel: the expel epoch; else 0). */
  epoch: z.number().int().nonnegative(),
  charter: SignedCharter.optional(),
  request: SignedJoin.optional(),
  leave: z.strictObject({ auth: W.Auth }).optional(),
  /** move: the member's new handle (`name` is the old one) and its Auth (`move-collective`, §15.1). */
  move: z.strictObject({ to: Handle, auth: W.Auth }).optional(),
  /** admit: the vouches that admitted; expel: the votes. */
  proofs: z.array(VouchProof),
  /** The tree's root after this entry. */
  root: FieldDecimal,
});
export type LogEntry = z.infer<typeof LogEntry>;

/** The hash the next entry's `prev` (and the collective's `head`) carries. */
export const entryHash = (e: LogEntry): string => b64(sha256(utf8(canonicalJson(e))));

// ---- request and response bodies ------------------------------------------------------------

/** POST /v2/collectives: the signed charter and proof of work bound to (name, founder key) like a name's. */
export const CreateCollective = z.strictObject({ ...SignedCharter.shape, pow: W.PowCounter });
export const CreateCollectiveResponse = z.strictObject({ root: FieldDecimal, seq: z.literal(0) });

const count = z.number().int().nonnegative();

/** GET /v2/collectives/:collective */
export const CollectiveInfo = z.strictObject({
  ...SignedCharter.shape,
  /** Current members (non-zero leaves): the n of the quorum. */
  members: count,
  /** Leaves in the tree, removed ones included. */
  leaves: count,
  root: FieldDecimal,
  /** Sequence number and hash of the last log entry. */
  seq: count,
  head: z.string(),
  /** Vouches a candidate needs now, and expel votes a removal needs now. */
  needed: count,
  expelNeeded: count,
  requests: count,
});
export type CollectiveInfo = z.infer<typeof CollectiveInfo>;

/** GET /v2/collectives/:collective/tree: every leaf in order ("0" = removed), the root and the roots proofs may use. */
export const TreeResponse = z.strictObject({ leaves: z.array(FieldDecimal), root: FieldDecimal, acceptedRoots: z.array(FieldDecimal) });
export type TreeResponse = z.infer<typeof TreeResponse>;

/** GET /v2/collectives/:collective/log/:from: up to LOG_BATCH entries from `from`. */
export const LogResponse = z.strictObject({ entries: z.array(LogEntry).max(LOG_BATCH), more: z.boolean() });
/** POST /v2/collectives/:collective/log/:from/wait: the log read, held up to `wait` seconds while it has no entry from `from` (§10). */
export const WaitLog = z.strictObject({ wait: W.Wait });

/** GET /v2/collectives/:collective/members/:name: a current member, the vouches counted for them, and the epochs proofs about them must name. */
export const MemberInfo = z.strictObject({
  name: Handle, leaf: count, commitment: Commitment, vouches: count, vouchEpoch: count, expelEpoch: count, votes: count, expelNeeded: count,
});
export type MemberInfo = z.infer<typeof MemberInfo>;

/** POST /v2/collectives/:collective/requests */
export const Join = SignedJoin;
export const JoinResponse = z.strictObject({ epoch: count, vouches: count, needed: count, admitted: z.boolean(), seq: count.optional() });

/** GET /v2/collectives/:collective/requests: the open requests (public). */
export const RequestsResponse = z.strictObject({
  requests: z.array(z.strictObject({ ...SignedJoin.shape, epoch: count, vouches: count, needed: count })),
});
export type RequestsResponse = z.infer<typeof RequestsResponse>;

/** POST /v2/collectives/:collective/vouches/:name and …/members/:name/expel: one anonymous proof, no Auth. */
export const ProofBody = z.strictObject({ proof: VouchProof });
/** A vouch's outcome: `open` (still a candidate), `admitted` (this vouch reached quorum), `member` (a vouch for an existing member). */
export const VouchResponse = z.strictObject({ vouches: count, needed: count, state: z.enum(['open', 'admitted', 'member']), seq: count.optional() });
export type VouchResponse = z.infer<typeof VouchResponse>;
export const ExpelResponse = z.strictObject({ votes: count, needed: count, expelled: z.boolean(), seq: count.optional() });
export type ExpelResponse = z.infer<typeof ExpelResponse>;

/** POST /v2/collectives/:collective/members/:name/leave: Auth by the member's identity key. */
export const Leave = z.strictObject({ auth: W.Auth });
export const LeaveResponse = z.strictObject({ seq: count });
/** POST /v2/collectives/:collective/members/:name/move: the new handle and an Auth by the member's identity key (§15.1). */
export const Move = z.strictObject({ to: Handle, auth: W.Auth });

/** GET /v2/names/:name/vouches: vouches counted for a komrade in the current epoch of each collective (public). */
export const VouchCounts = z.strictObject({ total: count, collectives: z.record(W.Name, count) });
export type VouchCounts = z.infer<typeof VouchCounts>;
