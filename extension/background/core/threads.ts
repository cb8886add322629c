/** Conversations: the inbox list, one thread (its newest chunk, older ones on request), disappearing messages. */
import { foldName } from '../../../protocol/names.ts';
import { UserError, type ConversationView, type ThreadView } from '../../api.ts';
import { b64, randomBytes } from '../../../protocol/bytes.ts';
import { DISAPPEAR_SECONDS, type Message } from '../state.ts';
import { contactView, findContact } from './common.ts';
import type { Ctx } from './ctx.ts';

/** The inbox: the index and each contact's record (last message, a pending key change), no message history. */
export async function inbox(ctx: Ctx): Promise<ConversationView[]> {
  const store = await ctx.store();
  const out: ConversationView[] = [];
  for (const [name, s] of Object.entries((await store.index()).contacts)) {
    const c = await store.contact(name);
    out.push({ name: foldName(name), unread: s.unread, keyChanged: !!c?.pendingKey, last: c?.last && { ...c.last } });
  }
  return out.sort((a, b) => (b.last?.t ?? 0) - (a.last?.t ?? 0));
}

/**
 * A thread: its newest messages (the newest chunk, or two if that one is short); `before` (the
 * `older` of a previous answer) pages back. Opening it erases messages past their expiry and
 * marks it read.
 */
export async function thread(ctx: Ctx, a: { name: string; before?: number }): Promise<ThreadView> {
  const store = await ctx.store();
  const c = await findContact(store, a.name);
  await store.sweep(c, ctx.now());
  const page = await store.page(c, a.before);
  let unread = await store.unreadOf(c.name);
  if (unread && a.before === undefined) {
    await store.summary(c.name, (s) => { s.unread = 0; });
    unread = 0;
    await ctx.changed(store, 0);
  }
  // a queued message being deposited right now shows as sending
  const messages = page.messages.map((m) => (m.state === 'queued' && ctx.sending.has(m.id) ? { ...m, state: 'sending' as const } : m));
  const view: ThreadView = { contact: contactView(c, unread, await store.outbox()), messages, disappearing: c.disappear };
  if (page.older !== undefined) view.older = page.older;
  return view;
}

/**
 * Disappearing messages for a conversation: off (0), 5 minutes, 1 or 8 hours, 1 day, 1 week or
 * 4 weeks; a change is noted in the thread, and the next message tells the other side (whose
 * add-on notes it in theirs, receive.ts).
 */
export async function setDisappearing(ctx: Ctx, a: { name: string; seconds: number }): Promise<ThreadView> {
  if (!(DISAPPEAR_SECONDS as readonly number[]).includes(a.seconds)) throw new UserError('Messages can disappear after 5 minutes, 1 hour, 8 hours, 1 day, 1 week or 4 weeks, or never.');
  const store = await ctx.store();
  const c = await findContact(store, a.name);
  if (c.disappear !== a.seconds) {
    c.disappear = a.seconds;
    await store.append(c, timerNotice('out', a.seconds, ctx.now()));
  }
  return thread(ctx, { name: a.name });
}

/** A note in the thread that the disappearing-messages timer changed (not a message: no text, never unread). */
export const timerNotice = (dir: 'in' | 'out', seconds: number, t: number): Message =>
  ({ id: `timer-${b64(randomBytes(12))}`, dir, text: '', t, state: dir === 'in' ? 'received' : 'sent', notice: 'timer', seconds });
