/**
 * Receiving: drain our mailboxes, open and file what came (before acknowledging it), decide
 * again what waited for the directory, forget old message ids, erase expired messages.
 *
 * Mailboxes: a komrade's intro mailbox (public, in the directory) only ever sees first
 * contacts. Each first message carries `replyTo`, a mailbox the sender made for that one
 * contact; from then on each direction of each conversation uses its own mailbox.
 */
import { checkOperator, handleOf } from '../../../protocol/address.ts';
import { b64, unb64 } from '../../../protocol/bytes.ts';
import { OperatorError } from '../../../protocol/client.ts';
import { open, EnvelopeError, prekeyIdOf } from '../../../protocol/envelope.ts';
import { CollectiveKey, MovedMessage, Receipt, TextMessage } from '../../../protocol/message.ts';
import { privateKey } from '../../../protocol/themis.ts';
import type { SignedRecord } from '../../../protocol/wire.ts';
import { REQUESTS_MAX, type Message } from '../state.ts';
import { DAY, keyPairOf, lower, transient } from './common.ts';
import type { Ctx } from './ctx.ts';
import { adoptPrekey, explainErased, findPrekey, noteUsed } from './fresh-prekeys.ts';
import type { Store } from './store.ts';
import { applyReceipt, noteFiled, queueReceipts } from './receipts.ts';
import { timerNotice } from './threads.ts';
import { foreign, lookupAt, checkGossipAt } from './operators.ts';
import { LogAlarmError } from './transparency.ts';
import { receiveMoved } from './moved.ts';
import { noteWritten, oldBox, oldBoxIds } from './move-home.ts';

/** How long an envelope waits for the directory to vouch for its sender (the mail TTL) before it is dropped. */
export const PENDING_TTL_MS = 14 * DAY;
/** At most this many envelopes wait for the directory; further ones are dropped (a flood cannot fill the vault). */
export const PENDING_MAX = 200;

/** What became of a received envelope: filed, dropped, or kept until the directory can be asked. */
type Verdict = 'new' | 'dropped' | 'later';

/** Our mailboxes: the intro, one per contact, and the loop mailbox once made (core/cover.ts). */
export async function mailboxIds(ctx: Ctx): Promise<string[]> {
  const s = await (await ctx.store()).account();
  return [s.me.intro.id, ...Object.keys(s.mailboxes), ...(s.loop ? [s.loop.id] : []), ...oldBoxIds(s)];
}

/** What one fetch of a mailbox answered (protocol/client.ts `fetchBlobs`). */
export type Fetched = Awaited<ReturnType<ReturnType<Ctx['client']>['fetchBlobs']>>;

/** Drain one mailbox of ours (it may have gone meanwhile); returns how many new messages. `first`: an answer already had (a held fetch's, live.ts), taken in place of the first fetch. */
export async function fetchMailbox(ctx: Ctx, id: string, first?: Fetched): Promise<number> {
  const store = await ctx.store();
  const s = await store.account();
  // a mailbox at our former home is drained while we move (PROTOCOL.md §11.5 step 6)
  const old = oldBox(s, id), box = old?.box ?? (id === s.me.intro.id ? s.me.intro : id === s.loop?.id ? s.loop : s.mailboxes[id]);
  if (!box) return 0;
  const client = ctx.client(old?.operator ?? s.operator);
  const key = privateKey(unb64(box.priv));
  let received = 0;
  for (let round = 0; round < 20; round++) {
    let got;
    try {
      got = round === 0 && first ? first : await client.fetchBlobs(id, key);
    } catch (e) {
      // the mailbox expired (we were away longer than the TTL): make it again
      if (e instanceof OperatorError && e.status === 404) { if (!old) await client.createMailbox(id, keyPairOf(box)).catch(() => undefined); break; } // a former home's is never made again
      if (old && transient(e)) break; // our former home down while we move: read at a later poll, the new home's mailboxes go on
      throw e;
    }
    if (!got.blobs.length) break;
    // each is stored before it is acknowledged: nothing is lost if the ack fails
    let filed = 0;
    for (const { blob } of got.blobs) filed += (await receive(ctx, store, blob)) === 'new' ? 1 : 0;
    received += filed;
    if (s.move && filed) await noteWritten(store, id); // a message filed (opened, its sender checked) in a new mailbox: that contact took the move
    await client.ack(id, key, got.blobs.map((b) => b.id));
    if (!got.more) break;
  }
  await queueReceipts(ctx, store);
  return received;
}

/**
 * Open one blob and file it. Where the sender's key is not the one we know for the claimed
 * name (a first contact, or a changed key), the directory's current record decides (PROTOCOL.md
 * §8.1): it must carry that very key. If the directory cannot be asked now (network, 429, 5xx),
 * the blob is kept in `pending` and decided at a later poll (`retry` is that later time).
 */
