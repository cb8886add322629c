/**
 * Collective routes (COLLECTIVES.md §10): found, read (charter, tree, log, open requests),
 * ask to join, vouch, vote to expel, leave, and a komrade's vouch counts. Every route that
 * changes a collective runs under its lock (`collective:<name>`, taken before the store's
 * gate), so the checks and the batch that follows them see the same tree. Vouches and expel
 * votes carry no Auth: the Operator learns "a member, at this root" and a nullifier, nothing
 * about which member.
 */
import { createHash } from 'node:crypto';
import {
  LOG_BATCH, MAX_OPEN_REQUESTS, leavePayload, verifyCharter, verifyJoin,
} from '../../protocol/collective.ts';
import { checkPow } from '../../protocol/identity.ts';
import { skeleton } from '../../protocol/names.ts';
import { quorum } from '../../protocol/quorum.ts';
import { useSingleThreadedCurve, verifyVouch, type VouchRefusal } from '../../protocol/vouch.ts';
import type { VouchProof } from '../../protocol/vouch-wire.ts';
import * as W from '../../protocol/wire.ts';
import { fail, type Deps, type Handlers } from '../http.ts';

const nameLock = (lower: string) => `name:${skeleton(lower)}`;
const collectiveLock = (lower: string) => `collective:${lower}`;

/** The BN254 curve the verifier uses, built once, single-threaded (no worker threads to keep Node alive). */
let curve: Promise<void> | undefined;
export const ensureCurve = () => (curve ??= useSingleThreadedCurve().catch((e) => { curve = undefined; throw e; }));
/** Forget the curve (the server terminates it at close); the next verification builds it again. */
export const forgetCurve = () => { curve = undefined; };

/** How each refusal of `verifyVouch` is answered (COLLECTIVES.md §11). */
export const REFUSAL: Record<VouchRefusal, number> = { malformed: 400, 'invalid proof': 401, 'wrong scope': 401, 'wrong message': 401, 'unknown root': 403 };

/**
 * The checks every vouch and expel vote passes, in order: scope and message recomputed for this
 * subject, epoch and commitment (401), root accepted (403), Groth16 (401), nullifier unused in
 * this scope (409). Call under the collective's lock.
 */
async function checkProof({ store }: Deps, c: string, kind: 'vouch' | 'expel', subject: string, commitment: string, proof: VouchProof) {
  const epoch = await store.collectives.epoch(c, kind, subject);
  const roots = new Set(await store.collectives.acceptedRoots(c));
  await ensureCurve();
  const v = await verifyVouch(proof, { kind, collective: c, subject, epoch, commitment: BigInt(commitment), roots });
  if (!v.ok) fail(REFUSAL[v.reason], v.reason);
  if (await store.collectives.nullifierUsed(proof.scope, proof.nullifier)) fail(409, 'nullifier used');
}

