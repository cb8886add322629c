/**
 * Message requests: a first contact from a name not among the contacts (receive.ts files it
 * apart, once the directory vouched for its key) waits here until the person accepts it (a
 * contact, its messages the thread), deletes it, or blocks the name (messages from a blocked
 * name are dropped on receipt). The block list.
 */
import { unb64 } from '../../../protocol/bytes.ts';
import { safetyNumber, safetyWords } from '../../../protocol/identity.ts';
import { foldName } from '../../../protocol/names.ts';
import { Name } from '../../../protocol/wire.ts';
import { UserError, type ContactView, type RequestView } from '../../api.ts';
import { lower, newContact, viewOf } from './common.ts';
import type { Ctx } from './ctx.ts';
import { noteFiled, queueReceipts } from './receipts.ts';

export async function requests(ctx: Ctx): Promise<RequestView[]> {
  const store = await ctx.store();
  const out: RequestView[] = [];
  for (const name of await store.requestNames()) {
    const r = await store.request(name);
    if (!r) continue;
    const key = unb64(r.identityKey);
    out.push({ name: foldName(r.name), safetyWords: safetyWords(key), safetyNumber: safetyNumber(key), t: r.t, messages: r.messages });
  }
  return out.sort((a, b) => b.t - a.t);
}

async function existing(ctx: Ctx, name: string) {
  const store = await ctx.store();
  const r = await store.request(lower(name));
  if (!r) throw new UserError(`No request from @${foldName(name)}.`);
  return { store, r };
}

/** Accept: a contact (with a pairwise mailbox made for them), the request's messages its thread, unread. */
export async function acceptRequest(ctx: Ctx, a: { name: string }): Promise<ContactView> {
  const { store, r } = await existing(ctx, a.name);
  const c = (await store.contact(r.name)) ?? await newContact(ctx, store, r, r.prekey, r.sendTo);
  c.disappear = r.disappear;
  for (const m of r.messages) { await store.append(c, m, { unread: true }); noteFiled(ctx, c, m.id); }
  await store.putContact(c);
  await queueReceipts(ctx, store); // accepting says "delivered" for what the request held (Komrade sends none to strangers)
  await store.removeRequest(r.name);
  await ctx.changed(store, 0);
  return viewOf(store, c);
}

export async function deleteRequest(ctx: Ctx, a: { name: string }): Promise<RequestView[]> {
  const { store, r } = await existing(ctx, a.name);
  await store.removeRequest(r.name);
  await ctx.changed(store, 0);
  return requests(ctx);
}

/** Block a name (its request, if any, is dropped); contacts stay contacts, but their messages are dropped too. */
export async function block(ctx: Ctx, a: { name: string }): Promise<string[]> {
  const name = foldName(a.name);
  if (!Name.safeParse(name).success) throw new UserError('A name is 3 to 32 letters a–z, digits or _.');
  const store = await ctx.store();
  await store.putBlocked({ ...(await store.blocked()), [name]: ctx.now() });
  if (await store.request(name)) { await store.removeRequest(name); await ctx.changed(store, 0); }
  return blocked(ctx);
}

export async function unblock(ctx: Ctx, a: { name: string }): Promise<string[]> {
  const store = await ctx.store();
  const names = await store.blocked();
  delete names[foldName(a.name)];
  await store.putBlocked(names);
  return blocked(ctx);
}

export async function blocked(ctx: Ctx): Promise<string[]> {
  return Object.keys(await (await ctx.store()).blocked()).map(foldName).sort();
}
