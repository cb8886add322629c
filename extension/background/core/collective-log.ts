/**
 * Collectives, the shared part: our Semaphore secret and identity per collective, and the
 * replay of a collective's membership log (COLLECTIVES.md §6) from the Operator, which gives
 * the member tree a proof is made against and who the current members are (name, identity
 * key, commitment) — what a group-key hand-over's signer is checked against.
 */
import { b64, canonicalJson, randomBytes, unb64 } from '../../../protocol/bytes.ts';
import type { OperatorClient } from '../../../protocol/client.ts';
import { entryHash, leavePayload, movePayload, verifyCharter, verifyJoin, type CollectiveInfo, type LogEntry } from '../../../protocol/collective.ts';
import { verifyAuth } from '../../../protocol/identity.ts';
import { foldName } from '../../../protocol/names.ts';
import { artifactPaths, memberIdentity, proveVouch, rootOf, type VouchProof } from '../../../protocol/vouch.ts';
import { EPOCH_SUBJECT } from '../../../protocol/posts-wire.ts';
import { Name } from '../../../protocol/wire.ts';
import { UserError } from '../../api.ts';
import type { CollectiveRecord } from '../collective-state.ts';
import type { Ctx } from './ctx.ts';
import type { Store } from './store.ts';

/** A current member as the log says: the identity key their join request (or the charter) named. */
export interface Member { name: string; key: string; commitment: string; leaf: number }

/** A collective as replayed: its info, the tree's leaves ("0" = removed), the current members, the log head. */
export interface Replayed {
  info: CollectiveInfo; leaves: bigint[]; members: Map<string, Member>; entries: LogEntry[]; seq: number; head: string;
}

/** Our 32-byte collective secret, made (and kept in the sealed account record) on first use. */
export async function secretOf(store: Store): Promise<Uint8Array> {
  const a = await store.account();
  if (!a.collectiveSecret) {
    a.collectiveSecret = b64(randomBytes(32));
    await store.putAccount(a);
  }
  return unb64(a.collectiveSecret);
}

/** Our commitment in collective `c` (decimal). */
export const commitmentIn = (secret: Uint8Array, c: string): string => memberIdentity(secret, c).commitment.toString();

/** A collective name as typed ("@Portland" → "Portland"), or a UserError. */
export function collectiveName(name: string): string {
  const n = name.trim().replace(/^@/, '');
  if (!Name.safeParse(n).success) throw new UserError('A collective name is 3 to 32 letters, digits or _.');
  return n;
}

export class ReplayError extends UserError {
  constructor(c: string, why: string) { super(`The membership log of @${c} does not check out (${why}); not trusting it.`); }
}

/**
 * Fetch and replay the whole log of `c`: the hash chain, the charter's signature, every join
 * request's signature (and that it names the entry's commitment), every leave's signature by
 * the leaver's key, every move's by the mover's (§15.1), the leaves in order, and the recomputed root against the entries' and the
 * tree's. (The vouch proofs in `admit` entries are not re-verified here: see the report.)
 */
