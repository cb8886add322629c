/**
 * Wire shapes of the key-transparency log (PROTOCOL.md §5.11): the proof a look-up carries,
 * the consistency route's and the entries route's answers. Hashes and openings are base64url
 * (as everywhere in the protocol); the checkpoint is the signed note's text (standard base64
 * inside, as C2SP has it).
 */
import { z } from 'zod';
import { SignedRecord } from '../wire.ts';
import { DEPTH, MAX_BUCKET } from './name-index.ts';

/** Most entries the entries route answers at once. */
export const MAX_ENTRIES = 1000;
/** Longest proof: one hash per level of a tree of up to 2⁶³ leaves, twice for consistency. */
const MAX_PROOF = 128;

/** A 32-byte hash or opening, base64url (43 chars). */
export const Hash32 = z.string().regex(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/, 'must be 32 bytes of base64url');
/** A leaf index or tree size. */
export const LogIndex = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A signed checkpoint note (C2SP tlog-checkpoint), as text. */
export const CheckpointNote = z.string().min(1).max(4096);

/** A proof of one position in the name index (§5.11.6): the bucket's entries, the non-default siblings' bitmap and the siblings. */
export const IndexProof = z.strictObject({
  bucket: z.array(z.strictObject({ position: Hash32, index: LogIndex, leaf: Hash32 })).max(MAX_BUCKET),
  bitmap: z.number().int().min(0).max(2 ** DEPTH - 1),
  siblings: z.array(Hash32).max(DEPTH),
});

/** What a look-up adds to the record: the leaf's index (= its seq), opening, inclusion proof, the checkpoint it is proved in and the name's index proof there. */
export const LogProof = z.strictObject({
  index: LogIndex, opening: Hash32, proof: z.array(Hash32).max(MAX_PROOF), checkpoint: CheckpointNote, names: IndexProof,
});
export type LogProof = z.infer<typeof LogProof>;

/** GET /v2/names/:name response: the signed record and its log proof. */
export const LookupResponse = z.strictObject({ ...SignedRecord.shape, log: LogProof });
export type LookupResponse = z.infer<typeof LookupResponse>;

/** GET /v2/log/consistency/:from/:to response. */
export const ConsistencyResponse = z.strictObject({ proof: z.array(Hash32).max(MAX_PROOF) });

/** One log entry: its leaf hash, while the name lives what opens it, and for a deletion the leaf index it removes. */
export const LogEntry = z.strictObject({
  index: LogIndex, leaf: Hash32, removes: LogIndex.optional(),
  live: z.strictObject({ name: z.string().max(64), key: z.string().max(128), opening: Hash32 }).optional(),
});
export type LogEntry = z.infer<typeof LogEntry>;

/** GET /v2/log/entries/:from response: entries from `from` on, within `checkpoint`. */
export const EntriesResponse = z.strictObject({ entries: z.array(LogEntry).max(MAX_ENTRIES), checkpoint: CheckpointNote });

/** GET /v2/log/index/:name response: the name's index proof at the newest checkpoint. */
export const IndexResponse = z.strictObject({ proof: IndexProof, checkpoint: CheckpointNote });

/** GET /v2/log/checkpoint response: the newest signed checkpoint. */
export const CheckpointResponse = z.strictObject({ checkpoint: CheckpointNote });

const size = z.string().regex(/^(0|[1-9][0-9]{0,14})$/, 'must be a tree size');
/** Path parameters of the consistency route. */
export const ConsistencyParams = z.strictObject({ from: size, to: size });
/** Path parameters of the entries route. */
export const EntriesParams = z.strictObject({ from: size });