/** The collective routes. */
export const collectiveRoutes: Handlers<'create-collective' | 'get-collective' | 'tree' | 'log' | 'list-requests' | 'member' | 'join' | 'vouch' | 'expel' | 'leave' | 'vouch-counts'> = {
  'create-collective': async ({ body }, { store, config, now }) => {
    const { charter } = body, c = charter.name.toLowerCase(), founder = charter.founder.toLowerCase();
    if (Math.abs(now() - charter.created) > W.LIMITS.replayWindowMs) fail(403, 'stale charter time');
    if (!checkPow(c, charter.founderKey, body.pow, config.powBits)) fail(403, 'insufficient proof of work');
    if (!verifyCharter(body)) fail(401, 'bad signature');
    const { root } = await store.lock.run(nameLock(c), () => store.lock.run(collectiveLock(c), async () => {
      if ((await store.names.get(c)) || (await store.collectives.get(c))) fail(409, 'name taken');
      if (await store.names.bySkeleton(skeleton(c))) fail(409, 'too similar to an existing name');
      const rec = await store.names.get(founder);
      if (!rec) fail(404, 'the founder is not a registered name');
      if (rec.record.identityKey !== charter.founderKey) fail(403, 'founder key is not the directory\'s');
      return store.collectives.create(c, skeleton(c), { charter, sig: body.sig });
    }));
    return { status: 201, body: { root, seq: 0 } };
  },

  'get-collective': async ({ params }, { store }) => {
    const c = params.collective.toLowerCase();
    const meta = await store.collectives.get(c);
    if (!meta) fail(404, 'unknown collective');
    const rule = meta.charter.quorum;
    return {
      body: {
        charter: meta.charter, sig: meta.sig, members: meta.members, leaves: meta.leaves, root: meta.root, seq: meta.seq, head: meta.head,
        needed: quorum(rule, meta.members), expelNeeded: quorum(rule === 'open' ? 'log2' : rule, meta.members), requests: meta.requests,
      },
    };
  },

  tree: async ({ params }, { store }) => {
    const c = params.collective.toLowerCase();
    const meta = await store.collectives.get(c);
    if (!meta) fail(404, 'unknown collective');
    return { body: { leaves: await store.collectives.tree(c), root: meta.root, acceptedRoots: await store.collectives.acceptedRoots(c) } };
  },

  log: async ({ params }, { store }) => {
    const c = params.collective.toLowerCase();
    if (!(await store.collectives.get(c))) fail(404, 'unknown collective');
    return { body: await store.collectives.log(c, Number(params.from), LOG_BATCH) };
  },

  'list-requests': async ({ params }, { store }) => {
    const c = params.collective.toLowerCase();
    const meta = await store.collectives.get(c);
    if (!meta) fail(404, 'unknown collective');
    const needed = quorum(meta.charter.quorum, meta.members);
    const requests = await Promise.all((await store.collectives.openRequests(c)).map(async (r) => ({
      request: r.request, sig: r.sig, epoch: await store.collectives.epoch(c, 'vouch', r.request.name.toLowerCase()), vouches: r.vouches, needed,
    })));
    return { body: { requests } };
  },

  member: async ({ params }, { store }) => {
    const c = params.collective.toLowerCase(), name = params.name.toLowerCase();
    const meta = await store.collectives.get(c);
    if (!meta) fail(404, 'unknown collective');
    const m = await store.collectives.member(c, name);
    if (!m) fail(404, 'not a member');
    const rule = meta.charter.quorum;
    return {
      body: {
        name, leaf: m.leaf, commitment: m.commitment, vouches: m.vouches, vouchEpoch: await store.collectives.epoch(c, 'vouch', name),
        expelEpoch: await store.collectives.epoch(c, 'expel', name), votes: await store.collectives.expelVotes(c, name), expelNeeded: quorum(rule === 'open' ? 'log2' : rule, meta.members),
      },
    };
  },

  join: async ({ params, body }, { store, now, spends }) => {
    const c = params.collective.toLowerCase(), { request } = body, name = request.name.toLowerCase();
    if (request.collective.toLowerCase() !== c) fail(400, 'request.collective: does not match the path');
    if (Math.abs(now() - request.ts) > W.LIMITS.replayWindowMs) fail(403, 'stale request time');
    if (!verifyJoin(body)) fail(401, 'bad signature');
    const rec = await store.names.get(name);
    if (!rec) fail(404, 'no such name');
    if (rec.record.identityKey !== request.identityKey) fail(403, 'identity key is not the directory\'s');
    const res = await store.lock.run(collectiveLock(c), async () => {
      const meta = await store.collectives.get(c);
      if (!meta) fail(404, 'unknown collective');
      if (await store.collectives.member(c, name)) fail(409, 'already a member');
      if (await store.collectives.request(c, name)) fail(409, 'request open');
      if ((await store.collectives.tree(c)).includes(request.commitment)) fail(409, 'commitment in use');
      const open = await store.collectives.openRequests(c);
      if (open.some((r) => r.request.commitment === request.commitment)) fail(409, 'commitment in use');
      if (open.length >= MAX_OPEN_REQUESTS) fail(429, 'too many open requests');
      // a signed request is spent once (it stays readable in the log; a replay must not reopen it)
      const spent = createHash('sha256').update(`komrade/v2 join\n${body.sig}`).digest('base64url');
      if (!(await store.spendNonce(spent, request.ts + W.LIMITS.replayWindowMs, spends))) fail(403, 'replayed request');
      return store.collectives.openRequest(c, body, spends);
    });
    return { status: 201, body: res };
  },

  vouch: async ({ params, body }, deps) => {
    const { store } = deps, c = params.collective.toLowerCase(), name = params.name.toLowerCase();
    const res = await store.lock.run(collectiveLock(c), async () => {
      if (!(await store.collectives.get(c))) fail(404, 'unknown collective');
      const subject = (await store.collectives.member(c, name)) ?? (await store.collectives.request(c, name))?.request;
      if (!subject) fail(404, 'no such request or member');
      await checkProof(deps, c, 'vouch', name, subject.commitment, body.proof);
      return store.collectives.countVouch(c, name, body.proof);
    });
    return { status: 201, body: res };
  },

  expel: async ({ params, body }, deps) => {
    const { store } = deps, c = params.collective.toLowerCase(), name = params.name.toLowerCase();
    const res = await store.lock.run(collectiveLock(c), async () => {
      if (!(await store.collectives.get(c))) fail(404, 'unknown collective');
      const member = await store.collectives.member(c, name);
      if (!member) fail(404, 'not a member');
      await checkProof(deps, c, 'expel', name, member.commitment, body.proof);
      return store.collectives.countExpelVote(c, name, body.proof);
    });
    return { status: 201, body: res };
  },

  leave: async ({ params, body }, { store, spends, authorize }) => {
    const c = params.collective.toLowerCase(), name = params.name.toLowerCase();
    const res = await store.lock.run(collectiveLock(c), async () => {
      if (!(await store.collectives.get(c))) fail(404, 'unknown collective');
      const member = await store.collectives.member(c, name);
      if (!member) fail(404, 'not a member');
      await authorize(member.key, body.auth, 'leave-collective', c, leavePayload(name, member.commitment));
      return store.collectives.leave(c, name, body.auth, spends);
    });
    return { body: res };
  },

  'vouch-counts': async ({ params }, { store }) => ({ body: await store.collectives.vouchCounts(params.name.toLowerCase()) }),
};
