/**
 * Moving home (PROTOCOL.md §11.5): the resumable sequence that moves this komrade from its
 * Operator to another one with the same identity key. The step is kept in the account (`move`)
 * and written before each step's work; every step is safe to repeat, so a crash, a closed
 * browser or a down Operator resumes the move where it stopped, and no mail is lost: the old
 * mailboxes are read until every contact has written to its new one (or the mail TTL passed),
 * and deleted last, with the old record.
 */
import { handleOf } from '../../../protocol/address.ts';
import { b64, randomBytes } from '../../../protocol/bytes.ts';
import { OperatorError } from '../../../protocol/client.ts';
import { signRecord, solvePow } from '../../../protocol/identity.ts';
import { foldName } from '../../../protocol/names.ts';
import { Name, type NameRecord } from '../../../protocol/wire.ts';
import { UserError, type MoveView } from '../../api.ts';
import { checkOperatorAddress } from '../address.ts';
import type { Account, Move } from '../state.ts';
import { pinCollectives, tellCollectivesMoved, unpinCollectives } from './collective-move.ts';
import { DAY, keyPairOf, nameRefused, pair, sealBodyAndQueue, transient } from './common.ts';
import type { Ctx } from './ctx.ts';
import { prekeyToOffer } from './fresh-prekeys.ts';
import { renameContact } from './moved.ts';
import { lookupAt, operatorOf } from './operators.ts';
import { dropHomeCopy, switchLogs } from './move-logs.ts';
import type { Store } from './store.ts';

/** The old mailboxes are read at most this long after the move began (the mail TTL). */
export const DRAIN_MS = 14 * DAY;

/** What the popup shows of a move: none, or its target and current step. */
export function moveView(a: Account): MoveView {
  return a.move ? { to: a.move.to, name: a.move.name, step: a.move.step, waiting: a.move.waiting.length } : null;
}

/** Start a move to `operator` (or resume the one under way), then take it as far as it can go now. */
export async function moveHome(ctx: Ctx, a: { operator: string; name?: string }): Promise<MoveView> {
  const store = await ctx.store();
  const s = await store.account();
  if (!s.move) {
    const to = checkOperatorAddress(a.operator, s.settings.allowLoopback);
    if (to === s.operator) throw new UserError('That is already your Operator.');
    const name = foldName(a.name || s.me.name);
    if (!Name.safeParse(name).success) throw new UserError('A name is 3 to 32 letters a–z, digits or _.');
    const now = ctx.now();
    s.move = { to, name, step: 'register', started: now, intro: { id: b64(randomBytes(16)), ...pair() }, prekey: { id: b64(randomBytes(8)), ...pair(), created: now }, recordTs: now, told: [], waiting: [] };
    await store.putAccount(s);
  }
  await advanceMove(ctx);
  return moveView(await store.account());
}

/** Take the move under way as far as it can go now (called by `moveHome` and by every poll); a down Operator leaves it at its step. */
export async function advanceMove(ctx: Ctx): Promise<void> {
  const store = await ctx.store();
  for (;;) {
    const s = await store.account(), m = s.move;
    if (!m) return;
    const next = await STEPS[m.step](ctx, store, s, m);
    if (!next) return;
    const a = await store.account();
    if (next === 'done') { delete a.move; await dropHomeCopy(store, a.operator); }
    else a.move!.step = next;
    await store.putAccount(a);
  }
}

type Step = (ctx: Ctx, store: Store, s: Account, m: Move) => Promise<Move['step'] | 'done' | undefined>;

