/**
 * Rules more than one route file applies, one home each (PROTOCOL.md §4, COLLECTIVES.md §10–§11,
 * POSTS.md §6): the proof verifier's curve and how its refusals are answered, the proof check
 * every vouch, expel vote, epoch and cursor passes, "spend a signed statement once", and the
 * collective prologue (lock, then 404 if there is no such collective).
 */
import { createHash } from 'node:crypto';
import type { FoldedName } from '../../protocol/names.ts';
import { useSingleThreadedCurve, verifyVouch, type ProofSubject, type RootCheck, type VouchRefusal } from '../../protocol/vouch.ts';
import type { VouchProof } from '../../protocol/vouch-wire.ts';
import { fail, type Deps } from '../http.ts';
import { collectiveLock } from '../lock-keys.ts';
import type { CollectiveMeta } from '../store/index.ts';

/** The BN254 curve the verifier uses, built once, single-threaded (no worker threads to keep Node alive). */
let curve: Promise<void> | undefined;
/** Build the verifier's curve once (the first proof waits for it). */
export const ensureCurve = () => (curve ??= useSingleThreadedCurve().catch((e) => { curve = undefined; throw e; }));
/** Forget the curve (the server terminates it at close); the next verification builds it again. */
export const forgetCurve = () => { curve = undefined; };

/** How each refusal of `verifyVouch` is answered (COLLECTIVES.md §11). */
export const REFUSAL: Record<VouchRefusal, number> = { malformed: 400, 'invalid proof': 401, 'wrong scope': 401, 'wrong message': 401, 'unknown root': 403 };

/**
 * The checks every anonymous proof passes, in order: scope and message recomputed for this
 * context (401), root accepted (403), Groth16 (401), then its nullifier unused in its scope
 * (409, asked of `nullifierUsed`). Call under the collective's lock.
 */
export async function checkProof(proof: VouchProof, context: ProofSubject & { roots: RootCheck }, nullifierUsed: () => Promise<boolean>): Promise<void> {
  await ensureCurve();
  const v = await verifyVouch(proof, context);
  if (!v.ok) fail(REFUSAL[v.reason], v.reason);
  if (await nullifierUsed()) fail(409, 'nullifier used');
}

/**
 * Spend a signed statement (or a proof of work) once: its SHA-256 is kept with the spent nonces
 * until `until`, so a replay is refused with `status` and `reason` (written with the request's
 * own batch, §4).
 */
export async function spendOnce({ store, spends }: Deps, statement: string, until: number, status: 403 | 409, reason: string): Promise<void> {
  const spent = createHash('sha256').update(statement).digest('base64url');
  if (!(await store.spendNonce(spent, until, spends))) fail(status, reason);
}

/** A collective's record, or a 404 `unknown collective`. */
export async function collectiveOr404({ store }: Deps, c: FoldedName): Promise<CollectiveMeta> {
  const meta = await store.collectives.get(c);
  if (!meta) fail(404, 'unknown collective');
  return meta;
}

/** Run `fn` under the collective's lock, after checking the collective exists (404 otherwise). */
export function withCollective<T>(deps: Deps, c: FoldedName, fn: (meta: CollectiveMeta) => Promise<T>): Promise<T> {
  return deps.store.lock.run(collectiveLock(c), async () => fn(await collectiveOr404(deps, c)));
}
