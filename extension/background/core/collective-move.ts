/**
 * Moving home, the collectives' part (COLLECTIVES.md §15.1, PROTOCOL.md §11.5 "Collectives"):
 * tell every collective we are a member of that our handle there is now the one our new home
 * gives, by a `move` entry signed by our identity key, on each collective's own Operator and
 * circuit, and keep that handle in our record so that we post, read and are handed keys as it.
 * Each collective's members check the new handle at its home before they trust it (§15.1).
 */
import { handleOf } from '../../../protocol/address.ts';
import type { Account } from '../state.ts';
import type { CollectiveRecord } from '../collective-state.ts';
import { foldName } from '../../../protocol/names.ts';
import { collectiveHandle } from '../collective-state.ts';
import { commitmentIn, replay, secretOf } from './collective-log.ts';
import { collectiveOperator } from './collective-operator.ts';
import { keyPairOf } from './common.ts';
import type { Ctx } from './ctx.ts';
import type { Store } from './store.ts';
import { renameFeedCollective } from './feed-store.ts';

/** One end of a move: the name and its home Operator (origin). */
export interface Home { name: string; operator: string }

/**
 * Append a `move` entry (old handle → new handle) to every collective we are a member of and
 * keep the new handle in its record. Idempotent: a collective whose log already names us (our
 * commitment) under the new handle is only recorded, so it is safe to call again after a crash.
 * Call it once the record at the new home exists, before the account's home changes. A
 * collective out of reach throws (the caller retries the step); one whose log no longer names
 * us under the old handle is left alone.
 */
export async function tellCollectivesMoved(ctx: Ctx, store: Store, move: { from: Home; to: Home }): Promise<void> {
  const s = await store.account();
  const secret = await secretOf(store);
  const identity = keyPairOf(s.me.identity).privateKey;
  let unreachable: unknown;
  for (const rec of await store.collectives()) {
    if (rec.status !== 'member') continue;
    const op = collectiveOperator(rec, s), c = foldName(rec.name), commitment = commitmentIn(secret, c);
    const from = handleOf(move.from, op), to = handleOf(move.to, op);
    try {
      const r = await replay(ctx.client(op), c);
      if (r.members.get(to)?.commitment !== commitment) {
        if (r.members.get(from)?.commitment !== commitment) continue; // not ours under the old handle either: nothing to move
        await ctx.client(op).moveMember(c, from, to, identity, commitment);
      }
      const now = await store.collective(collectiveHandle(rec));
      if (now) await store.putCollective({ ...now, me: to });
    } catch (e) { unreachable ??= e; }
  }
  if (unreachable !== undefined) throw unreachable;
}

/** Keep `rec` as `next` (a new handle when the Operator it names changed meaning), its feed state with it. */
async function rekey(store: Store, rec: CollectiveRecord, next: CollectiveRecord): Promise<void> {
  const [h, h2] = [collectiveHandle(rec), collectiveHandle(next)];
  await store.putCollective(next);
  if (h2 !== h) { await renameFeedCollective(store, h, h2); await store.removeCollective(h); }
}

/**
 * Before the home changes (`s` still names the old one): every collective record names its
 * Operator explicitly (those of the old home had none) and our handle there as its log has it,
 * so that neither changes meaning when the account's Operator does. Safe to repeat.
 */
export async function pinCollectives(store: Store, s: Account): Promise<void> {
  for (const rec of await store.collectives()) {
    const op = collectiveOperator(rec, s);
    await rekey(store, rec, { ...rec, operator: op, me: rec.me ?? handleOf({ name: s.me.name, operator: s.operator }, op) });
  }
}

/** After the home changed (`s` names the new one): a collective of our new home is ours again, kept and shown by its bare name. Safe to repeat. */
export async function unpinCollectives(store: Store, s: Account): Promise<void> {
  for (const rec of await store.collectives()) {
    if (rec.operator !== s.operator) continue;
    const next = { ...rec };
    delete next.operator;
    await rekey(store, rec, next);
  }
}
