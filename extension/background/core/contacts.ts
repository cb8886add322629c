/** Contacts: the list, adding one from the directory, verification, accepting or refusing a changed key. */
import { OperatorError } from '../../../protocol/client.ts';
import { Fingerprint, fingerprint } from '../../../protocol/invite.ts';
import { foldName } from '../../../protocol/names.ts';
import { Name } from '../../../protocol/wire.ts';
import { UserError, type ContactView, type MeView } from '../../api.ts';
import { contactView, findContact, lower, meView, newContact, viewOf } from './common.ts';
import type { Ctx } from './ctx.ts';
import { verifiedLookup } from './transparency.ts';

export async function contacts(ctx: Ctx): Promise<{ me: MeView; contacts: ContactView[] }> {
  const store = await ctx.store();
  const index = await store.index();
  const list = [];
  for (const name of Object.keys(index.contacts)) {
    const c = await store.contact(name);
    if (c) list.push(contactView(c, index.contacts[name]!.unread));
  }
  return { me: meView(await store.account()), contacts: list.sort((a, b) => a.name.localeCompare(b.name)) };
}

export async function addContact(ctx: Ctx, a: { name: string }): Promise<ContactView> {
  const name = foldName(a.name);
  if (!Name.safeParse(name).success) throw new UserError('A name is 3 to 32 letters a–z, digits or _.');
  const store = await ctx.store();
  const s = await store.account();
  if (lower(name) === lower(s.me.name)) throw new UserError('That is you.');
  const known = await store.contact(lower(name));
  if (known) return viewOf(store, known);
  // the record's log proof is checked (PROTOCOL.md §5.11.3): a failure is a specific warning, and no contact is added
  const rec = await verifiedLookup(ctx, store, ctx.client(s.operator), name).catch((e) => {
    if (e instanceof OperatorError && e.status === 404) throw new UserError(`Nobody is called @${name}.`);
    throw e;
  });
  return viewOf(store, await newContact(ctx, store, rec.record, rec.record.prekey, rec.record.intro));
}

/**
 * Add the komrade who invited us (PROTOCOL.md §10). The invite is a stranger's claim: the
 * directory's record (signature checked) must carry the identity key the invite names, or
 * nothing is added and the error says so loudly.
 */
export async function addInviter(ctx: Ctx, a: { name: string; key: string }): Promise<ContactView> {
  const name = foldName(a.name);
  if (!Name.safeParse(name).success || !Fingerprint.safeParse(a.key).success) throw new UserError('That invite is damaged: no contact was added.');
  const store = await ctx.store();
  const s = await store.account();
  const rec = await ctx.client(s.operator).lookup(name).catch((e) => {
    if (e instanceof OperatorError && e.status === 404) throw new UserError(`Nobody is called @${name} on this Operator: the invite may be forged. No contact was added.`);
    throw e;
  });
  const known = await store.contact(lower(name));
  if (fingerprint(rec.record.identityKey) !== a.key || (known && known.identityKey !== rec.record.identityKey)) {
    throw new UserError(`Warning: the Operator's directory has a different key for @${name} than your invite names. The invite may have been altered, or the directory may lie, or the name changed hands. @${name} was NOT added; ask them in person.`);
  }
  if (known) return viewOf(store, known);
  return viewOf(store, await newContact(ctx, store, rec.record, rec.record.prekey, rec.record.intro));
}

export async function setVerified(ctx: Ctx, a: { name: string; verified: boolean }): Promise<ContactView> {
  const store = await ctx.store();
  const c = await findContact(store, a.name);
  if (c.pendingKey) throw new UserError('Accept or refuse the new key first.');
  c.verified = a.verified;
  await store.putContact(c);
  return viewOf(store, c);
}

/** Accept a changed key: it becomes the contact's key, unverified. */
export async function acceptKey(ctx: Ctx, a: { name: string }): Promise<ContactView> {
  const store = await ctx.store();
  const c = await findContact(store, a.name);
  if (!c.pendingKey) throw new UserError('No new key to accept.');
  Object.assign(c, { identityKey: c.pendingKey.identityKey, prekey: c.pendingKey.prekey, sendTo: c.pendingKey.sendTo, verified: false });
  delete c.pendingKey;
  delete c.prekeyAt;
  await store.putContact(c);
  return viewOf(store, c);
}

/**
 * Refuse a changed key: the stored key stays, with its verified mark, and sending is unblocked
 * (to the stored key, at the mailbox it last gave). If the new key writes again and the
 * directory still vouches for it, the change is pending again: the person decides each time.
 */
export async function refuseKey(ctx: Ctx, a: { name: string }): Promise<ContactView> {
  const store = await ctx.store();
  const c = await findContact(store, a.name);
  if (!c.pendingKey) throw new UserError('No new key to refuse.');
  delete c.pendingKey;
  await store.putContact(c);
  return viewOf(store, c);
}
