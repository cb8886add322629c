/** Sending: a message is sealed and queued (its chunk and the outbox written), then deposited; it stays queued while the Operator is unreachable. */
import { operatorHost } from '../../../protocol/address.ts';
import { unb64 } from '../../../protocol/bytes.ts';
import { OperatorError } from '../../../protocol/client.ts';
import { MAX_TEXT } from '../../../protocol/message.ts';
import { foldName } from '../../../protocol/names.ts';
import { UserError } from '../../api.ts';
import type { Message, Outgoing } from '../state.ts';
import { explain, findContact, sealAndQueue } from './common.ts';
import type { Ctx } from './ctx.ts';

/** Seal a message for a contact and queue it. */
export async function queue(ctx: Ctx, a: { name: string; text: string }): Promise<void> {
  const store = await ctx.store();
  const c = await findContact(store, a.name);
  // while our home changes and before this contact is told (PROTOCOL.md §11.5 steps 2–4), a message would name a home it cannot yet check
  const m = (await store.account()).move;
  if (m && ['switch', 'mailboxes', 'tell'].includes(m.step) && !m.told.includes(c.name)) throw new UserError('Your move to another Operator is telling your contacts: send again in a moment (nothing was sent).');
  if (c.pendingKey) throw new UserError(`@${foldName(c.name)}'s key changed. Compare safety words and accept or refuse the new key before sending.`);
  const text = a.text.trim();
  if (!text) throw new UserError('Nothing to send.');
  if (text.length > MAX_TEXT) throw new UserError(`A message is at most ${MAX_TEXT} characters.`);
  const msg: Message = { id: '', dir: 'out', text, t: ctx.now(), state: 'queued' };
  if (c.disappear) msg.expires = msg.t + c.disappear * 1000;
  // the envelope's id is the message's (flush marks it sent or failed by id)
  msg.id = (await sealAndQueue(store, c, text, msg.t)).id;
  await store.append(c, msg);
}

/**
 * Deposit queued envelopes, one at a time, each to the Operator that holds its mailbox (ours or
 * the contact's, PROTOCOL.md §11); a message stays queued while that Operator is unreachable,
 * and once one is unreachable the rest of this flush skips it (mail for other Operators goes on).
 * The state lock is taken only to read the outbox and to note each outcome, never across a
 * deposit: a connection that hangs holds up neither the popup nor the next message. The caller
 * runs one flush at a time (komrade.ts), so nothing is deposited twice. `max`: at most that many
 * (a deposit slot takes one, schedule.ts).
 */
export async function flush(ctx: Ctx, o: { max?: number } = {}): Promise<void> {
  const { items, operator } = await ctx.serial(async () => {
    const store = await ctx.store();
    const items = [];
    for (const item of await store.outbox()) items.push({ item, intro: item.to === (await store.contact(item.contact))?.intro });
    return { items, operator: (await store.account()).operator };
  });
  if (!items.length) return;
  const down = new Set<string>();
  let tried = 0;
  for (const { item, intro } of items) {
    const at = item.at ?? operator;
    if (down.has(at)) continue;
    if (tried++ >= (o.max ?? items.length)) break;
    let error: unknown, ok = false;
    ctx.sending.add(item.id);
    try { await ctx.client(at).deposit(item.to, unb64(item.blob), { intro }); ok = true; } catch (e) { error = e; } finally { ctx.sending.delete(item.id); }
    if (error instanceof OperatorError && error.status === 0) down.add(at);
    await ctx.serial(() => settle(ctx, item.id, ok, error));
  }
}

/** Note one deposit's outcome: sent (out of the outbox), kept for later, or failed. */
async function settle(ctx: Ctx, id: string, ok: boolean, e: unknown): Promise<void> {
  const store = await ctx.store();
  const outbox = await store.outbox();
  const item = outbox.find((x) => x.id === id);
  if (!item) return;
  const c = await store.contact(item.contact);
  // a receipt may have come before the deposit's answer: "delivered" is never undone
  const mark = (state: Message['state']) => c && !item.control && store.updateMessage(c, item.id, (m) => { if (m.state === 'queued') m.state = state; });
  let keep = false;
  if (ok) await mark('sent');
  else {
    item.tries++;
    // mail for another Operator's komrade: say whose Operator is out of reach (ours may be fine)
    item.lastError = item.at && e instanceof OperatorError && e.status === 0 ? `their Operator (${operatorHost(item.at)}) cannot be reached right now; it goes out when it answers.` : explain(e);
    if (e instanceof OperatorError && e.status === 404 && c?.intro && item.to !== c.intro) {
      item.to = c.intro; c.sendTo = c.intro; // their pairwise mailbox expired: fall back to the intro
      await store.putContact(c);
      keep = true;
    } else if (e instanceof OperatorError && (e.status === 0 || e.status === 429 || e.status >= 500)) {
      keep = true;
    } else {
      await mark('failed');
    }
  }
  // kept because its Operator is out of reach: that Operator's mail goes behind the rest, in its
  // own order, so that a deposit slot (one envelope) is not spent on it again before the others
  const unreachable = keep && e instanceof OperatorError && e.status === 0;
  const sameOperator = (x: Outgoing) => x.at === item.at;
  await store.putOutbox(!keep ? outbox.filter((x) => x !== item) : unreachable ? [...outbox.filter((x) => !sameOperator(x)), ...outbox.filter(sameOperator)] : outbox);
}
