/**
 * Delivery receipts (END-TO-END.md, "Delivery receipts"): when a contact's message is filed, a
 * small sealed control message names it (its envelope id) back to them; when theirs comes, the
 * messages it names show as delivered. The setting "Send delivery receipts" (on unless turned
 * off) does both: off, none is sent and none is shown.
 */
import type { Receipt } from '../../../protocol/message.ts';
import type { Contact } from '../state.ts';
import { sealBodyAndQueue } from './common.ts';
import type { Ctx } from './ctx.ts';
import { prekeyToOffer } from './fresh-prekeys.ts';
import type { Store } from './store.ts';

/** Whether this account sends and shows delivery receipts. */
export const receiptsOn = async (store: Store): Promise<boolean> => (await store.account()).settings.receipts ?? true;

/** Note a filed message of a contact's, for the receipt `queueReceipts` sends. */
export function noteFiled(ctx: Ctx, c: Contact, id: string): void { ctx.delivered.push({ contact: c.name, id }); }

/**
 * Queue one receipt per contact for the messages filed since the last call (none when receipts
 * are off, and none to a contact whose key change is pending: nothing is sealed to them then).
 */
export async function queueReceipts(ctx: Ctx, store: Store): Promise<number> {
  const filed = ctx.delivered;
  ctx.delivered = [];
  if (!filed.length || !(await receiptsOn(store))) return 0;
  const { me: { name: me }, operator: home } = await store.account();
  const by = new Map<string, string[]>();
  for (const f of filed) by.set(f.contact, [...(by.get(f.contact) ?? []), f.id]);
  let queued = 0;
  for (const [name, ids] of by) {
    const c = await store.contact(name);
    if (!c || c.pendingKey) continue;
    for (let i = 0; i < ids.length; i += 100) {
      // a fresh prekey rides along: a contact who only reads still moves the keys on (END-TO-END.md §6)
      const body: Receipt = { kind: 'receipt', from: me, delivered: ids.slice(i, i + 100), prekey: await prekeyToOffer(store, c.name, ctx.now()), ...(c.operator && { home }) };
      await sealBodyAndQueue(store, c, body, ctx.now());
      queued++;
    }
  }
  return queued;
}

/**
 * A contact's receipt, under the key stored for them: the messages it names, sent by us, are
 * delivered. Only the conversation's two newest chunks are searched (what a receipt names was
 * sent recently): its cost does not grow with the history.
 */
export async function applyReceipt(store: Store, c: Contact, r: Receipt): Promise<void> {
  if (!(await receiptsOn(store))) return;
  for (const id of r.delivered) {
    await store.updateMessage(c, id, (m) => { if (m.dir === 'out' && !m.notice) m.state = 'delivered'; }, { chunks: 2 });
  }
}
