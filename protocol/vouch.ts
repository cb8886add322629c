/**
 * Anonymous vouching for collectives with Semaphore v4 (Groth16 over BN254, depth-16 trees):
 * a member proves "I am one of the commitments in this collective's tree" for one scope
 * (vouch for / expel this komrade in this round) without saying which one, and the proof's
 * nullifier lets the Operator count each member once per scope. Runs in Node (the Operator,
 * tests) and in an extension page (single-threaded, artifacts passed as URLs or bytes).
 * COLLECTIVES.md describes the protocol around it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { Identity } from '@semaphore-protocol/identity';
import { Group } from '@semaphore-protocol/group';
import { verifyProof, packGroth16Proof, type SemaphoreProof } from '@semaphore-protocol/proof';
import * as snarkjs from 'snarkjs';
import { utf8 } from './bytes.ts';
import { Handle } from './address.ts';
import { Name } from './wire.ts';

import { DEPTH, MAX_MEMBERS, SNARK_FIELD, VouchProof } from './vouch-wire.ts';

export { DEPTH, MAX_MEMBERS, SNARK_FIELD, VouchProof } from './vouch-wire.ts';

/** What a proof is about: admitting a candidate, expelling a member, or a member-only rate-limited action (a post cursor, opening a key epoch: POSTS.md). */
export type ProofKind = 'vouch' | 'expel' | 'cursor' | 'epoch';

/** The circuit files: file paths (Node), URLs (extension page) or their bytes. */
export interface Artifacts { wasm: string | Uint8Array; zkey: string | Uint8Array }

/**
 * The depth-16 circuit files inside node_modules/@zk-kit/semaphore-artifacts (Node only: the
 * ceremony's files, shipped in npm; never downloaded). Extension pages pass their own URLs.
 */
export function artifactPaths(): { wasm: string; zkey: string } {
  const file = (name: string) => decodeURIComponent(new URL(import.meta.resolve(`@zk-kit/semaphore-artifacts/${name}`)).pathname);
  return { wasm: file(`semaphore-${DEPTH}.wasm`), zkey: file(`semaphore-${DEPTH}.zkey`) };
}

const bigFromBytes = (b: Uint8Array): bigint => b.reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);

function be32(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}

/**
 * Semaphore v4's own field hash of a scope or message (keccak256 of the 32-byte big-endian value,
 * shifted right 8 bits): the circuit's public inputs are these, while the proof JSON carries the
 * unhashed values. Must equal `hash()` in @semaphore-protocol/proof, or our proofs would not verify.
 */
export function semaphoreHash(x: bigint): bigint {
  if (x < 0n || x >= 2n ** 256n) throw new RangeError('value must fit 32 bytes');
  return bigFromBytes(keccak_256(be32(x))) >> 8n;
}

function checkInputs(kind: ProofKind, collective: string, subject: string, epoch: number): void {
  if (kind !== 'vouch' && kind !== 'expel' && kind !== 'cursor' && kind !== 'epoch') throw new TypeError(`unknown proof kind: ${String(kind)}`);
  Name.parse(collective); // names never contain the "\n" that separates the hashed fields
  Handle.parse(subject); // a member's handle (COLLECTIVES.md §15): no "\n" either
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError('epoch must be a non-negative integer');
}

const toField = (text: string): bigint => bigFromBytes(sha256(utf8(text))) % SNARK_FIELD;

/**
 * The Semaphore scope of a proof: SHA-256 of `komrade/v2 scope\n<kind>\n<collective>\n<subject>\n<epoch>`
 * (names lower-cased) reduced into the SNARK field. One nullifier per member per scope: a member
 * can vouch for a candidate (or vote to expel a member) once per epoch.
 */
export function scope(kind: ProofKind, collective: string, subject: string, epoch = 0): bigint {
  checkInputs(kind, collective, subject, epoch);
  return toField(`komrade/v2 scope\n${kind}\n${collective.toLowerCase()}\n${subject.toLowerCase()}\n${epoch}`);
}

/**
 * The Semaphore message of a proof: binds the subject (candidate or target member) and, when
 * given, their commitment in this collective, so a vouch admits exactly the commitment the
 * candidate asked with: SHA-256 of `komrade/v2 message\n<kind>\n<collective>\n<subject>\n<commitment or empty>`
 * reduced into the SNARK field.
 */
export function messageFor(kind: ProofKind, collective: string, subject: string, commitment?: bigint): bigint {
  checkInputs(kind, collective, subject, 0);
  if (commitment !== undefined && (commitment < 0n || commitment >= SNARK_FIELD)) throw new RangeError('commitment out of the field');
  return toField(`komrade/v2 message\n${kind}\n${collective.toLowerCase()}\n${subject.toLowerCase()}\n${commitment ?? ''}`);
}

/**
 * This komrade's Semaphore identity in one collective, derived from a 32-byte vault secret:
 * HKDF-SHA256(secret, salt "komrade/v2 collective identity", info = collective lower-cased) gives
 * the identity's private key. A different collective gives an unrelated commitment, so the
 * Operator cannot link someone's memberships through their commitments.
 */
export function memberIdentity(secret: Uint8Array, collective: string): Identity {
  if (secret.length !== 32) throw new RangeError('the vault secret must be 32 bytes');
  Name.parse(collective);
  const key = hkdf(sha256, secret, utf8('komrade/v2 collective identity'), utf8(collective.toLowerCase()), 32);
  return new Identity(key);
}