async function receive(ctx: Ctx, store: Store, blob: Uint8Array, retry?: { id: string }): Promise<Verdict> {
  const s = await store.account();
  const seen = await store.seenCheck(), pending = await store.pending();
  // our weekly prekey (first contacts), or a fresh one made for a contact (END-TO-END.md §6)
  const pid = prekeyIdOf(blob);
  const mine = pid === undefined || s.prekeys.some((k) => k.id === pid) ? undefined : await findPrekey(store, pid);
  let opened;
  try {
    opened = open(blob, {
      prekey: (id) => { const p = s.prekeys.find((k) => k.id === id); return p ? privateKey(unb64(p.priv)) : mine?.key; },
      myIdentityKey: unb64(s.me.identity.pub),
      // a blob waiting for the directory counts as seen (a replay of it is dropped), except when it is the one retried
      seen: (id) => id !== retry?.id && (seen(id) || pending.some((p) => p.id === id)),
      now: ctx.now(),
    });
  } catch (e) {
    // sealed to a prekey we erased: said in the contact's thread; else undecryptable, forged, replayed or stale
    if (e instanceof EnvelopeError) { if (e.fault === 'unknown-prekey' && pid) await explainErased(store, pid, blob, ctx.now()); return 'dropped'; }
    throw e;
  }
  // the contact, under its stored key, used a fresh prekey of ours: older ones are superseded
  const signer = b64(opened.from);
  const used = async (c: { name: string; identityKey: string }) => { if (mine?.contact === c.name && c.identityKey === signer) await noteUsed(store, c.name, mine.id, ctx.now()); };
  const moved = MovedMessage.safeParse(opened.body); // a contact moved home (PROTOCOL.md §11.5)
  const later = async () => { if (!retry && pending.length < PENDING_MAX) await store.putPending([...pending, { id: opened.id, blob: b64(blob), received: ctx.now() }]); return 'later' as const; };
  // on the schedule its look-up at the new home is made at its own random time, not right after this fetch (as a first contact's)
  if (moved.success) { const v = ctx.deps.scheduled && !retry ? 'later' : await receiveMoved(ctx, store, opened, moved.data); return v === 'later' ? later() : v; }
  const parsed = TextMessage.safeParse(opened.body);
  if (!parsed.success) {
    await store.addSeen(opened.id, opened.t);
    // a collective's group key: kept for the collectives feature, which checks its signer against the log
    const key = CollectiveKey.safeParse(opened.body);
    if (key.success) await store.keepKey(b64(opened.from), opened.t, key.data);
    // a contact's delivery receipt: only under the key stored for them
    const receipt = Receipt.safeParse(opened.body);
    const c = receipt.success ? await store.contact(handleOf({ name: receipt.data.from, operator: receipt.data.home }, s.operator)) : undefined;
    if (c && receipt.success && c.identityKey === b64(opened.from)) {
      await used(c);
      await applyReceipt(store, c, receipt.data);
      if (receipt.data.prekey && adoptPrekey(c, receipt.data.prekey, opened.t)) await store.putContact(c);
    }
    return 'dropped';
  }
  const body = parsed.data;
  // the sender's home Operator (PROTOCOL.md §11): named in the message, or ours; one an address
  // could not name (a loopback one outside developer mode) is refused before anything is asked of it
  const home = body.home ?? s.operator;
  if (!checkOperator(home, s.settings.allowLoopback) && home !== s.operator) { await store.addSeen(opened.id, opened.t); return 'dropped'; }
  const handle = handleOf({ name: body.from, operator: home }, s.operator);
  // a blocked name: dropped once the envelope is known good, acknowledged, never stored
  if (await store.isBlocked(handle)) return 'dropped';
  const senderKey = b64(opened.from);
  let c = await store.contact(handle);
  // gossip (PROTOCOL.md §5.11.5): a checkpoint the sender saw (of its home's log) must chain with
  // ours of that Operator. It is the Operator's own signed statement, so it counts whoever carried
  // it; a fork is kept as an alarm. From another Operator's komrade who waits for a look-up on the
  // schedule, it is checked with that look-up, at its own time, not right after this fetch (§11)
  const deferred = ctx.deps.scheduled && !retry && home !== s.operator && (!c || (c.identityKey !== senderKey && c.pendingKey?.identityKey !== senderKey));
  if (body.checkpoint && !deferred) await checkGossipAt(ctx, store, home, body.checkpoint, `@${handle}`).catch(() => undefined);
  let rec: SignedRecord | undefined;
  // the stored key, or a changed key the directory already vouched for (still pending), need no lookup
  if (!c || (c.identityKey !== senderKey && c.pendingKey?.identityKey !== senderKey)) {
    // on the schedule, a look-up is not made right after the fetch that asked for it but at its own random time (schedule.ts)
    if (ctx.deps.scheduled && !retry) {
      if (pending.length < PENDING_MAX) await store.putPending([...pending, { id: opened.id, blob: b64(blob), received: ctx.now() }]);
      return 'later';
    }
    let found: SignedRecord | undefined;
    try {
      found = await lookupAt(ctx, store, home, body.from);
    } catch (e) {
      if (transient(e)) {
        if (!retry && pending.length < PENDING_MAX) await store.putPending([...pending, { id: opened.id, blob: b64(blob), received: ctx.now() }]);
        return 'later';
      }
      // 404, a record that does not verify, or a log proof that fails (kept as an alarm): nobody vouches
      if (!(e instanceof OperatorError) && !(e instanceof LogAlarmError)) throw e;
    }
    if (!found || found.record.identityKey !== senderKey || lower(found.record.name) !== lower(body.from)) {
      // a key the directory does not carry for that name: a forgery. Dropped; a known contact's
      // thread shows a quiet note (never the forged text), which neither blocks nor counts as unread.
      await store.addSeen(opened.id, opened.t);
      if (c) {
        const last = await store.lastMessage(c);
        if (last.m?.notice === 'forged') { last.m.count = (last.m.count ?? 1) + 1; last.m.t = ctx.now(); await store.putChunk(c.name, last.n, last.ch); }
        else await store.append(c, { id: opened.id, dir: 'in', text: '', t: ctx.now(), state: 'received', notice: 'forged', count: 1 });
      }
      return 'dropped';
    }
    rec = found;
  }
  await store.addSeen(opened.id, opened.t);
  if (!body.text) {
    // a control message (no text): the contact's copy moved (restore, "make this the only copy");
    // only where to reply and the prekey change, and only under the stored key
    if (c && c.identityKey === senderKey) { await used(c); adoptPrekey(c, body.prekey, opened.t); c.sendTo = body.replyTo; await store.putContact(c); }
    return 'dropped';
  }
  const msg: Message = { id: opened.id, dir: 'in', text: body.text, t: opened.t, state: 'received' };
  if (body.expire) msg.expires = opened.t + body.expire * 1000;
  if (!c) {
    // a first contact: a request, kept apart from contacts until the person accepts it
    const name = handle;
    if (!(await store.request(name)) && (await store.requestNames()).length >= REQUESTS_MAX) return 'dropped';
    await store.addToRequest({ name, ...foreign(home, s), identityKey: senderKey, prekey: body.prekey, sendTo: body.replyTo, intro: rec!.record.intro, disappear: body.expire ?? 0 }, msg);
    return 'new';
  }
  const before = JSON.stringify(c);
  if (c.identityKey === senderKey) {
    // The stored key. If a change is pending, this message is still authentic from the key we
    // had: it is filed (marked `oldKey`) and updates where that key wants replies (used if the
    // change is refused), but it never clears or replaces the pending change: only the person's
    // Accept or Refuse does.
    await used(c);
    adoptPrekey(c, body.prekey, opened.t);
    c.sendTo = body.replyTo;
    if (c.pendingKey) msg.oldKey = true;
  } else {
    // a changed key that the directory vouches for: keep it, warn loudly, block sending
    c.pendingKey = { identityKey: senderKey, prekey: body.prekey, sendTo: body.replyTo };
    msg.newKey = true;
  }
  // the sender's timer is the conversation's; a change is noted in the thread before the message
  if (c.disappear !== (body.expire ?? 0)) { c.disappear = body.expire ?? 0; await store.append(c, timerNotice('in', c.disappear, opened.t)); }
  if (JSON.stringify(c) !== before) await store.putContact(c);
  await store.append(c, msg, { unread: true });
  noteFiled(ctx, c, msg.id);
  return 'new';
}

/** Decide again the envelopes that waited for the directory; drop those older than the TTL. Returns how many were filed. */
export async function retryPending(ctx: Ctx): Promise<number> {
  const store = await ctx.store();
  const all = await store.pending();
  let left = all.filter((p) => ctx.now() - p.received < PENDING_TTL_MS);
  let filed = 0;
  for (const p of [...left]) {
    const v = await receive(ctx, store, unb64(p.blob), { id: p.id });
    if (v === 'later') break; // the directory is still out of reach: the rest waits too
    left = left.filter((x) => x !== p);
    if (v === 'new') filed++;
  }
  if (left.length !== all.length) await store.putPending(left);
  await queueReceipts(ctx, store);
  return filed;
}

/** Forget old message ids; erase messages past their expiry in every conversation where one is due. */
export async function tidy(ctx: Ctx): Promise<void> {
  const store = await ctx.store();
  const now = ctx.now();
  await store.pruneSeen(now);
  for (const [name, s] of Object.entries((await store.index()).contacts)) {
    if (s.nextExpiry === undefined || s.nextExpiry > now) continue;
    const c = await store.contact(name);
    if (c) await store.sweep(c, now);
  }
}
