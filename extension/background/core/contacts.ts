/** Contacts: the list, adding one from the directory, verification, accepting or refusing a changed key. */
import { AddressError, checkOperator, formatAddress, handleOf, parseAddress } from '../../../protocol/address.ts';
import { OperatorError } from '../../../protocol/client.ts';
import { Fingerprint, fingerprint, parseInvite, type Invite } from '../../../protocol/invite.ts';
import { foldName } from '../../../protocol/names.ts';
import { Name } from '../../../protocol/wire.ts';
import { UserError, type ContactView, type MeView } from '../../api.ts';
import { contactView, findContact, lower, meView, newContact, viewOf } from './common.ts';
import type { Ctx } from './ctx.ts';
import { lookupAt } from './operators.ts';

export async function contacts(ctx: Ctx): Promise<{ me: MeView; contacts: ContactView[] }> {
  const store = await ctx.store();
  const index = await store.index();
  const list = [], outbox = await store.outbox();
  for (const name of Object.keys(index.contacts)) {
    const c = await store.contact(name);
    if (c) list.push(contactView(c, index.contacts[name]!.unread, outbox));
  }
  return { me: meView(await store.account()), contacts: list.sort((a, b) => a.name.localeCompare(b.name)) };
}

/**
 * Add a contact by address: `@bob` is looked up at our Operator, `@bob@<onion>` at bob's
 * (PROTOCOL.md §11); the first message goes to his intro there. An invite line works too.
 */
export async function addContact(ctx: Ctx, a: { name: string }): Promise<ContactView> {
  const store = await ctx.store();
  const s = await store.account();
  const invite = parseInvite(a.name);
  if (invite) return addFromInvite(ctx, invite);
  let addr;
  try { addr = parseAddress(a.name, { home: s.operator, allowLoopback: s.settings.allowLoopback }); } catch (e) {
    if (e instanceof AddressError) throw new UserError(e.message);
    throw e;
  }
  const { name, operator } = addr;
  if (operator === s.operator && name === lower(s.me.name)) throw new UserError('That is you.');
  const known = await store.contact(handleOf(addr, s.operator));
  if (known) return viewOf(store, known);
  // the record's log proof is checked (PROTOCOL.md §5.11.3) against that Operator's log: a failure is a specific warning, and no contact is added
  const rec = await lookupAt(ctx, store, operator, name).catch((e) => {
    if (e instanceof OperatorError && e.status === 404) throw new UserError(`Nobody is called ${formatAddress(addr, s.operator)}.`);
    // ours may be fine: say whose Operator is out of reach
    if (e instanceof OperatorError && e.status === 0 && operator !== s.operator) throw new UserError(`The Operator of ${formatAddress(addr, s.operator)} cannot be reached right now; try again later.`);
    throw e;
  });
  if (foldName(rec.record.name) !== name) throw new UserError(`The Operator answered for another name than ${formatAddress(addr, s.operator)}: no contact was added.`);
  return viewOf(store, await newContact(ctx, store, { ...rec.record, operator }, rec.record.prekey, rec.record.intro));
}

/**
 * An invite pasted where an address goes (PROTOCOL.md §10, §11): its inviter, at the invite's
 * Operator, added only if that Operator's directory (log proof checked) carries the key the
 * invite names; otherwise nothing is added and the error says so loudly.
 */
async function addFromInvite(ctx: Ctx, invite: Invite): Promise<ContactView> {
  const store = await ctx.store();
  const s = await store.account();
  if (!invite.from) throw new UserError('That invite is an Operator\'s own: it names nobody to add.');
  const { operator } = invite, addr = { name: foldName(invite.from.name), operator };
  if (operator !== s.operator && !checkOperator(operator, s.settings.allowLoopback)) throw new UserError('That invite names a loopback Operator: it needs the developer option.');
  if (operator === s.operator && addr.name === lower(s.me.name)) throw new UserError('That is you.');
  const rec = await lookupAt(ctx, store, operator, addr.name).catch((e) => {
    if (e instanceof OperatorError && e.status === 404) throw new UserError(`Nobody is called ${formatAddress(addr, s.operator)}: the invite may be forged. No contact was added.`);
    throw e;
  });
  const known = await store.contact(handleOf(addr, s.operator));
  if (fingerprint(rec.record.identityKey) !== invite.from.key || foldName(rec.record.name) !== addr.name || (known && known.identityKey !== rec.record.identityKey)) {
    throw new UserError(`Warning: the directory has a different key for ${formatAddress(addr, s.operator)} than the invite names. The invite may have been altered, or the directory may lie, or the name changed hands. Nobody was added; ask them in person.`);
  }
  if (known) return viewOf(store, known);
  return viewOf(store, await newContact(ctx, store, { ...rec.record, operator }, rec.record.prekey, rec.record.intro));
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
  const rec = await lookupAt(ctx, store, s.operator, name).catch((e) => { // with its log proof (PROTOCOL.md §5.11)
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
