/**
 * Collectives at each poll: our standing and counts, the group-key hand-over (COLLECTIVES.md
 * §8) both ways, and the vouch counts on contact cards.
 *
 * Handing over: a member holding the key seals it, once per newcomer, to the prekey in the
 * newcomer's signed join request (taken from the replayed log, not from the Operator's word)
 * and deposits it into the newcomer's intro mailbox. Newcomers admitted before we had the key
 * are presumed to have it from someone else (`keyedAt`).
 * Receiving: the receive path keeps `collective-key` envelopes aside (`collective/~keys`); here
 * each is accepted only if its signer's identity key is a current member's in the log we
 * replayed ourselves, and we are a member by that log, for a root of that log. Anything else is
 * refused and counted. With epochs (POSTS.md §9) the newest bundle is handed over; epochs.ts
 * resets `keyedAt`/`handed` to the new epoch's root whenever one opens.
 */
import { unb64 } from '../../../protocol/bytes.ts';
import { seal } from '../../../protocol/envelope.ts';
import type { CollectiveKey } from '../../../protocol/message.ts';
import { foldName } from '../../../protocol/names.ts';
import type { Account } from '../state.ts';
import type { CollectiveRecord } from '../collective-state.ts';
import { DAY, keyPairOf, transient } from './common.ts';
import { commitmentIn, refresh, replay, secretOf, standing, treeAt, type Replayed } from './collective-log.ts';
import type { Ctx } from './ctx.ts';
import { collectiveHandle } from '../collective-state.ts';
import { checkAtHome, collectiveOperator, homeOf, meIn } from './collective-operator.ts';
import type { Store } from './store.ts';

/** A hand-over that cannot be checked yet (Operator out of reach) waits this long. */
const KEY_WAIT_MS = 14 * DAY;

/**
 * Seal our group key of `rec` to the newcomer `name` (their handle in the collective; their join
 * request's prekey) and deposit it into their intro mailbox at their home, once their record
 * there (with its log proof) carries their request's key (COLLECTIVES.md §15; else an alarm).
 */
async function handOver(ctx: Ctx, s: Account, rec: CollectiveRecord, r: Replayed, name: string): Promise<void> {
  const entry = r.entries.findLast((e) => e.type === 'admit' && e.name === name);
  const req = entry?.request?.request;
  const bundle = rec.bundles.at(-1);
  if (!req || !bundle) return;
  const home = homeOf(name, collectiveOperator(rec, s)).operator;
  const dir = await checkAtHome(ctx, await ctx.store(), collectiveOperator(rec, s), name, req.identityKey);
  const body: CollectiveKey = { kind: 'collective-key', collective: foldName(rec.name), epoch: bundle.epoch, bundle, logSeq: r.seq, logHead: r.head };
  const { blob } = seal({
    senderIdentity: keyPairOf(s.me.identity), recipientIdentityKey: unb64(req.identityKey),
    prekey: { id: req.prekey.id, key: unb64(req.prekey.key) }, body, now: ctx.now(),
  });
  await ctx.client(home).deposit(dir.record.intro, blob, { intro: true });
}

