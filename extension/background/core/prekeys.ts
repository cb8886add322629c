/**
 * Prekeys: a new one every week, published in our directory record (first contacts); retired
 * private halves erased after the grace period. The fresh prekeys made for each contact
 * (fresh-prekeys.ts) past their grace are erased here too, at each poll.
 */
import { b64, randomBytes } from '../../../protocol/bytes.ts';
import { signRecord } from '../../../protocol/identity.ts';
import type { NameRecord } from '../../../protocol/wire.ts';
import { DAY, keyPairOf, pair } from './common.ts';
import type { Ctx } from './ctx.ts';
import { erasePastGrace } from './fresh-prekeys.ts';

/** A new prekey every week; old private halves erased two weeks after retirement (the mail TTL). */
export const PREKEY_ROTATE_MS = 7 * DAY;
export const PREKEY_GRACE_MS = 14 * DAY;

/** Rotate the prekey weekly, publish it, and erase retired private halves after the grace period (weekly and per contact). */
export async function maintainPrekeys(ctx: Ctx): Promise<void> {
  const store = await ctx.store();
  await erasePastGrace(store, ctx.now());
  const s = await store.account();
  const before = JSON.stringify(s.prekeys);
  const now = ctx.now();
  const current = s.prekeys.at(-1)!;
  if (now - current.created >= PREKEY_ROTATE_MS) {
    const next = { id: b64(randomBytes(8)), ...pair(), created: now };
    const record: NameRecord = { v: 1, name: s.me.name, identityKey: s.me.identity.pub, intro: s.me.intro.id, prekey: { id: next.id, key: next.pub }, ts: Math.max(now, s.me.recordTs + 1) };
    try {
      await ctx.client(s.operator).replace(signRecord(keyPairOf(s.me.identity).privateKey, record));
      current.retired = now;
      s.prekeys.push(next);
      s.me.recordTs = record.ts;
    } catch { /* try again at the next poll */ }
  }
  s.prekeys = s.prekeys.filter((p) => p.retired === undefined || now - p.retired < PREKEY_GRACE_MS);
  if (JSON.stringify(s.prekeys) !== before) await store.putAccount(s);
}
