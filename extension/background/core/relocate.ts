/**
 * "Make this the only copy", after a restore: the backup's copy and the old one hold the same
 * keys and mailboxes, so mail is split between them (whichever fetches first gets it). This copy
 * makes a new pairwise mailbox for every contact (and stops reading the old ones), a new prekey
 * (published; the old ones are retired, kept for the grace period for mail already on its way),
 * and queues a control message to each contact with its new mailbox, so their next message
 * comes here. It cannot take the intro mailbox from the old copy: first contacts can still be
 * read by either copy (those sealed to the new prekey only by this one).
 */
import { b64, randomBytes } from '../../../protocol/bytes.ts';
import { signRecord } from '../../../protocol/identity.ts';
import type { NameRecord } from '../../../protocol/wire.ts';
import { keyPairOf, pair, sealAndQueue } from './common.ts';
import type { Ctx } from './ctx.ts';

export async function makeOnlyCopy(ctx: Ctx): Promise<void> {
  const store = await ctx.store();
  const s = await store.account();
  const client = ctx.client(s.operator);
  const now = ctx.now();
  // the new prekey first: if the Operator cannot be reached, nothing changed and it can be tried again
  const next = { id: b64(randomBytes(8)), ...pair(), created: now };
  const record: NameRecord = { v: 1, name: s.me.name, identityKey: s.me.identity.pub, intro: s.me.intro.id, prekey: { id: next.id, key: next.pub }, ts: Math.max(now, s.me.recordTs + 1) };
  await client.replace(signRecord(keyPairOf(s.me.identity).privateKey, record));
  for (const p of s.prekeys) p.retired ??= now;
  s.prekeys.push(next);
  s.me.recordTs = record.ts;
  await store.putAccount(s);
  for (const name of Object.keys((await store.index()).contacts)) {
    const c = await store.contact(name);
    if (!c) continue;
    const id = b64(randomBytes(16)), keys = pair();
    await client.createMailbox(id, keyPairOf(keys));
    const a = await store.account();
    delete a.mailboxes[c.inbox];
    a.mailboxes[id] = { ...keys, contact: c.name };
    await store.putAccount(a);
    c.inbox = id;
    await store.putContact(c);
    await sealAndQueue(store, c, '', now);
  }
}