/** Check the hand-overs waiting in `collective/~keys` against the replayed logs; keep the first good key per collective. */
async function acceptKeys(ctx: Ctx, store: Store, s: Account, secret: Uint8Array, logs: Map<string, Replayed>): Promise<void> {
  const left = [], waiting = await store.keysIn();
  if (!waiting.length) return; // nothing to check: write nothing (a poll must not grow with history)
  for (const item of waiting) {
    const c = item.body.collective;
    // the body names the collective by its bare name: the one of that name we asked to join, at whichever Operator (§15)
    const recs = (await store.collectives()).filter((x) => foldName(x.name) === c);
    if (!recs.length) continue; // not a collective we asked to join
    let rec = recs[0]!, r: Replayed | undefined, wait = false;
    for (const x of recs) {
      const h = collectiveHandle(x), op = collectiveOperator(x, s);
      let got = logs.get(h);
      if (!got) {
        try { got = await replay(ctx.client(op), c); logs.set(h, got); } catch (e) { wait ||= transient(e); continue; }
      }
      if ([...got.members.values()].some((m) => m.key === item.from) || recs.length === 1) { rec = x; r = got; break; }
    }
    if (!r) { if (wait && ctx.now() - item.t < KEY_WAIT_MS) left.push(item); continue; }
    const signer = [...r.members.values()].find((m) => m.key === item.from);
    const ok = signer && standing(r, meIn(s, collectiveOperator(rec, s), rec), commitmentIn(secret, c), false) === 'member'
      && item.body.bundle.collective === c && item.body.bundle.epoch === item.body.epoch && treeAt(r, item.body.bundle.root);
    if (!ok) { rec.refusedKeys++; await store.putCollective(rec); continue; }
    const have = rec.bundles.at(-1);
    if (have && have.epoch >= item.body.epoch) continue; // duplicates of the same key are harmless
    // older epochs' bundles stay while their posts may be pending (epochs.ts drops them after the TTL)
    rec.bundles = [...rec.bundles.filter((b) => b.epoch < item.body.epoch), item.body.bundle];
    if (have) rec.ended = { ...rec.ended, [have.epoch]: ctx.now() };
    rec.epochAt = ctx.now();
    rec.status = 'member';
    rec.keyedAt = r.seq;
    // everyone admitted up to now is presumed to hold the key already
    rec.handed = [...new Set([...rec.handed, ...r.members.keys()])];
    await store.putCollective(rec);
  }
  await store.putKeysIn(left);
}

/**
 * Everything collectives do at a poll (or, with `only`, for that one collective at its scheduled
 * read, schedule.ts). Failures of one collective do not stop the others. Returns the logs
 * replayed (for epochs and posts), by the collective's handle (`portland`, `portland@<host>`).
 */
export async function sync(ctx: Ctx, only?: string): Promise<Map<string, Replayed>> {
  const store = await ctx.store();
  const s = await store.account();
  const records = await store.collectives();
  const keysWaiting = (await store.keysIn()).length > 0;
  const logs = new Map<string, Replayed>();
  if (!records.length && !keysWaiting) return logs;
  const secret = await secretOf(store);
  for (const rec of records) {
    const c = foldName(rec.name), h = collectiveHandle(rec), op = collectiveOperator(rec, s);
    let me = meIn(s, op, rec);
    if (only !== undefined && h !== foldName(only)) continue;
    try {
      const r = await replay(ctx.client(op), c);
      logs.set(h, r);
      const requested = rec.status === 'requested' && (await ctx.client(op).listRequests(c)).requests.some((q) => foldName(q.request.name) === me);
      // a move of ours (COLLECTIVES.md §15.1) that the log recorded before our record did (a crash between them): the log's handle is ours
      const commitment = commitmentIn(secret, c); // a Poseidon hash: once per collective, not once per member
      const ours = [...r.members].find(([, m]) => m.commitment === commitment && m.key === s.me.identity.pub)?.[0];
      if (ours !== undefined && ours !== me) rec.me = me = ours;
      const st = standing(r, me, commitment, requested);
      if (st === 'none') { await store.removeCollective(h); continue; } // removed, or the request is gone
      refresh(rec, r, st, ctx.now());
      if (st === 'member' && rec.bundles.length && rec.keyedAt !== undefined) {
        for (const e of r.entries) {
          if (e.type !== 'admit' || e.seq <= rec.keyedAt || e.name === me || rec.handed.includes(e.name) || !r.members.has(e.name)) continue;
          try { await handOver(ctx, s, rec, r, e.name); rec.handed.push(e.name); } catch (err) { if (!transient(err)) rec.handed.push(e.name); }
        }
      }
      await store.putCollective(rec);
    } catch { /* try again at the next poll */ }
  }
  await acceptKeys(ctx, store, s, secret, logs);
  return logs;
}

