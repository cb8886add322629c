/**
 * Pieces more than one feature needs: key pairs, views without keys, finding and making
 * contacts, and turning errors into sentences for a person.
 */
import { b64, randomBytes, unb64 } from '../../../protocol/bytes.ts';
import { OperatorError } from '../../../protocol/client.ts';
import { EnvelopeError, seal } from '../../../protocol/envelope.ts';
import type { MovedMessage, Receipt, TextMessage } from '../../../protocol/message.ts';
import { safetyNumber, safetyWords } from '../../../protocol/identity.ts';
import { handleOf, operatorHost } from '../../../protocol/address.ts';
import { foldName } from '../../../protocol/names.ts';
import { KeyPair, privateKey } from '../../../protocol/themis.ts';
import { UserError, type ContactView, type MeView } from '../../api.ts';
import type { Account, Contact, Outgoing } from '../state.ts';
import type { Ctx } from './ctx.ts';
import { prekeyToOffer } from './fresh-prekeys.ts';
import type { Store } from './store.ts';
import { newestCheckpoint } from './transparency.ts';

export const DAY = 86_400_000;

/** Why a name (a komrade's or a collective's) cannot be had, in words: held, or too like one that is (PROTOCOL.md §5.7). */
export function nameRefused(name: string, reason: 'taken' | 'look-alike'): UserError {
  return new UserError(reason === 'taken' ? `The name @${name} is taken.`
    : `@${name} looks like an existing name (look-alikes such as 1 for l, 0 for o, rn for m cannot both exist). Choose another.`);
}
export const lower = foldName;

export const pair = () => { const k = new KeyPair(); return { priv: b64(k.privateKey), pub: b64(k.publicKey) }; };
export const keyPairOf = (k: { priv: string; pub: string }) => ({ privateKey: privateKey(unb64(k.priv)), publicKey: unb64(k.pub) });

/** A failure of the Operator that says nothing about the name: try again later. */
export const transient = (e: unknown) => e instanceof OperatorError && (e.status === 0 || e.status === 429 || e.status >= 500);

/**
 * Turn anything thrown into a sentence for a person: a UserError (WrongPassphrase is one) says
 * itself, the Operator's refusals and absence are explained, anything else is a bug.
 */
export function explain(e: unknown): string {
  if (e instanceof UserError) return e.message;
  if (e instanceof OperatorError) {
    if (e.status === 0) return 'The Operator cannot be reached right now (is Tor connected?).';
    return `The Operator refused: ${e.reason}.`;
  }
  return `Something went wrong: ${(e as Error)?.message ?? String(e)}`;
}

/** A contact as the popup sees it: no keys, only words to compare; what waits for them in `outbox` after a failed deposit, and why. */
export function contactView(c: Contact, unread: number, outbox: Outgoing[] = []): ContactView {
  const key = unb64(c.identityKey);
  // "verified" is never shown while a changed key is pending: nobody compared the new words yet
  const v: ContactView = { name: foldName(c.name), safetyWords: safetyWords(key), safetyNumber: safetyNumber(key), verified: c.verified && !c.pendingKey, unread };
  if (c.operator) v.operator = operatorHost(c.operator);
  const stuck = outbox.filter((x) => x.contact === c.name && !x.control && x.tries > 0);
  if (stuck.length) v.waiting = `${stuck.length} ${stuck.length === 1 ? 'message waits' : 'messages wait'}: ${stuck.at(-1)!.lastError ?? 'not sent yet'}`;
  if (c.pendingKey) { const k = unb64(c.pendingKey.identityKey); v.keyChanged = { safetyWords: safetyWords(k), safetyNumber: safetyNumber(k) }; }
  return v;
}

export async function viewOf(store: Store, c: Contact): Promise<ContactView> {
  return contactView(c, (await store.unreadOf(c.name)), await store.outbox());
}

export function meView(a: Account): MeView {
  const key = unb64(a.me.identity.pub);
  return { name: foldName(a.me.name), safetyWords: safetyWords(key), safetyNumber: safetyNumber(key), address: `@${foldName(a.me.name)}@${operatorHost(a.operator)}` };
}

/** A contact by name, or a UserError. */
export async function findContact(store: Store, name: string): Promise<Contact> {
  const c = await store.contact(lower(name));
  if (!c) throw new UserError(`@${name} is not among your contacts.`);
  return c;
}

/**
 * A new contact for a directory record (or a request), with a pairwise mailbox made for them to
 * write to us, on our home Operator (written: the account's mailboxes, the contact, its line in
 * the index). `who.operator`: their home Operator when it is not ours (PROTOCOL.md §11).
 */
export async function newContact(ctx: Ctx, store: Store, who: { name: string; identityKey: string; intro?: string; operator?: string }, prekey: Contact['prekey'], sendTo: string): Promise<Contact> {
  const a = await store.account();
  const operator = who.operator === a.operator ? undefined : who.operator;
  const name = handleOf({ name: who.name.split('@')[0]!, operator }, a.operator);
  const id = b64(randomBytes(16)), keys = pair();
  await ctx.client(a.operator).createMailbox(id, keyPairOf(keys));
  a.mailboxes[id] = { ...keys, contact: name };
  await store.putAccount(a);
  const c: Contact = {
    name, ...(operator && { operator }), identityKey: who.identityKey, prekey, sendTo, intro: who.intro,
    inbox: id, verified: false, chunks: { first: 0, next: 0 }, disappear: 0,
  };
  await store.putContact(c);
  await store.summary(name, () => {});
  return c;
}

/**
 * Seal a message for a contact (our reply-to mailbox and a fresh prekey made for this contact
 * ride along, END-TO-END.md §6) and queue it in the outbox; empty `text` is a control message
 * that only says where to reply. Returns the envelope's id and time.
 */
export async function sealAndQueue(store: Store, c: Contact, text: string, now: number): Promise<{ id: string; t: number }> {
  const s = await store.account();
  const body: TextMessage = { kind: 'msg', from: s.me.name, text, replyTo: c.inbox, prekey: await prekeyToOffer(store, c.name, now) };
  if (c.disappear) body.expire = c.disappear;
  // a komrade of another Operator learns ours: where to look us up and where replyTo is (PROTOCOL.md §11)
  if (c.operator) body.home = s.operator;
  // gossip: the newest checkpoint we have seen rides along, unless it would not fit the largest envelope
  const checkpoint = await newestCheckpoint(store);
  if (checkpoint) body.checkpoint = checkpoint;
  try { return await sealBodyAndQueue(store, c, body, now); } catch (e) {
    if (!checkpoint || !(e instanceof EnvelopeError) || e.fault !== 'too-large') throw e;
    delete body.checkpoint;
    return sealBodyAndQueue(store, c, body, now);
  }
}

/** Seal any body (a message, a receipt) for a contact and queue it in the outbox. */
export async function sealBodyAndQueue(store: Store, c: Contact, body: TextMessage | Receipt | MovedMessage, now: number): Promise<{ id: string; t: number }> {
  const s = await store.account();
  const { blob, id } = seal({ senderIdentity: keyPairOf(s.me.identity), recipientIdentityKey: unb64(c.identityKey), prekey: { id: c.prekey.id, key: unb64(c.prekey.key) }, body, now });
  await store.putOutbox([...(await store.outbox()), { contact: c.name, id, to: c.sendTo, ...(c.operator && { at: c.operator }), blob: b64(blob), tries: 0, ...(body.kind !== 'msg' || !body.text ? { control: true } : {}) }]);
  return { id, t: now };
}
