/**
 * Posts and the feed in the add-on (POSTS.md §3–§5, §9): posting to a collective (sealed with
 * the epoch key, signed inside by our identity key, deposited once with the epoch's posting
 * key; the delete secret kept with our copy), deleting our own (the Operator's copy by its
 * secret, everyone else's by a signed tombstone), the feed newest first with unread marks, and
 * at each poll reading every epoch we hold through an anonymous cursor: each post is opened
 * and its author's key checked against the membership log we replayed — a post signed by one
 * member in another's name, or by anyone not a member, is refused and counted.
 */
import { b64, unb64 } from '../../../protocol/bytes.ts';
import { OperatorError } from '../../../protocol/client.ts';
import { MAX_TEXT } from '../../../protocol/message.ts';
import { foldName } from '../../../protocol/names.ts';
import { cursorBinding } from '../../../protocol/posts-wire.ts';
import { PostError, deleteHashOf, openPostFrom, sealPost, type EpochBundle } from '../../../protocol/posts.ts';
import { KeyPair, privateKey } from '../../../protocol/themis.ts';
import { UserError, type FeedView, type PostView } from '../../api.ts';
import { collectiveHandle, type CollectiveRecord } from '../collective-state.ts';
import { FK, type FeedCollective, type FeedIndex, type FeedPost } from '../feed-state.ts';
import type { Account } from '../state.ts';
import { collectiveOperator, meIn, movedTrusted, shown } from './collective-operator.ts';
import { keyPairOf } from './common.ts';
import { commitmentIn, proveMember, secretOf, standing, treeAt, type Replayed } from './collective-log.ts';
import type { Ctx } from './ctx.ts';
import { appendPost, dropCollectivePosts, dropPost, feedIndex, feedOf, findPost, isUnread, markRead, pagePosts, putFeedOf } from './feed-store.ts';
import type { Store } from './store.ts';

/** Cursor reads per epoch per poll at most (50 posts each). */
const ROUNDS = 20;
/** Tombstones remembered for posts not (yet) seen. */
const TOMBS = 200;
/** How far back (segments of 50) a poll looks for a post it already holds or a tombstone's target. */
const LOOKBACK = 40;

const lc = (s: string) => s.toLowerCase();
/** A collective's handle as the popup passes it (`@portland`, `portland@<host>`): lower-cased, no `@` in front. */
const handleOfText = (text: string) => lc(text.trim().replace(/^@/, ''));
/** Where a collective we hold is (COLLECTIVES.md §15): its name at its Operator, our record's handle, the Operator, our handle there. */
interface At { c: string; h: string; op: string; me: string }
const atOf = (rec: CollectiveRecord, s: Account): At => { const op = collectiveOperator(rec, s); return { c: lc(rec.name), h: collectiveHandle(rec), op, me: meIn(s, op, rec) }; };
const view = (i: FeedIndex, contacts: Set<string>) => (p: FeedPost): PostView =>
  ({ id: p.id, collective: p.collective, author: p.author, text: p.text, t: p.t, mine: !!p.mine, unread: isUnread(i, p), contact: contacts.has(p.author) });
async function contactNames(store: Store): Promise<Set<string>> {
  return new Set([...(await store.r.keys())].filter((k) => k.startsWith('contact/')).map((k) => k.slice(8)));
}

/** The feed newest first (all collectives, one, or one author's), a page at a time; `rotating` is filled in by the caller (epochs.ts). */
export async function feed(ctx: Ctx, a: { collective?: string; author?: string; before?: number }): Promise<FeedView> {
  const store = await ctx.store();
  const c = a.collective ? handleOfText(a.collective) : undefined;
  const author = a.author ? foldName(a.author.trim().replace(/^@/, '')) : undefined;
  const before = Number.isSafeInteger(a.before) && a.before! >= 0 ? a.before : undefined;
  const page = await pagePosts(store, { before, keep: (p) => (!c || lc(p.collective) === c) && (!author || p.author === author) });
  const recs = await store.collectives();
  const v: FeedView = {
    posts: page.posts.map(view(page.index, await contactNames(store))), unread: Object.values(page.index.unread).reduce((x, y) => x + y, 0),
    rotating: [], open: recs.filter((x) => x.info?.rule === 'open').map(collectiveHandle),
  };
  if (page.older !== undefined) v.older = page.older;
  return v;
}

/** Mark the feed (or one collective's posts) read. */
export async function markFeedRead(ctx: Ctx, a: { collective?: string }): Promise<null> {
  const store = await ctx.store();
  await markRead(store, a.collective ? handleOfText(a.collective) : undefined);
  await ctx.changed(store, 0);
  return null;
}

