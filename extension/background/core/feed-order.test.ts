// The feed's order (feed-store.ts, POSTS.md §9): newest first by the time a post was posted, not
// by when it arrived, so a post that comes late (its author's add-on was offline) takes its place.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account } from '../../../test/support/addon.ts';
import { appendPost } from './feed-store.ts';

let op: Awaited<ReturnType<typeof startTestOperator>>;
before(async () => { await loadThemis(); op = await startTestOperator(); });
after(async () => { await op?.close(); });

test('the feed is ordered by post time, not arrival', async () => {
  const d = await account(op.url, 'reader');
  const store = await d.k.ctx.store();
  const id = (c: string) => c.repeat(22);
  // arrival order: b (posted at 200), a (posted at 100, came late), c (posted at 300)
  for (const [k, t] of [['b', 200], ['a', 100], ['c', 300]] as const) {
    await appendPost(store, { id: id(k), collective: 'garden', author: 'bob', text: `posted at ${t}`, t });
  }
  const feed = await d.k.feed({});
  assert.deepEqual(feed.posts.map((p) => p.text), ['posted at 300', 'posted at 200', 'posted at 100']);
});
