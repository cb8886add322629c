/**
 * A contact moved home (PROTOCOL.md §11.5 step 5, END-TO-END.md §7): a `moved` body, signed by
 * the key we store for the contact, is believed only once the NEW Operator's directory (with its
 * log proof, §5.11.3) shows that very key for the new name. Then the contact is renamed from its
 * old handle to the new one (every record keyed by it), keeping its thread, safety words and
 * verified mark, and the next message goes to the new `replyTo`. Otherwise nothing changes and
 * the thread shows an alarm. A new Operator that cannot be asked now: the body waits (`later`).
 */
import { checkOperator, formatAddress, handleOf } from '../../../protocol/address.ts';
import { b64, randomBytes } from '../../../protocol/bytes.ts';
import { OperatorError } from '../../../protocol/client.ts';
import type { MovedMessage } from '../../../protocol/message.ts';
import { ContactPrekeys, type Contact } from '../state.ts';
import { lower, transient } from './common.ts';
import type { Ctx } from './ctx.ts';
import { adoptPrekey } from './fresh-prekeys.ts';
import { foreign, lookupAt } from './operators.ts';
import { K, type Store } from './store.ts';
import { LogAlarmError } from './transparency.ts';

/** An opened envelope, as receive.ts has it. */
interface Opened { id: string; t: number; from: Uint8Array }

/** Decide a `moved` body: `later` when the new Operator cannot be asked now (the caller keeps the blob), else `dropped` (filed as a notice, never as a message). */
export async function receiveMoved(ctx: Ctx, store: Store, opened: Opened, body: MovedMessage): Promise<'dropped' | 'later'> {
  const s = await store.account();
  const signer = b64(opened.from);
  const c = await moverOf(store, signer, body.from);
  // from nobody we know under that key: a forgery (§4) or a stranger; nothing to move
  if (!c) { await store.addSeen(opened.id, opened.t); return 'dropped'; }
  const to = handleOf({ name: lower(body.name), operator: body.home }, s.operator);
  const claimed = formatAddress({ name: lower(body.name), operator: body.home }, s.operator);
  const refuse = async () => {
    await store.addSeen(opened.id, opened.t);
    await store.append(c, { id: `move-${b64(randomBytes(12))}`, dir: 'in', text: claimed, t: ctx.now(), state: 'received', notice: 'move-refused' });
    return 'dropped' as const;
  };
  if (body.home !== s.operator && !checkOperator(body.home, s.settings.allowLoopback)) return refuse();
  let rec;
  try {
    rec = await lookupAt(ctx, store, body.home, lower(body.name));
  } catch (e) {
    // kept by the caller as a first contact's envelope is (END-TO-END.md §3), decided again at a later poll
    if (transient(e)) return 'later';
    // no record there, one that does not verify, or a failed log proof: nobody vouches
    if (!(e instanceof OperatorError) && !(e instanceof LogAlarmError)) throw e;
    return refuse();
  }
  if (rec.record.identityKey !== signer || lower(rec.record.name) !== lower(body.name)) return refuse();
  const other = to === c.name ? undefined : await store.contact(to);
  // the new handle is already another contact's: we do not merge two conversations
  if (other) return refuse();
  await store.addSeen(opened.id, opened.t);
  const from = formatAddress({ name: c.name.split('@')[0]!, operator: c.operator ?? s.operator }, s.operator);
  const moved: Contact = { ...c, name: to, ...foreign(body.home, s), sendTo: body.replyTo, intro: rec.record.intro };
  if (!moved.operator || body.home === s.operator) delete moved.operator;
  adoptPrekey(moved, body.prekey, opened.t);
  await renameContact(store, c, moved);
  await store.append(moved, { id: `move-${b64(randomBytes(12))}`, dir: 'in', text: from, t: ctx.now(), state: 'received', notice: 'moved' });
  return 'dropped';
}

/** The contact whose stored key signed the body and whose bare name is `from`. */
async function moverOf(store: Store, key: string, from: string): Promise<Contact | undefined> {
  for (const name of Object.keys((await store.index()).contacts)) {
    if (lower(name.split('@')[0]!) !== lower(from)) continue;
    const c = await store.contact(name);
    if (c && c.identityKey === key && !c.pendingKey) return c;
  }
  return undefined;
}

/**
 * Move every record keyed by the old handle to the new one (the contact, its chunks, its line in
 * the index, our fresh prekeys for it, our mailbox's owner, its outbox entries, which now go to
 * the new mailbox at the new home: the envelopes are sealed to the key, not to the mailbox).
 * The new records are written before the old ones are removed, so a crash leaves a copy, never
 * a loss.
 */
export async function renameContact(store: Store, old: Contact, moved: Contact): Promise<void> {
  const from = old.name, to = moved.name;
  await store.putContact(moved);
  if (from === to) return;
  for (let n = old.chunks.first; n < old.chunks.next; n++) await store.putChunk(to, n, await store.chunk(from, n));
  const prekeys = await store.r.get(K.prekeys(from), ContactPrekeys);
  if (prekeys) await store.r.put(K.prekeys(to), prekeys);
  const i = await store.index();
  i.contacts[to] = i.contacts[from] ?? { unread: 0 };
  delete i.contacts[from];
  await store.putIndex(i);
  const a = await store.account();
  const box = a.mailboxes[old.inbox];
  if (box) { box.contact = to; await store.putAccount(a); }
  const at = moved.operator ? { at: moved.operator } : {};
  await store.putOutbox((await store.outbox()).map((o) => {
    if (o.contact !== from) return o;
    const { at: _, ...rest } = o;
    return { ...rest, contact: to, to: moved.sendTo, ...at };
  }));
  for (let n = old.chunks.first; n < old.chunks.next; n++) await store.putChunk(from, n, { messages: [] });
  if (prekeys) await store.r.remove(K.prekeys(from));
  await store.r.remove(K.contact(from));
}
