/**
 * Collectives (COLLECTIVES.md), what the popup asks for: my collectives, looking one up,
 * founding one (epoch 1's group key made here, opened by epochs.ts, POSTS.md §2), asking to join, anonymous vouches and
 * expel votes (Semaphore proofs made here, against the tree replayed from the log), leaving,
 * and public vouch counts. No view carries who vouched: only counts.
 */
import { OperatorError } from '../../../protocol/client.ts';
import { MAX_DESCRIPTION, type Charter } from '../../../protocol/collective.ts';
import { solvePow } from '../../../protocol/identity.ts';
import { foldName } from '../../../protocol/names.ts';
import { newEpochBundle } from '../../../protocol/posts.ts';
import { QuorumRule } from '../../../protocol/quorum.ts';
import { artifactPaths, memberIdentity, proveVouch, type ProofKind } from '../../../protocol/vouch.ts';
import { Name } from '../../../protocol/wire.ts';
import { UserError, type CollectiveSummary, type CollectiveView, type ContactView, type MeView, type VouchCountsView } from '../../api.ts';
import { beginStep, type Step } from './cancel-step.ts';
import { keyPairOf, nameRefused } from './common.ts';
import { operatorHost } from '../../../protocol/address.ts';
import { checkAtHome, handleAt, inCollective, meIn, parseCollective, shown } from './collective-operator.ts';
import { foreign } from './operators.ts';
import { collectiveName, commitmentIn, newRecord, refresh, replay, secretOf, standing } from './collective-log.ts';
import type { Ctx } from './ctx.ts';

/** Below this many members a vouch is hardly anonymous; the popup warns. */
export const SMALL = 5;

const notFound = (c: string) => (e: unknown) => {
  if (e instanceof OperatorError && e.status === 404) throw new UserError(`There is no collective called @${c}.`);
  throw e;
};