/** Seal and deposit a post or tombstone in the newest epoch we hold; 409 means a newer epoch is open and we do not hold it yet. */
async function deposit(ctx: Ctx, store: Store, h: string, content: { text: string } | { target: string }) {
  const s = await store.account();
  const rec = await store.collective(h);
  if (!rec || rec.status !== 'member') throw new UserError(`You are not a member of @${h}.`);
  const { c, op, me } = atOf(rec, s);
  const b = rec.bundles.at(-1);
  if (!b) throw new UserError(`The keys of @${h} have not reached you yet; try again after the next check.`);
  if (rec.rotateForRemoval && 'text' in content) {
    // a member left or was expelled and could still read this epoch: the post waits for the new keys, which are made at the next check
    rec.rotateAt = Math.min(rec.rotateAt ?? Infinity, ctx.now());
    await store.putCollective(rec);
    throw new UserError(`A member left @${h}: its keys are being renewed first. Try again in a minute.`);
  }
  const sealed = sealPost(b, { name: me, identity: keyPairOf(s.me.identity) }, content, ctx.now());
  const hash = deleteHashOf(sealed.deleteSecret ?? crypto.getRandomValues(new Uint8Array(32)));
  const { seq } = await ctx.client(op).post(c, b.epoch, sealed.blob, hash, privateKey(unb64(b.posting.priv))).catch((e: unknown) => {
    if (e instanceof OperatorError && e.status === 409) throw new UserError(`The keys of @${h} are being rotated; try again in a minute.`);
    throw e;
  });
  return { rec, sealed, seq, me: foldName(s.me.name) }; // our own name as we show it
}

/** Post to a collective we are a member of; our copy keeps the delete secret. */
export async function post(ctx: Ctx, a: { collective: string; text: string }): Promise<PostView> {
  const store = await ctx.store();
  const c = handleOfText(a.collective);
  const text = a.text.trim();
  if (!text) throw new UserError('Nothing to post.');
  if (text.length > MAX_TEXT) throw new UserError(`A post is at most ${MAX_TEXT} characters.`);
  const { rec, sealed, seq, me } = await deposit(ctx, store, c, { text });
  const p = await appendPost(store, { id: sealed.id, collective: collectiveHandle(rec), author: me, text, t: ctx.now(), mine: { seq, secret: b64(sealed.deleteSecret!) } });
  return view(await feedIndex(store), await contactNames(store))(p);
}

/** Delete our own post: the Operator's copy if still pending (by its secret), then a tombstone for everyone's copy; ours is dropped. */
export async function deletePost(ctx: Ctx, a: { id: string }): Promise<void> {
  const store = await ctx.store();
  const found = await findPost(store, a.id);
  if (!found) throw new UserError('There is no such post.');
  const { post: p } = found;
  if (!p.mine) throw new UserError('Only the author can delete a post.');
  const c = lc(p.collective), rec = await store.collective(c);
  if (rec) {
    const { c: name, op } = atOf(rec, await store.account());
    if (p.mine.seq !== undefined && p.mine.secret) {
      await ctx.client(op).deletePost(name, p.mine.seq, unb64(p.mine.secret)).catch((e: unknown) => {
        if (!(e instanceof OperatorError && e.status === 404)) throw e; // already read by everyone, or past the TTL
      });
    }
    await deposit(ctx, store, c, { target: p.id });
  }
  await dropPost(store, p.id);
}

/**
 * Open our anonymous cursor for epoch `b` (a proof of kind `cursor`, made without the lock):
 * against the current tree while `b` is the current epoch, else against the tree at `b`'s root,
 * where we must be a leaf (a member admitted later cannot read back).
 */
async function openCursor(ctx: Ctx, at: At, b: EpochBundle, r: Replayed, secret: Uint8Array): Promise<void> {
  const store = await ctx.store();
  const { c, h } = at, client = ctx.client(at.op);
  const cur = await client.currentEpoch(c);
  const leaves = cur.epoch === b.epoch ? r.leaves : treeAt(r, b.root)?.leaves;
  const key = new KeyPair(), pub = b64(key.publicKey);
  const gone = async () => ctx.serial(async () => { const f = await feedOf(store, h); f.gone = [...(f.gone ?? []), b.epoch]; await putFeedOf(store, h, f); });
  if (cur.epoch < b.epoch) return; // not open yet
  if (!leaves?.includes(BigInt(commitmentIn(secret, c)))) return gone();
  const proof = await proveMember(ctx, secret, c, 'cursor', b.epoch, cursorBinding(pub), leaves);
  const opened = await client.openCursor(c, b.epoch, key.publicKey, proof).catch(async (e: unknown) => {
    if (e instanceof OperatorError && e.status === 409) { await gone(); return undefined; } // our cursor of this epoch was lost
    throw e;
  });
  if (opened) await ctx.serial(async () => { const f = await feedOf(store, h); f.cursors[b.epoch] = { id: opened.id, priv: b64(key.privateKey), pub }; await putFeedOf(store, h, f); });
}

