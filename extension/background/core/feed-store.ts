/**
 * Typed access to the feed's records (feed-state.ts, POSTS.md §9), shared by the posts feature
 * and the status line: appending a post to the newest segment, finding and dropping one by id,
 * a page newest first, unread counts and read marks. Appending touches the index and the
 * newest segment only, so a poll does not grow with the history.
 */
import { foldName } from '../../../protocol/names.ts';
import { FK, FeedCollective, FeedIndex, FeedSegment, SEGMENT, type FeedPost } from '../feed-state.ts';
import type { Store } from './store.ts';

const lc = foldName;
const ALL = '*';

/** The feed index (empty when there is none yet). */
export async function feedIndex(store: Store): Promise<FeedIndex> {
  return (await store.r.get(FK.index, FeedIndex)) ?? { first: 0, next: 0, arrivals: 0, unread: {}, readUpTo: {} };
}

/** Unread posts overall (the status line and the badge). */
export async function feedUnread(store: Store): Promise<number> {
  return Object.values((await store.r.peek(FK.index, FeedIndex))?.unread ?? {}).reduce((a, b) => a + b, 0);
}

/** A collective's feed record (cursors, read positions). */
export async function feedOf(store: Store, c: string): Promise<FeedCollective> {
  return (await store.r.get(FK.collective(c), FeedCollective)) ?? { cursors: {}, read: {}, refused: 0, tombs: [] };
}
/** Write a collective's feed record. */
export const putFeedOf = (store: Store, c: string, f: FeedCollective) => store.r.put(FK.collective(c), f);

async function segment(store: Store, n: number): Promise<FeedSegment> { return (await store.r.get(FK.segment(n), FeedSegment)) ?? { posts: [] }; }
const putSegment = (store: Store, n: number, s: FeedSegment) => (s.posts.length ? store.r.put(FK.segment(n), s) : store.r.remove(FK.segment(n)));

/** Whether a post is unread by the read marks. */
export const isUnread = (i: FeedIndex, p: FeedPost) => !p.mine && p.n >= Math.max(i.readUpTo[ALL] ?? 0, i.readUpTo[lc(p.collective)] ?? 0);

/** Add a post (its arrival number is given here) to the newest segment; others' posts count as unread. */
export async function appendPost(store: Store, p: Omit<FeedPost, 'n'>): Promise<FeedPost> {
  const i = await feedIndex(store);
  let n = i.next - 1;
  let seg = n >= i.first ? await segment(store, n) : { posts: [] };
  if (n < i.first || seg.posts.length >= SEGMENT) { n = i.next; seg = { posts: [] }; i.next++; }
  const post = { ...p, n: i.arrivals++ };
  seg.posts.push(post);
  await putSegment(store, n, seg);
  if (!post.mine) i.unread[lc(p.collective)] = (i.unread[lc(p.collective)] ?? 0) + 1;
  await store.r.put(FK.index, i);
  return post;
}

/** Find a post by id, newest segments first (at most `segments` of them: a poll's look-ups stay bounded). */
export async function findPost(store: Store, id: string, segments = Infinity): Promise<{ seg: number; post: FeedPost } | undefined> {
  const i = await feedIndex(store);
  for (let n = i.next - 1; n >= i.first && i.next - n <= segments; n--) {
    const post = (await segment(store, n)).posts.find((p) => p.id === id);
    if (post) return { seg: n, post };
  }
  return undefined;
}

/** Drop a post by id (a tombstone, a deletion); false if we do not hold it. */
export async function dropPost(store: Store, id: string, segments = Infinity): Promise<boolean> {
  const found = await findPost(store, id, segments);
  if (!found) return false;
  const i = await feedIndex(store);
  const seg = await segment(store, found.seg);
  seg.posts = seg.posts.filter((p) => p.id !== id);
  await putSegment(store, found.seg, seg);
  const c = lc(found.post.collective);
  if (isUnread(i, found.post) && i.unread[c]) i.unread[c]--;
  while (i.first < i.next && !(await store.r.keys()).has(FK.segment(i.first))) i.first++;
  await store.r.put(FK.index, i);
  return true;
}

/** Drop every post of collective `c` from every segment (after leaving it, POSTS.md §9); its unread count and read mark go too. */
export async function dropCollectivePosts(store: Store, c: string): Promise<void> {
  const i = await feedIndex(store);
  for (let n = i.first; n < i.next; n++) {
    const seg = await segment(store, n);
    const kept = seg.posts.filter((p) => lc(p.collective) !== lc(c));
    if (kept.length !== seg.posts.length) await putSegment(store, n, { ...seg, posts: kept });
  }
  const keys = await store.r.keys();
  while (i.first < i.next && !keys.has(FK.segment(i.first))) i.first++;
  delete i.unread[lc(c)]; delete i.readUpTo[lc(c)];
  await store.r.put(FK.index, i);
}

/**
 * Posts newest first by the time they were posted (not by arrival: a post that comes late takes
 * its place among the page's posts), before segment `before` (default: from the newest),
 * filtered; stops at `SEGMENT` posts or after 20 segments. `older`: what to pass as `before`
 * for the next page. Pages are read by arrival, so the order holds within a page.
 */
export async function pagePosts(store: Store, o: { before?: number; keep: (p: FeedPost) => boolean }): Promise<{ posts: FeedPost[]; older?: number; index: FeedIndex }> {
  const i = await feedIndex(store);
  const out: FeedPost[] = [];
  let n = Math.min(o.before ?? i.next, i.next) - 1;
  for (let scanned = 0; n >= i.first && out.length < SEGMENT && scanned < 20; n--, scanned++) {
    out.push(...(await segment(store, n)).posts.filter(o.keep).reverse());
  }
  out.sort((x, y) => y.t - x.t || y.n - x.n);
  return { posts: out, older: n >= i.first ? n + 1 : undefined, index: i };
}

/** Mark everything (or one collective's posts) read up to now. */
export async function markRead(store: Store, c?: string): Promise<void> {
  const i = await feedIndex(store);
  if (c === undefined) { i.readUpTo = { [ALL]: i.arrivals }; i.unread = {}; } else { i.readUpTo[lc(c)] = i.arrivals; i.unread[lc(c)] = 0; }
  await store.r.put(FK.index, i);
}

/** A collective's handle changed (our home moved, PROTOCOL.md §11.5): its feed record, posts, unread count and read mark follow it. */
export async function renameFeedCollective(store: Store, from: string, to: string): Promise<void> {
  const f = await store.r.get(FK.collective(from), FeedCollective);
  if (f) { await store.r.put(FK.collective(to), f); await store.r.remove(FK.collective(from)); }
  const i = await feedIndex(store), [a, b] = [lc(from), lc(to)];
  for (let n = i.first; n < i.next; n++) {
    const s = await segment(store, n);
    if (s.posts.some((p) => lc(p.collective) === a)) await putSegment(store, n, { ...s, posts: s.posts.map((p) => (lc(p.collective) === a ? { ...p, collective: to } : p)) });
  }
  for (const m of [i.unread, i.readUpTo]) if (m[a] !== undefined) { m[b] = m[a]!; delete m[a]; }
  await store.r.put(FK.index, i);
}