export async function collectives(ctx: Ctx): Promise<CollectiveSummary[]> {
  const store = await ctx.store();
  return (await store.collectives()).map((c) => ({
    name: c.operator === undefined ? c.name : `${c.name}@${operatorHost(c.operator)}`, description: c.info?.description ?? '', rule: c.info?.rule ?? '', members: c.info?.members ?? 0, needed: c.info?.needed ?? 0,
    requests: c.info?.requests ?? 0, myStatus: c.status, hasKey: c.bundles.length > 0, asked: c.asked,
  })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Look a collective up (`@portland`, or `@portland@<onion>` at another Operator): counts, open requests with their counts, where we stand. Updates our record if we have one. */
export async function findCollective(ctx: Ctx, a: { name: string }): Promise<CollectiveView> {
  const store = await ctx.store();
  const s = await store.account();
  const { name: c, operator: op } = parseCollective(a.name, s), h = handleAt(c, op, s), me = meIn(s, op, await store.collective(h));
  const client = ctx.client(op);
  const r = await replay(client, c).catch(notFound(h));
  const { requests } = await client.listRequests(c);
  const secret = await secretOf(store);
  const mine = requests.some((q) => foldName(q.request.name) === me);
  const myStatus = standing(r, me, commitmentIn(secret, c), mine);
  const rec = await store.collective(h);
  if (rec) {
    if (myStatus === 'none') await store.removeCollective(h);
    else { refresh(rec, r, myStatus, ctx.now()); await store.putCollective(rec); }
  }
  const ours = op === s.operator; // vouch counts are asked only of our Operator, about its komrades (PROTOCOL.md §11.2)
  if (myStatus === 'member' && ours) {
    // our own counts, looked up when the person looks at a collective of theirs (never by a poll)
    const me = foldName(s.me.name), counts = await store.counts();
    const got = await client.vouchCounts(me).catch(() => undefined);
    if (got) { counts[me] = { ...got, t: ctx.now() }; await store.putCounts(counts); }
  }
  const candidates = [];
  for (const q of requests) {
    const name = foldName(q.request.name);
    const overall = ours && !name.includes('@') ? (await client.vouchCounts(name).catch(() => ({ total: q.vouches }))).total : q.vouches;
    candidates.push({ name: shown(name, op, s), vouches: q.vouches, needed: q.needed, overall });
  }
  const ch = r.info.charter;
  return {
    name: ours ? ch.name : `${ch.name}@${operatorHost(op)}`, description: ch.description, rule: ch.quorum, members: r.info.members, needed: r.info.needed, myStatus,
    candidates, small: r.info.members < SMALL, hasKey: !!(await store.collective(h))?.bundles.length,
  };
}

/** Found a collective: the signed charter, our commitment as leaf 0, and epoch 1's group key kept in our record until epochs.ts opens it. */
export async function createCollective(ctx: Ctx, a: { name: string; description: string; rule: string }, step: Step = beginStep(ctx)): Promise<CollectiveView> {
  const store = await ctx.store();
  const s = await store.account();
  const name = collectiveName(a.name);
  if (a.description.length > MAX_DESCRIPTION) throw new UserError(`A description is at most ${MAX_DESCRIPTION} characters.`);
  const rule = QuorumRule.safeParse(a.rule.trim());
  if (!rule.success) throw new UserError('The rule is one, log2, sqrt, fixed:k (k from 1 to 64) or open.');
  const secret = await secretOf(store);
  const charter: Charter = {
    v: 2, name, description: a.description, quorum: rule.data, created: ctx.now(), founder: foldName(s.me.name),
    founderKey: s.me.identity.pub, founderCommitment: commitmentIn(secret, name),
  };
  const client = ctx.client(s.operator);
  let pow: string;
  try {
    // asked before the proof of work, so a refusal comes at once (PROTOCOL.md §5.12)
    const free = await step.wait(client.available(foldName(name)));
    if (!free.available) throw nameRefused(name, free.reason);
    const { powBits } = await step.wait(client.info());
    pow = await step.wait(solvePow(charter.name, charter.founderKey, powBits, step.check)); // Cancel stops the work too
    step.sent();
  } finally { step.end(); }
  const created = await client.createCollective(keyPairOf(s.me.identity).privateKey, charter, pow).catch((e: unknown) => {
    if (e instanceof OperatorError && e.status === 409) throw nameRefused(name, /similar/.test(e.reason) ? 'look-alike' : 'taken');
    throw e;
  });
  const rec = newRecord(name, 'member');
  // epoch 1 is opened at the Operator (a proof, without the state lock: epochs.ts), then kept in `bundles`
  rec.opening = newEpochBundle(name, 1, created.root);
  rec.keyedAt = 0;
  await store.putCollective(rec);
  return findCollective(ctx, { name });
}

/** Ask to join, signed by our identity key, naming our commitment here and our current prekey (for the group key). */
export async function askToJoin(ctx: Ctx, a: { name: string }, step: Step = beginStep(ctx)): Promise<CollectiveView> {
  const store = await ctx.store();
  const s = await store.account();
  const { name: c, operator: op } = parseCollective(a.name, s), h = handleAt(c, op, s);
  const client = ctx.client(op);
  let info: Awaited<ReturnType<typeof client.getCollective>>, secret: Uint8Array;
  try {
    info = await step.wait(client.getCollective(c).catch(notFound(h)));
    secret = await step.wait(secretOf(store));
    step.sent();
  } finally { step.end(); }
  const prekey = s.prekeys.at(-1)!;
  const res = await client.requestJoin(keyPairOf(s.me.identity).privateKey, {
    v: 2, collective: c, name: meIn(s, op), identityKey: s.me.identity.pub, commitment: commitmentIn(secret, c),
    prekey: { id: prekey.id, key: prekey.pub }, ts: ctx.now(),
  }).catch((e: unknown) => {
    if (e instanceof OperatorError && e.status === 409) throw new UserError(`You already asked to join @${h}, or are a member.`);
    throw e;
  });
  await store.putCollective((await store.collective(h)) ?? { ...newRecord(info.charter.name, res.admitted ? 'member' : 'requested'), ...foreign(op, s) });
  return findCollective(ctx, { name: h });
}

/** Prove (2–4 s) that one of the members vouches for, or votes to expel, `subject`; refuse a second proof in the same round. */
async function proveAbout(ctx: Ctx, kind: ProofKind, a: { collective: string; name: string }, step: Step = beginStep(ctx)) {
  try { return await proveAndSend(ctx, kind, a, step); } finally { step.end(); }
}

/**
 * proveAbout's work: everything up to the proof can be cancelled (`step`), the sending cannot.
 * Before a vouch, the subject is checked at their home (COLLECTIVES.md §15).
 */
async function proveAndSend(ctx: Ctx, kind: ProofKind, a: { collective: string; name: string }, step: Step) {
  const store = await ctx.store();
  const s = await store.account();
  const { name: c, operator: op } = parseCollective(a.collective, s), h = handleAt(c, op, s);
  const subject = inCollective(foldName(a.name), op, s), named = shown(subject, op, s);
  const client = ctx.client(op);
  const secret = await secretOf(store);
  const r = await step.wait(replay(client, c).catch(notFound(h)));
  if (standing(r, meIn(s, op, await store.collective(h)), commitmentIn(secret, c), false) !== 'member') throw new UserError(`Only members of @${h} can ${kind === 'vouch' ? 'vouch' : 'vote'}.`);
  let epoch: number, commitment: string;
  const open = kind === 'vouch' ? (await step.wait(client.listRequests(c))).requests.find((q) => foldName(q.request.name) === subject) : undefined;
  if (open) ({ epoch, commitment } = { epoch: open.epoch, commitment: open.request.commitment });
  else {
    const m = await step.wait(client.member(c, subject).catch((e: unknown) => {
      if (e instanceof OperatorError && e.status === 404) throw new UserError(`@${named} neither asked to join @${h} nor is a member.`);
      throw e;
    }));
    ({ epoch, commitment } = { epoch: kind === 'vouch' ? m.vouchEpoch : m.expelEpoch, commitment: m.commitment });
  }
  if (kind === 'vouch') {
    const key = open?.request.identityKey ?? r.members.get(subject)?.key;
    if (!key) throw new UserError(`@${named} is not in the log of @${h}.`);
    await step.wait(checkAtHome(ctx, store, op, subject, key)); // an alarm, and no vouch, if their home says otherwise
  }
  const rec = (await store.collective(h)) ?? { ...newRecord(r.info.charter.name, 'member'), ...foreign(op, s) };
  const mine = kind === 'vouch' ? rec.vouched : rec.voted;
  const already = () => new UserError(kind === 'vouch' ? `You already vouched for @${named} in this round.` : `You already voted to expel @${named} in this round.`);
  if (mine[subject] === epoch) throw already();
  const proof = await step.wait(proveVouch({
    identity: memberIdentity(secret, c), members: r.leaves, kind, collective: c, subject, epoch, commitment: BigInt(commitment),
    artifacts: (await ctx.deps.artifacts?.()) ?? artifactPaths(),
  })); // Cancel discards a proof still being computed: it is never sent
  step.sent();
  const remember = async () => { mine[subject] = epoch; await store.putCollective(rec); };
  const send = kind === 'vouch' ? client.vouch(c, subject, proof) : client.expel(c, subject, proof);
  const res = await send.catch(async (e: unknown) => {
    if (e instanceof OperatorError && e.status === 409) { await remember(); throw already(); }
    throw e;
  });
  await remember();
  return res;
}

export async function vouch(ctx: Ctx, a: { collective: string; name: string }, step?: Step): Promise<{ vouches: number; needed: number; admitted: boolean }> {
  const res = await proveAbout(ctx, 'vouch', a, step);
  if (!('vouches' in res)) throw new Error('unexpected answer');
  return { vouches: res.vouches, needed: res.needed, admitted: res.state === 'admitted' };
}

export async function expelVote(ctx: Ctx, a: { collective: string; name: string }, step?: Step): Promise<{ votes: number; needed: number; expelled: boolean }> {
  const res = await proveAbout(ctx, 'expel', a, step);
  if (!('votes' in res)) throw new Error('unexpected answer');
  return { votes: res.votes, needed: res.needed, expelled: res.expelled };
}

/** Leave: signed by our identity key, naming our leaf; our record (and group key) is forgotten. */
export async function leaveCollective(ctx: Ctx, a: { name: string }): Promise<CollectiveSummary[]> {
  const store = await ctx.store();
  const s = await store.account();
  const { name: c, operator: op } = parseCollective(a.name, s), h = handleAt(c, op, s);
  const secret = await secretOf(store);
  await ctx.client(op).leave(c, meIn(s, op, await store.collective(h)), keyPairOf(s.me.identity).privateKey, commitmentIn(secret, c)).catch((e: unknown) => {
    if (e instanceof OperatorError && e.status === 404) throw new UserError(`You are not a member of @${h}.`);
    throw e;
  });
  await store.removeCollective(h);
  return collectives(ctx);
}

/** A komrade's public vouch counts (also kept for their contact card). */
export async function vouchCounts(ctx: Ctx, a: { name: string }): Promise<VouchCountsView> {
  const store = await ctx.store();
  const name = foldName(a.name);
  // our Operator counts only its own komrades: a name of another Operator (`bob@<host>`) is never sent to it (PROTOCOL.md §11)
  if (!Name.safeParse(name).success) throw new UserError('Vouch counts are known only for komrades of your own Operator.');
  const r = await ctx.client((await store.account()).operator).vouchCounts(name).catch((e: unknown) => {
    if (e instanceof OperatorError && e.status === 404) throw new UserError(`Nobody is called @${name}.`);
    throw e;
  });
  const counts = await store.counts();
  counts[name] = { ...r, t: ctx.now() };
  await store.putCounts(counts);
  return { total: r.total, collectives: r.collectives };
}

/** Contact views (and one's own) with their vouch counts as last fetched. */
export async function withCounts<T extends ContactView | MeView>(ctx: Ctx, views: T[]): Promise<T[]> {
  const counts = await (await ctx.store()).counts();
  return views.map((v) => { const n = counts[v.name]; return n ? { ...v, vouches: { total: n.total, collectives: n.collectives } } : v; });
}