export async function replay(client: OperatorClient, name: string): Promise<Replayed> {
  const c = foldName(name);
  const info = await client.getCollective(c);
  const entries: LogEntry[] = [];
  for (let more = true; more;) {
    const r = await client.log(c, entries.length);
    entries.push(...r.entries);
    more = r.more && r.entries.length > 0;
  }
  const leaves: bigint[] = [];
  const members = new Map<string, Member>();
  let prev = '';
  for (const [i, e] of entries.entries()) {
    if (e.seq !== i || e.prev !== prev) throw new ReplayError(c, `chain broken at ${i}`);
    prev = entryHash(e);
    if (e.type === 'found') {
      const ch = e.charter;
      if (i !== 0 || !ch || !verifyCharter(ch) || canonicalJson(ch.charter) !== canonicalJson(info.charter)) throw new ReplayError(c, 'charter');
      if (e.leaf !== 0 || e.commitment !== ch.charter.founderCommitment) throw new ReplayError(c, 'founder leaf');
      leaves.push(BigInt(e.commitment));
      members.set(foldName(ch.charter.founder), { name: foldName(ch.charter.founder), key: ch.charter.founderKey, commitment: e.commitment, leaf: 0 });
    } else if (e.type === 'admit') {
      const r = e.request;
      if (!r || !verifyJoin(r) || foldName(r.request.name) !== e.name || r.request.commitment !== e.commitment || e.leaf !== leaves.length) throw new ReplayError(c, `admission ${i}`);
      leaves.push(BigInt(e.commitment));
      members.set(e.name, { name: e.name, key: r.request.identityKey, commitment: e.commitment, leaf: e.leaf });
    } else if (e.type === 'move') {
      // a member's new home (§15.1): same key, leaf and commitment, signed by that key; the new handle is checked at its home before it gets a key
      const m = members.get(e.name), to = e.move?.to;
      if (!m || !to || m.leaf !== e.leaf || m.commitment !== e.commitment || members.has(to) || !verifyAuth(m.key, e.move!.auth, 'move-collective', c, movePayload(e.name, to, e.commitment))) throw new ReplayError(c, `move ${i}`);
      members.delete(e.name);
      members.set(to, { ...m, name: to });
    } else {
      const m = members.get(e.name);
      if (!m || m.leaf !== e.leaf || m.commitment !== e.commitment) throw new ReplayError(c, `removal ${i}`);
      if (e.type === 'leave' && !(e.leave && verifyAuth(m.key, e.leave.auth, 'leave-collective', c, leavePayload(e.name, e.commitment)))) throw new ReplayError(c, `leave ${i}`);
      leaves[e.leaf] = 0n;
      members.delete(e.name);
    }
    if (rootOf(leaves) !== e.root) throw new ReplayError(c, `root at ${i}`);
  }
  const last = entries.at(-1);
  if (!last || last.seq !== info.seq || prev !== info.head || last.root !== info.root) throw new ReplayError(c, 'head');
  return { info, leaves, members, entries, seq: last.seq, head: prev };
}

/** Where we stand by the replayed log: member (our commitment is a leaf), requested (an open request by our name), or none. */
export function standing(r: Replayed, me: string, commitment: string, requested: boolean): 'member' | 'requested' | 'none' {
  const m = r.members.get(foldName(me));
  if (m && m.commitment === commitment) return 'member';
  return requested ? 'requested' : 'none';
}

/** A new record for a collective we found or asked to join. */
export const newRecord = (name: string, status: CollectiveRecord['status']): CollectiveRecord =>
  ({ name, status, bundles: [], handed: [], vouched: {}, voted: {}, refusedKeys: 0 });

/** Bring a record up to date with a replayed log (status and counts). */
export function refresh(rec: CollectiveRecord, r: Replayed, status: 'member' | 'requested' | 'none', now: number): void {
  if (status !== 'none') rec.status = status;
  rec.seq = r.seq;
  const ch = r.info.charter;
  rec.info = { description: ch.description, rule: ch.quorum, members: r.info.members, needed: r.info.needed, requests: r.info.requests, t: now };
}

/** The tree's leaves and members (name → identity key) right after the last log entry whose root is `root`; undefined if no entry has it. */
export function treeAt(r: Replayed, root: string): { leaves: bigint[]; members: Map<string, string>; seq: number } | undefined {
  const leaves: bigint[] = [], members = new Map<string, string>();
  let at: { leaves: bigint[]; members: Map<string, string>; seq: number } | undefined;
  for (const e of r.entries) {
    if (e.type === 'found') { leaves.push(BigInt(e.commitment)); members.set(foldName(e.charter!.charter.founder), e.charter!.charter.founderKey); }
    else if (e.type === 'admit') { leaves.push(BigInt(e.commitment)); members.set(e.name, e.request!.request.identityKey); }
    else if (e.type === 'move') members.set(e.move!.to, members.get(e.name)!); // the old handle stays: posts made under it before the move still verify
    else { leaves[e.leaf] = 0n; members.delete(e.name); }
    if (e.root === root) at = { leaves: [...leaves], members: new Map(members), seq: e.seq };
  }
  return at;
}

/**
 * Prove (2–4 s; call it without holding the state lock) that we are a member of the tree
 * `leaves` of `c`, for an epoch or cursor proof of epoch `epoch` binding `binding` (POSTS.md §2, §4).
 */
export async function proveMember(ctx: Ctx, secret: Uint8Array, c: string, kind: 'epoch' | 'cursor', epoch: number, binding: bigint, leaves: bigint[]): Promise<VouchProof> {
  return proveVouch({
    identity: memberIdentity(secret, c), members: leaves, kind, collective: c, subject: EPOCH_SUBJECT, epoch, commitment: binding,
    artifacts: (await ctx.deps.artifacts?.()) ?? artifactPaths(),
  });
}