/** What a proof is for, as both sides compute it. */
export interface ProofSubject {
  kind: ProofKind;
  collective: string;
  /** The candidate's name (vouch), the target member's name (expel), or the resource (cursor). */
  subject: string;
  /** The round: bumped by the Operator each time the subject is admitted, leaves or is expelled. */
  epoch?: number;
  /** The subject's commitment in this collective, bound in the message when known. */
  commitment?: bigint;
}

/**
 * Prove membership for one scope: `identity` must be in `members` (the collective's commitments,
 * in tree order). Single-threaded (the extension page's CSP blocks snarkjs's workers; Node is
 * as fast for one proof). About 1.5 s in Node, 2–4 s in Firefox. Throws if not a member.
 */
export async function proveVouch(o: ProofSubject & { identity: Identity; members: readonly bigint[]; artifacts?: Artifacts }): Promise<VouchProof> {
  const s = scope(o.kind, o.collective, o.subject, o.epoch ?? 0);
  const m = messageFor(o.kind, o.collective, o.subject, o.commitment);
  if (o.members.length > MAX_MEMBERS) throw new RangeError(`a tree holds at most ${MAX_MEMBERS} members`);
  const index = o.members.indexOf(o.identity.commitment);
  if (index < 0) throw new Error('this identity is not a member of the tree');
  const mp = new Group([...o.members]).generateMerkleProof(index);
  const siblings = Array.from({ length: DEPTH }, (_, i) => mp.siblings[i] ?? 0n); // unused levels are ignored by the circuit
  const { wasm, zkey } = o.artifacts ?? artifactPaths();
  const { proof, publicSignals } = await snarkjs.groth16.fullProve({
    secret: o.identity.secretScalar,
    merkleProofLength: mp.siblings.length,
    merkleProofIndex: mp.index,
    merkleProofSiblings: siblings,
    scope: semaphoreHash(s),
    message: semaphoreHash(m),
  }, wasm, zkey, undefined, undefined, { singleThread: true });
  return VouchProof.parse({
    merkleTreeDepth: DEPTH,
    merkleTreeRoot: mp.root.toString(),
    nullifier: publicSignals[1],
    message: m.toString(),
    scope: s.toString(),
    points: packGroth16Proof(proof),
  });
}

/** Roots the verifier accepts: a set of decimal roots, or a predicate (e.g. "one of the last N roots"). */
export type RootCheck = ReadonlySet<string> | ((root: string) => boolean);

/** Why a proof was refused (see COLLECTIVES.md for the HTTP status each maps to). */
export type VouchRefusal = 'malformed' | 'invalid proof' | 'unknown root' | 'wrong scope' | 'wrong message';

/** The verdict on a proof: its nullifier if valid, else why not. */
export type VouchVerdict = { ok: true; nullifier: string } | { ok: false; reason: VouchRefusal };

/**
 * Verify a proof for exactly this subject against the accepted roots. Cheap checks first (shape,
 * depth 16, scope and message recomputed here, root), then the Groth16 verification (~35 ms warm).
 * The caller still has to refuse a nullifier it has already counted for this scope.
 */
export async function verifyVouch(proof: unknown, expect: ProofSubject & { roots: RootCheck }): Promise<VouchVerdict> {
  const parsed = VouchProof.safeParse(proof);
  if (!parsed.success) return { ok: false, reason: 'malformed' };
  const p = parsed.data;
  if (p.scope !== scope(expect.kind, expect.collective, expect.subject, expect.epoch ?? 0).toString()) return { ok: false, reason: 'wrong scope' };
  if (p.message !== messageFor(expect.kind, expect.collective, expect.subject, expect.commitment).toString()) return { ok: false, reason: 'wrong message' };
  const known = typeof expect.roots === 'function' ? expect.roots(p.merkleTreeRoot) : expect.roots.has(p.merkleTreeRoot);
  if (!known) return { ok: false, reason: 'unknown root' };
  let ok = false;
  try {
    ok = await verifyProof(p as SemaphoreProof);
  } catch {
    ok = false; // points off the curve and the like
  }
  return ok ? { ok: true, nullifier: p.nullifier } : { ok: false, reason: 'invalid proof' };
}

/** The root of a tree of these commitments (in order), as proofs carry it. */
export const rootOf = (members: readonly bigint[]): string => new Group([...members]).root.toString();

interface Curve { terminate(): Promise<void> }
const cache = globalThis as { curve_bn128?: Curve | null };
const curves = (snarkjs as unknown as { curves: { getCurveFromName(name: string, o?: { singleThread?: boolean }): Promise<Curve> } }).curves;

/**
 * Make verification single-threaded: cache a single-threaded BN254 curve where snarkjs looks
 * for one. Required in an extension page (the multi-threaded curve's `data:` workers are blocked
 * by the CSP and verification hangs); optional in Node (no worker threads to shut down then).
 */
export async function useSingleThreadedCurve(): Promise<void> {
  await shutdownCurve();
  cache.curve_bn128 = await curves.getCurveFromName('bn128', { singleThread: true });
}

/** Terminate the cached BN254 curve, if any: its worker threads otherwise keep Node alive (tests, Operator shutdown). */
export async function shutdownCurve(): Promise<void> {
  const curve = cache.curve_bn128;
  cache.curve_bn128 = null;
  await curve?.terminate();
}
