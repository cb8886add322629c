/**
 * Collective routes (COLLECTIVES.md §10): found, read (charter, tree, log; the open requests: requests-held.ts),
 * ask to join, vouch, vote to expel, leave, move to a new handle (§15.1), and a komrade's vouch counts. Every route that
 * changes a collective runs under its lock (`collectiveLock`, taken before the store's gate),
 * so the checks and the batch that follows them see the same tree. Vouches and expel votes
 * carry no Auth: the Operator learns "a member, at this root" and a nullifier, nothing about
 * which member. Names arrive folded from the route schemas; signed fields are folded here. A
 * candidate of another Operator is `name@<host>` (COLLECTIVES.md §15): its host is shape-checked,
 * its key is checked by the members at its home.
 */
import { operatorFromHost } from '../../protocol/address.ts';
import { LOG_BATCH, MAX_OPEN_REQUESTS, leavePayload, movePayload, verifyCharter, verifyJoin } from '../../protocol/collective.ts';
import { checkPow } from '../../protocol/identity.ts';
import { foldName, skeleton, type FoldedName } from '../../protocol/names.ts';
import { expelQuorum, quorum } from '../../protocol/quorum.ts';
import type { VouchProof } from '../../protocol/vouch-wire.ts';
import * as W from '../../protocol/wire.ts';
import { heldRead } from '../holds.ts';
import { fail, type Deps, type Handlers } from '../http.ts';
import { collectiveLock, nameLock } from '../lock-keys.ts';
import { checkProof, collectiveOr404, spendOnce, withCollective } from './shared.ts';

/** A vouch or expel vote's proof, checked for this subject at its current epoch against the accepted roots. Call under the collective's lock. */
async function checkVote({ store }: Deps, c: FoldedName, kind: 'vouch' | 'expel', subject: FoldedName, commitment: string, proof: VouchProof) {
  const epoch = await store.collectives.epoch(c, kind, subject);
  const roots = new Set(await store.collectives.acceptedRoots(c));
  await checkProof(proof, { kind, collective: c, subject, epoch, commitment: BigInt(commitment), roots },
    () => store.collectives.nullifierUsed(proof.scope, proof.nullifier));
}

/**
 * A member's or candidate's handle (§15): another Operator's komrade has only its home's shape
 * checked (the members check the key at that home); our own komrade's key must be the directory's.
 */
async function checkHandle({ store, config }: Deps, name: FoldedName, key: string, field: string): Promise<void> {
  if (name.includes('@')) {
    try { operatorFromHost(name.slice(name.indexOf('@') + 1), config.allowLoopbackHomes === true); } catch (e) { fail(400, `${field}: ${(e as Error).message}`); }
    return;
  }
  const rec = await store.names.get(name);
  if (!rec) fail(404, 'no such name');
  if (rec.record.identityKey !== key) fail(403, 'identity key is not the directory\'s');
}