const STEPS: Record<Move['step'], Step> = {
  /** Step 2: register the name at the new home with the same identity key; check our own leaf there. */
  async register(ctx, store, s, m) {
    const client = ctx.client(m.to);
    const record: NameRecord = { v: 1, name: m.name, identityKey: s.me.identity.pub, intro: m.intro.id, prekey: { id: m.prekey.id, key: m.prekey.pub }, ts: m.recordTs };
    const free = await client.available(m.name);
    if (!free.available) {
      // registered by an earlier attempt of this move (a repeat), or taken: then nothing changed, the move stops
      const mine = await lookupAt(ctx, store, m.to, m.name).catch((e: unknown) => { if (transient(e)) throw e; return undefined; }); // out of reach: try again, the move kept
      if (mine?.record.identityKey !== s.me.identity.pub) { delete s.move; await store.putAccount(s); throw nameRefused(m.name, free.reason); }
      return 'switch';
    }
    await client.createMailbox(m.intro.id, keyPairOf(m.intro)).catch((e) => { if (!(e instanceof OperatorError && e.status === 409)) throw e; });
    const pow = await solvePow(m.name, s.me.identity.pub, (await client.info()).powBits);
    await client.register(signRecord(keyPairOf(s.me.identity).privateKey, record), pow, keyPairOf(m.intro).privateKey);
    // our own leaf, with A's log proof (§5.11.1), as after any registration
    const mine = await lookupAt(ctx, store, m.to, m.name);
    if (mine.record.identityKey !== s.me.identity.pub) throw new Error('the new Operator shows another key for our name');
    return 'switch';
  },
  /** The account's home becomes the new Operator: contacts re-keyed for it, log state swapped, the old mailboxes kept aside for draining. */
  async switch(ctx, store, s, m) {
    await pinCollectives(store, s); // each collective keeps its Operator and our handle there explicitly while the home changes
    // each contact keeps its Operator explicitly while the home changes (stripped in the next step)
    for (const name of Object.keys((await store.index()).contacts)) {
      const c = await store.contact(name);
      if (!c) continue;
      const op = operatorOf(c, s);
      await renameContact(store, c, { ...c, name: handleOf({ name: c.name.split('@')[0]!, operator: op }, m.to), operator: op });
    }
    await switchLogs(store, s.operator, m.to);
    const a = await store.account();
    a.move!.from = { operator: a.operator, name: a.me.name, intro: a.me.intro, mailboxes: a.mailboxes, ...(a.loop && { loop: a.loop }) };
    a.operator = m.to;
    a.me = { ...a.me, name: m.name, intro: m.intro, recordTs: m.recordTs };
    for (const p of a.prekeys) p.retired ??= ctx.now();
    a.prekeys.push(m.prekey);
    a.mailboxes = {};
    delete a.loop;
    a.logs = [...(a.logs ?? []).filter((o) => o !== m.to), a.move!.from.operator];
    await store.putAccount(a);
    return 'mailboxes';
  },
  /** Step 3: one new pairwise mailbox per contact, at the new home. */
  async mailboxes(ctx, store, s) {
    const client = ctx.client(s.operator);
    for (const name of Object.keys((await store.index()).contacts)) {
      const c = await store.contact(name);
      if (!c) continue;
      if (c.operator === s.operator) delete c.operator;
      if (!(await store.account()).mailboxes[c.inbox]) {
        const id = b64(randomBytes(16)), keys = pair();
        await client.createMailbox(id, keyPairOf(keys));
        const a = await store.account();
        a.mailboxes[id] = { ...keys, contact: c.name };
        a.move!.waiting = [...a.move!.waiting.filter((w) => w !== c.name), c.name];
        await store.putAccount(a);
        c.inbox = id;
      }
      await store.putContact(c);
    }
    return 'tell';
  },
  /** Step 4: a sealed, signed `moved` to every contact through the outbox; then our collectives. */
  async tell(ctx, store, s, m) {
    const now = ctx.now();
    for (const name of Object.keys((await store.index()).contacts)) {
      const c = await store.contact(name);
      if (!c || m.told.includes(c.name)) continue;
      await sealBodyAndQueue(store, c, { kind: 'moved', from: m.from!.name, name: m.name, home: s.operator, replyTo: c.inbox, prekey: await prekeyToOffer(store, c.name, now) }, now);
      const a = await store.account();
      a.move!.told.push(c.name);
      await store.putAccount(a);
    }
    await tellCollectivesMoved(ctx, store, { from: { name: m.from!.name, operator: m.from!.operator }, to: { name: m.name, operator: m.to } });
    await unpinCollectives(store, await store.account()); // told: those of our new home are ours, by their bare names
    return 'drain';
  },
  /** Step 6: the old mailboxes are read by every poll (receive.ts) until each contact wrote to its new one, or the TTL. */
  async drain(ctx, _store, _s, m) {
    return m.waiting.length === 0 || ctx.now() - m.started > DRAIN_MS ? 'delete' : undefined;
  },
  /** Step 7: delete the old mailboxes, then the old record (with its intro) at the old home. */
  async delete(ctx, _store, s, m) {
    const from = m.from!, client = ctx.client(from.operator);
    const gone = (e: unknown) => { if (!(e instanceof OperatorError && e.status === 404)) throw e; };
    // mail that came after this poll's read of an old mailbox is read first (the next poll), never deleted with it
    for (const [id, box] of Object.entries(from.mailboxes)) if ((await client.fetchBlobs(id, keyPairOf(box).privateKey).catch((e: unknown) => { gone(e); return { blobs: [] }; })).blobs.length) return undefined;
    for (const [id, box] of Object.entries(from.mailboxes)) await client.deleteMailbox(id, keyPairOf(box).privateKey).catch(gone);
    if (from.loop) await client.deleteMailbox(from.loop.id, keyPairOf(from.loop).privateKey).catch(gone);
    await client.deleteName(from.name, keyPairOf(s.me.identity).privateKey, { id: from.intro.id, key: keyPairOf(from.intro).privateKey }).catch(gone);
    return 'done';
  },
};

/** A contact's envelope reached its new mailbox at our new home: it took the move (step 6). */
export async function noteWritten(store: Store, mailbox: string): Promise<void> {
  const a = await store.account();
  const who = a.move && a.mailboxes[mailbox]?.contact;
  if (!who || !a.move!.waiting.includes(who)) return;
  a.move!.waiting = a.move!.waiting.filter((w) => w !== who);
  await store.putAccount(a);
}

/** A mailbox of our former home still being drained, with the Operator that holds it. */
export function oldBox(a: Account, id: string): { box: { priv: string; pub: string }; operator: string } | undefined {
  const f = a.move?.from;
  const box = f && (f.mailboxes[id] ?? (f.intro.id === id ? f.intro : f.loop?.id === id ? f.loop : undefined));
  return box && { box, operator: f!.operator };
}

/** Every mailbox id of the former home still being drained. */
export const oldBoxIds = (a: Account): string[] => {
  const f = a.move?.from;
  return f ? [f.intro.id, ...Object.keys(f.mailboxes), ...(f.loop ? [f.loop.id] : [])] : [];
};