/** Read epoch `b` through our cursor: store each post that checks out (before acknowledging it), apply tombstones; returns how many new posts. */
async function readEpoch(ctx: Ctx, at: At, b: EpochBundle, r: Replayed): Promise<number> {
  const store = await ctx.store();
  const s = await store.account();
  const { c, h, me } = at, client = ctx.client(at.op), author = (x: string) => shown(x, at.op, s); // authors are handles in the collective; we keep them as we show them
  // authors: the members at the epoch's root and the current ones (admitted since), with the identity key the log names
  const keys = new Map([...(treeAt(r, b.root)?.members ?? []), ...[...r.members.values()].map((m) => [m.name, m.key] as const)]);
  // a handle a member moved to counts as theirs only once its home shows their key (COLLECTIVES.md §15.1); a home out of reach: read later
  for (const e of r.entries) if (e.move && keys.has(e.move.to) && e.move.to !== me && !(await movedTrusted(ctx, store, at.op, e.move.to, keys.get(e.move.to)!))) keys.delete(e.move.to);
  const keyOf = (author: string) => { const k = keys.get(author); return k ? unb64(k) : undefined; };
  let got = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const f: FeedCollective = await feedOf(store, h);
    const cur = f.cursors[b.epoch];
    if (!cur) return got;
    const res = await client.readCursor(c, cur.id, privateKey(unb64(cur.priv))).catch(async (e: unknown) => {
      if (!(e instanceof OperatorError && e.status === 404)) throw e;
      delete f.cursors[b.epoch]; await putFeedOf(store, h, f); // idle past the TTL: dropped by the Operator
      return undefined;
    });
    if (!res) return got;
    for (const p of res.posts) {
      if (p.seq <= (f.read[b.epoch] ?? -1)) continue;
      f.read[b.epoch] = p.seq;
      let payload;
      try { payload = openPostFrom(b, p.blob, keyOf); } catch (e) {
        if (!(e instanceof PostError)) throw e;
        f.refused++;
        continue;
      }
      if (payload.kind === 'tombstone') {
        const found = await findPost(store, payload.target, LOOKBACK);
        if (!found) f.tombs = [...f.tombs, { target: payload.target, author: payload.author }].slice(-TOMBS);
        else if (found.post.author === author(payload.author) && lc(found.post.collective) === h) await dropPost(store, payload.target, LOOKBACK);
        else f.refused++; // only the author may delete a post, and only here
        continue;
      }
      const tomb = f.tombs.findIndex((t) => t.target === payload.id && t.author === payload.author);
      if (tomb >= 0) { f.tombs.splice(tomb, 1); continue; }
      if (payload.author === me && (await findPost(store, payload.id, LOOKBACK))) continue; // our own, already kept
      await appendPost(store, { id: payload.id, collective: h, author: author(payload.author), text: payload.text, t: payload.t, ...(payload.author === me && { mine: {} }) });
      if (payload.author !== me) got++;
    }
    await putFeedOf(store, h, f);
    const last = res.posts.at(-1);
    if (last) await client.ackCursor(c, cur.id, last.seq, privateKey(unb64(cur.priv)));
    if (!res.more) break;
  }
  return got;
}

/**
 * The feed at a poll, for every collective we are a member of by the replayed logs (`logs`):
 * a cursor per epoch held (opened once, without the lock), then each epoch read under the lock.
 * Call it without holding the state lock. Returns how many new posts by others arrived.
 */
export async function sync(ctx: Ctx, logs: Map<string, Replayed>): Promise<number> {
  const store = await ctx.store();
  const s = await store.account();
  const records = (await store.collectives()).filter((x) => x.status === 'member' && x.bundles.length);
  if (!records.length) return 0;
  const secret = await ctx.serial(() => secretOf(store));
  let got = 0;
  for (const rec of records) {
    const at = atOf(rec, s), c = at.h, r = logs.get(c);
    if (!r || standing(r, at.me, commitmentIn(secret, at.c), false) !== 'member') continue;
    try {
      for (const b of rec.bundles) {
        const f = await feedOf(store, c);
        if (f.gone?.includes(b.epoch)) continue;
        if (!f.cursors[b.epoch]) await openCursor(ctx, at, b, r, secret);
        got += await ctx.serial(() => readEpoch(ctx, at, b, r));
      }
      await ctx.serial(async () => {
        // forget the cursors of epochs whose bundles are gone (past the TTL)
        const f = await feedOf(store, c), held = new Set(rec.bundles.map((b) => String(b.epoch)));
        if (Object.keys(f.cursors).some((e) => !held.has(e))) {
          for (const e of Object.keys(f.cursors)) if (!held.has(e)) { delete f.cursors[e]; delete f.read[e]; }
          await putFeedOf(store, c, f);
        }
      });
    } catch { /* again at the next poll */ }
  }
  return got;
}

/**
 * After leaving a collective: its cursors and its posts are forgotten here (POSTS.md §9). A
 * leaver gets no tombstone (it is sealed under keys renewed without them), so a post kept here
 * could outlive its deletion for everyone else.
 */
export async function forget(ctx: Ctx, c: string): Promise<void> {
  const store = await ctx.store();
  await dropCollectivePosts(store, c);
  await store.r.remove(FK.collective(c));
}
