/**
 * Cover traffic (PROTOCOL.md §1, "Timing"): a deposit slot with nothing queued carries a dummy,
 * an envelope sealed to ourselves whose body is `{ "kind": "dummy" }`, padded to the smallest
 * bucket like any short message, into our loop mailbox or one of our own pairwise mailboxes
 * (schedule.ts `dummyTarget`). We fetch it on that mailbox's own schedule and drop it, as any
 * body that is not a message, so it is deleted on fetch like any mail.
 */
import { b64, randomBytes, unb64 } from '../../../protocol/bytes.ts';
import { seal } from '../../../protocol/envelope.ts';
import { dummyTarget, type Random } from '../schedule.ts';
import { keyPairOf, pair } from './common.ts';
import type { Ctx } from './ctx.ts';

/** Our loop mailbox, made at the Operator (and kept in the account) the first time it is wanted. */
export async function loopMailbox(ctx: Ctx): Promise<{ id: string; priv: string; pub: string }> {
  const store = await ctx.store();
  const a = await store.account();
  if (a.loop) return a.loop;
  const loop = { id: b64(randomBytes(16)), ...pair() };
  await ctx.client(a.operator).createMailbox(loop.id, keyPairOf(loop));
  await store.putAccount({ ...(await store.account()), loop });
  return loop;
}

/** Deposit one dummy (the state lock is held only to seal it, not across the deposit). */
export async function depositDummy(ctx: Ctx, random: Random): Promise<void> {
  const { to, blob, operator } = await ctx.serial(async () => {
    const loop = await loopMailbox(ctx);
    const s = await (await ctx.store()).account();
    const prekey = s.prekeys.at(-1)!;
    const { blob } = seal({ senderIdentity: keyPairOf(s.me.identity), recipientIdentityKey: unb64(s.me.identity.pub), prekey: { id: prekey.id, key: unb64(prekey.pub) }, body: { kind: 'dummy' }, now: ctx.now() });
    return { to: dummyTarget(loop.id, Object.keys(s.mailboxes), random), blob, operator: s.operator };
  });
  await ctx.client(operator).deposit(to, blob);
}