/** The collective routes. */
export const collectiveRoutes: Handlers<'create-collective' | 'get-collective' | 'tree' | 'log' | 'wait-log' | 'member' | 'join' | 'vouch' | 'expel' | 'leave' | 'move' | 'vouch-counts'> = {
  'create-collective': async ({ body }, { store, config, now }) => {
    const { charter } = body, c = foldName(charter.name), founder = foldName(charter.founder);
    if (Math.abs(now() - charter.created) > W.LIMITS.replayWindowMs) fail(403, 'stale charter time');
    if (!checkPow(c, charter.founderKey, body.pow, config.powBits)) fail(403, 'insufficient proof of work');
    if (!verifyCharter(body)) fail(401, 'bad signature');
    const { root } = await store.lock.run(nameLock(c), () => store.lock.run(collectiveLock(c), async () => {
      if ((await store.names.get(c)) || (await store.collectives.get(c))) fail(409, 'name taken');
      if (await store.names.bySkeleton(skeleton(c))) fail(409, 'too similar to an existing name');
      const rec = await store.names.get(founder);
      if (!rec) fail(404, 'the founder is not a registered name');
      if (rec.record.identityKey !== charter.founderKey) fail(403, 'founder key is not the directory\'s');
      return store.collectives.create(c, skeleton(c), founder, { charter, sig: body.sig });
    }));
    return { status: 201, body: { root, seq: 0 } };
  },

  'get-collective': async ({ params: { collective: c } }, deps) => {
    const meta = await collectiveOr404(deps, c);
    const rule = meta.charter.quorum;
    return {
      body: {
        charter: meta.charter, sig: meta.sig, members: meta.members, leaves: meta.leaves, root: meta.root, seq: meta.seq, head: meta.head,
        needed: quorum(rule, meta.members), expelNeeded: expelQuorum(rule, meta.members), requests: meta.requests,
      },
    };
  },

  tree: async ({ params: { collective: c } }, deps) => {
    const meta = await collectiveOr404(deps, c), { collectives } = deps.store;
    return { body: { leaves: await collectives.tree(c), root: meta.root, acceptedRoots: await collectives.acceptedRoots(c) } };
  },

  log: async ({ params: { collective: c, from } }, deps) => {
    await collectiveOr404(deps, c);
    return { body: await deps.store.collectives.log(c, Number(from), LOG_BATCH) };
  },

  // the same read, held while there is nothing from `from` (§10; holds.ts): many may wait on one log
  'wait-log': async ({ params: { collective: c, from }, body }, deps) => {
    await collectiveOr404(deps, c);
    const read = () => deps.store.collectives.log(c, Number(from), LOG_BATCH);
    return { body: await heldRead(deps.holds, deps.signal, `log:${c}`, body.wait, false, await read(), read, (r) => !r.entries.length) };
  },

  member: async ({ params: { collective: c, name } }, deps) => {
    const meta = await collectiveOr404(deps, c), { collectives } = deps.store;
    const m = await collectives.member(c, name);
    if (!m) fail(404, 'not a member');
    return {
      body: {
        name, leaf: m.leaf, commitment: m.commitment, vouches: m.vouches, vouchEpoch: await collectives.epoch(c, 'vouch', name),
        expelEpoch: await collectives.epoch(c, 'expel', name), votes: await collectives.expelVotes(c, name), expelNeeded: expelQuorum(meta.charter.quorum, meta.members),
      },
    };
  },

  join: async ({ params: { collective: c }, body }, deps) => {
    const { store, now, spends } = deps, { request } = body, name = foldName(request.name);
    if (foldName(request.collective) !== c) fail(400, 'request.collective: does not match the path');
    if (Math.abs(now() - request.ts) > W.LIMITS.replayWindowMs) fail(403, 'stale request time');
    if (!verifyJoin(body)) fail(401, 'bad signature');
    await checkHandle(deps, name, request.identityKey, 'request.name');
    const res = await withCollective(deps, c, async () => {
      if (await store.collectives.member(c, name)) fail(409, 'already a member');
      if (await store.collectives.request(c, name)) fail(409, 'request open');
      if ((await store.collectives.tree(c)).includes(request.commitment)) fail(409, 'commitment in use');
      const open = await store.collectives.openRequests(c);
      if (open.some((r) => r.request.commitment === request.commitment)) fail(409, 'commitment in use');
      if (open.length >= MAX_OPEN_REQUESTS) fail(429, 'too many open requests');
      // a signed request is spent once (it stays readable in the log; a replay must not reopen it)
      await spendOnce(deps, `komrade/v2 join\n${body.sig}`, request.ts + W.LIMITS.replayWindowMs, 403, 'replayed request');
      return store.collectives.openRequest(c, name, body, spends);
    });
    return { status: 201, body: res };
  },

  vouch: async ({ params: { collective: c, name }, body }, deps) => {
    const { collectives } = deps.store;
    const res = await withCollective(deps, c, async () => {
      const subject = (await collectives.member(c, name)) ?? (await collectives.request(c, name))?.request;
      if (!subject) fail(404, 'no such request or member');
      await checkVote(deps, c, 'vouch', name, subject.commitment, body.proof);
      return collectives.countVouch(c, name, body.proof);
    });
    return { status: 201, body: res };
  },

  expel: async ({ params: { collective: c, name }, body }, deps) => {
    const { collectives } = deps.store;
    const res = await withCollective(deps, c, async () => {
      const member = await collectives.member(c, name);
      if (!member) fail(404, 'not a member');
      await checkVote(deps, c, 'expel', name, member.commitment, body.proof);
      return collectives.countExpelVote(c, name, body.proof);
    });
    return { status: 201, body: res };
  },

  leave: async ({ params: { collective: c, name }, body }, deps) => {
    const { store, spends, authorize } = deps;
    const res = await withCollective(deps, c, async () => {
      const member = await store.collectives.member(c, name);
      if (!member) fail(404, 'not a member');
      await authorize(member.key, body.auth, 'leave-collective', c, leavePayload(name, member.commitment));
      return store.collectives.leave(c, name, body.auth, spends);
    });
    return { body: res };
  },

  // a member's new home (§15.1): same key, leaf and commitment under a new handle; the members check it at that home
  move: async ({ params: { collective: c, name }, body }, deps) => {
    const { store, spends, authorize } = deps, to = foldName(body.to);
    if (to === name) fail(400, 'to: the same handle');
    const res = await withCollective(deps, c, async () => {
      const member = await store.collectives.member(c, name);
      if (!member) fail(404, 'not a member');
      await checkHandle(deps, to, member.key, 'to');
      if (await store.collectives.member(c, to)) fail(409, 'already a member');
      if (await store.collectives.request(c, to)) fail(409, 'request open');
      await authorize(member.key, body.auth, 'move-collective', c, movePayload(name, to, member.commitment));
      return store.collectives.move(c, name, to, body.auth, spends);
    });
    return { body: res };
  },

  'vouch-counts': async ({ params: { name } }, { store }) => ({ body: await store.collectives.vouchCounts(name) }),
};
