/** Sending: a message is sealed and queued (its chunk and the outbox written), then deposited; it stays queued while the Operator is unreachable. */
import { unb64 } from '../../../protocol/bytes.ts';
import { OperatorError } from '../../../protocol/client.ts';
import { MAX_TEXT } from '../../../protocol/message.ts';
import { foldName } from '../../../protocol/names.ts';
import { UserError } from '../../api.ts';
import type { Message } from '../state.ts';
import { explain, findContact, sealAndQueue } from './common.ts';
import type { Ctx } from './ctx.ts';

/** Seal a message for a contact and queue it. */
export async function queue(ctx: Ctx, a: { name: string; text: string }): Promise<void> {
  const store = await ctx.store();
  const c = await findContact(store, a.name);
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

/** Deposit queued envelopes; a message stays queued while the Operator is unreachable. */
export async function flush(ctx: Ctx): Promise<void> {
  const store = await ctx.store();
  const outbox = await store.outbox();
  if (!outbox.length) return;
  const client = ctx.client((await store.account()).operator);
  const keep: typeof outbox = [];
  for (const item of outbox) {
    const c = await store.contact(item.contact);
    const mark = (state: Message['state']) => c && store.updateMessage(c, item.id, (m) => { m.state = state; });
    try {
      await client.deposit(item.to, unb64(item.blob), { intro: item.to === c?.intro });
      await mark('sent');
    } catch (e) {
      item.tries++;
      item.lastError = explain(e);
      if (e instanceof OperatorError && e.status === 404 && c?.intro && item.to !== c.intro) {
        item.to = c.intro; c.sendTo = c.intro; // their pairwise mailbox expired: fall back to the intro
        await store.putContact(c);
        keep.push(item);
      } else if (e instanceof OperatorError && (e.status === 0 || e.status === 429 || e.status >= 500)) {
        keep.push(item);
      } else {
        await mark('failed');
      }
    }
  }
  await store.putOutbox(keep);
}
