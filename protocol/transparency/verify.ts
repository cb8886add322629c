/**
 * Checking what the key-transparency log serves (PROTOCOL.md §5.11): a leaf's commitment to
 * (name, key, seq), a look-up's inclusion proof in its signed checkpoint, and the consistency
 * of a newer checkpoint with an older one. Every failure is an error that says what failed.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { b64, bytesEqual, canonicalJson, concat, unb64, utf8 } from '../bytes.ts';
import type { SignedCharter } from '../collective.ts';
import { foldName } from '../names.ts';
import type { SignedRecord } from '../wire.ts';
import { openCheckpoint, type NoteKey, type SignedCheckpoint } from './checkpoint.ts';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.ts';
import { position, verifyIndexProof, type IndexProof, type IndexValue } from './name-index.ts';
import type { LogProof } from './wire.ts';

/** The leaf hash committing to (name, key, seq) under a random `opening`: SHA-256(0x00 ‖ opening ‖ canonical JSON). */
export function logLeaf(opening: Uint8Array, name: string, key: string, seq: number): Uint8Array {
  return leafHash(concat(opening, utf8(canonicalJson({ name, key, seq }))));
}

/** The `key` a collective's charter leaf commits to: `charter:` and the base64url SHA-256 of the canonical signed charter. */
export function charterKey(signed: SignedCharter): string {
  return `charter:${b64(sha256(utf8(canonicalJson(signed))))}`;
}

/** A log proof that does not hold: `kind` says which check failed (for the warning shown). */
export class LogProofError extends Error {
  constructor(readonly kind: 'checkpoint' | 'inclusion' | 'consistency' | 'witness' | 'index', message: string) { super(message); }
}

/** Check a look-up's record against its log proof; returns the checkpoint it is proved in. */
export async function verifyLookup(rec: SignedRecord & { log: LogProof }, key: NoteKey): Promise<SignedCheckpoint> {
  let cp: SignedCheckpoint;
  try { cp = await openCheckpoint(rec.log.checkpoint, key); } catch (e) { throw new LogProofError('checkpoint', (e as Error).message); }
  const leaf = logLeaf(unb64(rec.log.opening), foldName(rec.record.name), rec.record.identityKey, rec.log.index);
  if (!verifyInclusion(leaf, rec.log.index, cp.size, rec.log.proof.map(unb64), cp.root)) {
    throw new LogProofError('inclusion', `the key of @${rec.record.name} is not in the Operator's log at the place it claims`);
  }
  const at = indexValue(cp, foldName(rec.record.name), rec.log.names);
  if (!at || at.index !== rec.log.index || !bytesEqual(at.leaf, leaf)) {
    throw new LogProofError('index', `the Operator's name index does not point @${rec.record.name} at the key it served (it shows ${at ? `entry ${at.index}` : 'no entry'}, the record entry ${rec.log.index})`);
  }
  return cp;
}

/** What checkpoint `cp`'s name index maps folded `name` to (undefined: absent), by `proof`; throws a LogProofError('index') if it does not hold. */
export function indexValue(cp: SignedCheckpoint, name: string, proof: IndexProof): IndexValue | undefined {
  if (!cp.index) throw new LogProofError('index', 'the checkpoint carries no name index');
  try { return verifyIndexProof(cp.index, position(name), proof); } catch (e) { throw new LogProofError('index', `@${name}: ${(e as Error).message}`); }
}

/** Check that checkpoint `newer` extends `older` by `proof`; the same size must mean the same root, and any log extends the empty one. */
export function verifyExtends(older: SignedCheckpoint, newer: SignedCheckpoint, proof: string[]): void {
  if (newer.size < older.size) throw new LogProofError('consistency', `the Operator's log shrank from ${older.size} to ${newer.size} entries`);
  if (newer.size === older.size && bytesEqual(older.root, newer.root) && !(older.index && newer.index ? bytesEqual(older.index, newer.index) : older.index === newer.index)) {
    throw new LogProofError('consistency', `the Operator signed two name indexes for its log at ${newer.size} entries`);
  }
  if (older.size === 0) return; // every log extends the empty one
  if (newer.size === older.size ? !bytesEqual(older.root, newer.root) : !verifyConsistency(older.size, newer.size, proof.map(unb64), older.root, newer.root)) {
    throw new LogProofError('consistency', `the Operator's log at ${newer.size} entries does not extend the one seen at ${older.size}: it was rewritten`);
  }
}
