/**
 * Message requests: a first contact from a name not among the contacts (receive.ts files it
 * apart, once the directory vouched for its key) waits here until the person accepts it (a
 * contact, its messages the thread), deletes it, or blocks the name (messages from a blocked
 * name are dropped on receipt). The block list.
 */
import { AddressError, handleOf, parseAddress } from '../../../protocol/address.ts';
import { unb64 } from '../../../protocol/bytes.ts';
import { safetyNumber, safetyWords } from '../../../protocol/identity.ts';
import { foldName } from '../../../protocol/names.ts';
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
  const store = await ctx.store();
  const s = await store.account();
  // a name of ours, or of another Operator (`bob@<host>`, PROTOCOL.md §11): blocked by its handle
  let name;
  try { name = handleOf(parseAddress(a.name, { home: s.operator, allowLoopback: s.settings.allowLoopback }), s.operator); } catch (e) {
    if (e instanceof AddressError) throw new UserError(e.message);
    throw e;
  }
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
