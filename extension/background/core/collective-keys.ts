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
import { lookupAt } from './operators.ts';
import type { Store } from './store.ts';

/** A hand-over that cannot be checked yet (Operator out of reach) waits this long. */
const KEY_WAIT_MS = 14 * DAY;

/** Seal our group key of `rec` to the newcomer `name` (their join request's prekey) and deposit it into their intro mailbox. */
async function handOver(ctx: Ctx, s: Account, rec: CollectiveRecord, r: Replayed, name: string): Promise<void> {
  const entry = r.entries.findLast((e) => e.type === 'admit' && e.name === name);
  const req = entry?.request?.request;
  const bundle = rec.bundles.at(-1);
  if (!req || !bundle) return;
  const client = ctx.client(s.operator);
  const dir = await lookupAt(ctx, await ctx.store(), s.operator, name); // with its log proof (PROTOCOL.md §5.11)
  if (dir.record.identityKey !== req.identityKey) return; // the name changed hands since: not them
  const body: CollectiveKey = { kind: 'collective-key', collective: foldName(rec.name), epoch: bundle.epoch, bundle, logSeq: r.seq, logHead: r.head };
  const { blob } = seal({
    senderIdentity: keyPairOf(s.me.identity), recipientIdentityKey: unb64(req.identityKey),
    prekey: { id: req.prekey.id, key: unb64(req.prekey.key) }, body, now: ctx.now(),
  });
  await client.deposit(dir.record.intro, blob, { intro: true });
}

/** Check the hand-overs waiting in `collective/~keys` against the replayed logs; keep the first good key per collective. */
async function acceptKeys(ctx: Ctx, store: Store, s: Account, secret: Uint8Array, logs: Map<string, Replayed>): Promise<void> {
  const left = [], waiting = await store.keysIn();
  if (!waiting.length) return; // nothing to check: write nothing (a poll must not grow with history)
  for (const item of waiting) {
    const c = item.body.collective;
    const rec = await store.collective(c);
    if (!rec) continue; // not a collective we asked to join
    let r = logs.get(c);
    if (!r) {
      try { r = await replay(ctx.client(s.operator), c); logs.set(c, r); } catch (e) {
        if (transient(e) && ctx.now() - item.t < KEY_WAIT_MS) left.push(item);
        continue;
      }
    }
    const signer = [...r.members.values()].find((m) => m.key === item.from);
    const ok = signer && standing(r, s.me.name, commitmentIn(secret, c), false) === 'member'
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
 * replayed (for epochs and posts).
 */
export async function sync(ctx: Ctx, only?: string): Promise<Map<string, Replayed>> {
  const store = await ctx.store();
  const s = await store.account();
  const records = await store.collectives();
  const keysWaiting = (await store.keysIn()).length > 0;
  const logs = new Map<string, Replayed>();
  if (!records.length && !keysWaiting) return logs;
  const secret = await secretOf(store);
  const me = foldName(s.me.name);
  for (const rec of records) {
    const c = foldName(rec.name);
    if (only !== undefined && c !== foldName(only)) continue;
    try {
      const r = await replay(ctx.client(s.operator), c);
      logs.set(c, r);
      const requested = rec.status === 'requested' && (await ctx.client(s.operator).listRequests(c)).requests.some((q) => foldName(q.request.name) === me);
      const st = standing(r, me, commitmentIn(secret, c), requested);
      if (st === 'none') { await store.removeCollective(c); continue; } // removed, or the request is gone
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

