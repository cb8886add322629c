// Posts and the feed in the add-on's core (POSTS.md §9) against a real Operator, with REAL
// Semaphore proofs (epoch openings and cursors): three members each read the others' posts
// exactly once; a post naming another member as author is refused; a tombstone removes a post;
// a leave makes two members rotate at once without forking, and the leaver reads nothing of the
// next epoch; a newcomer gets epoch 2 by hand-over. ~11 proofs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { unb64 } from '../../../protocol/bytes.ts';
import { OperatorClient } from '../../../protocol/client.ts';
import { PostError, deleteHashOf, openPost, sealPost, type EpochBundle } from '../../../protocol/posts.ts';
import { loadThemis, privateKey } from '../../../protocol/themis.ts';
import { shutdownCurve } from '../../../protocol/vouch.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { CollectiveRecord } from '../collective-state.ts';
import { FK, FeedCollective } from '../feed-state.ts';
import { account, userError } from '../../../test/support/addon.ts';
import { replay } from './collective-log.ts';
import { keyPairOf } from './common.ts';
import { ROTATE_WEEKLY_MS, rotationDue } from './epochs.ts';
import { K } from './store.ts';

type Op = Awaited<ReturnType<typeof startTestOperator>>;
type Dev = Awaited<ReturnType<typeof account>>;
let op: Op;
let alice: Dev, bob: Dev, carol: Dev, dave: Dev;
const C = 'commune';
const t0 = performance.now();

/** What the test watches of the client: post blobs deposited, and a gate that holds the first epoch opening until a second arrives. */
const seen = { blobs: [] as Uint8Array[], opens: [] as string[], hold: false };
let waiting: (() => void) | undefined;
/** The devices' Operator client (Deps.client): the real one, watched. */
class Watched extends OperatorClient {
  override post(...a: Parameters<OperatorClient['post']>) { seen.blobs.push(a[2]); return super.post(...a); }
  override async openEpoch(...a: Parameters<OperatorClient['openEpoch']>) {
    if (seen.hold) {
      // two rotations at once: the first waits (at most 60 s) for the second, then both are sent together
      if (!waiting) await new Promise<void>((r) => { waiting = r; setTimeout(r, 60_000); });
      else { waiting(); waiting = undefined; }
    }
    try { const r = await super.openEpoch(...a); seen.opens.push('opened'); return r; } catch (e) { seen.opens.push(String((e as { reason?: string }).reason)); throw e; }
  }
}

before(async () => {
  await loadThemis();
  op = await startTestOperator();
  op.server.keepAliveTimeout = 10 * 60_000; // proving blocks this process for seconds
  const make = (n: string) => account(op.url, n, undefined, { rotationDelayMs: 0, client: (url) => new Watched(url) });
  [alice, bob, carol, dave] = [await make('alice'), await make('bob'), await make('carol'), await make('dave')];
});
after(async () => {
  await op?.close();
  await shutdownCurve();
  console.log(`# posts core: ${Math.round((performance.now() - t0) / 1000)} s`);
});

const record = async (d: Dev) => (await d.k.ctx.store()).r.get(K.collective(C), CollectiveRecord);
const feedRec = async (d: Dev) => (await d.k.ctx.store()).r.get(FK.collective(C), FeedCollective);
const texts = async (d: Dev) => (await d.k.feed({})).posts.map((p) => `${p.author}: ${p.text}`);

test('three members post and read each other\'s posts exactly once; a forged author is refused; a tombstone removes a post', { timeout: 150_000 }, async () => {
  const made = await alice.k.createCollective({ name: C, description: 'posts', rule: 'open' });
  assert.equal(made.hasKey, true, 'epoch 1 is opened at founding');
  assert.equal((await op.client.currentEpoch(C)).epoch, 1);
  assert.equal((await op.client.currentEpoch(C)).postingKey, (await record(alice))!.bundles[0]!.posting.pub);
  await assert.rejects(bob.k.post({ collective: C, text: 'hi' }), userError(/not a member/));
  for (const d of [bob, carol]) assert.equal((await d.k.askToJoin({ name: C })).myStatus, 'member');
  await alice.k.poll(); // hands epoch 1 over to bob and carol, opens alice's cursor
  await bob.k.poll(); await carol.k.poll(); // accept it, open their cursors
  for (const d of [bob, carol]) assert.deepEqual((await record(d))!.bundles, (await record(alice))!.bundles);

  await assert.rejects(alice.k.post({ collective: C, text: '   ' }), userError(/Nothing to post/));
  await assert.rejects(alice.k.post({ collective: C, text: 'x'.repeat(10_001) }), userError(/at most 10000/));
  const mine = await alice.k.post({ collective: C, text: 'hello from <b>alice</b>' });
  assert.deepEqual({ ...mine, id: '', t: 0 }, { id: '', collective: C, author: 'alice', text: 'hello from <b>alice</b>', t: 0, mine: true, unread: false, contact: false });
  await bob.k.post({ collective: C, text: 'hello from bob' });
  await carol.k.post({ collective: C, text: 'hello from carol' });
  for (let i = 0; i < 2; i++) for (const d of [alice, bob, carol]) await d.k.poll();
  const all = ['carol: hello from carol', 'bob: hello from bob', 'alice: hello from <b>alice</b>'];
  for (const d of [alice, bob, carol]) {
    const f = await d.k.feed({});
    assert.deepEqual(f.posts.map((p) => `${p.author}: ${p.text}`).sort(), [...all].sort(), 'every post exactly once');
    assert.equal(new Set(f.posts.map((p) => p.id)).size, 3);
    assert.equal(f.unread, 2, 'the two others\' posts are unread');
    assert.equal((await d.k.status()).feedUnread, 2);
    assert.deepEqual(f.open, [C]);
    assert.deepEqual((await d.k.feed({ author: '@bob' })).posts.map((p) => p.text), ['hello from bob']);
  }
  await bob.k.markFeedRead({});
  assert.equal((await bob.k.feed({})).posts.filter((p) => p.unread).length, 0);
  assert.equal((await bob.k.status()).feedUnread, 0);

  // bob, a member, signs a post with his own key but names alice: every reader refuses it
  const b = (await record(bob))!.bundles.at(-1)!;
  const me = await (await bob.k.ctx.store()).account();
  const forged = sealPost(b, { name: 'alice', identity: keyPairOf(me.me.identity) }, { text: 'forged by bob' });
  await op.client.post(C, b.epoch, forged.blob, deleteHashOf(forged.deleteSecret!), privateKey(unb64(b.posting.priv)));
  const refused = (await feedRec(carol))!.refused;
  await alice.k.poll(); await carol.k.poll();
  for (const d of [alice, carol]) assert.ok(!(await texts(d)).some((t) => t.includes('forged')), 'a post in another member\'s name is refused');
  assert.equal((await feedRec(carol))!.refused, refused + 1);

  // alice deletes her post: the others' copies go at their next poll; nobody else can delete it
  await assert.rejects(bob.k.deletePost({ id: mine.id }), userError(/Only the author/));
  const left = await alice.k.deletePost({ id: mine.id });
  assert.ok(!left.posts.some((p) => p.id === mine.id));
  await bob.k.poll(); await carol.k.poll();
  for (const d of [alice, bob, carol]) assert.deepEqual((await texts(d)).sort(), ['bob: hello from bob', 'carol: hello from carol']);
  assert.equal((await carol.k.feed({})).unread, 1, 'a dropped unread post no longer counts');
});

test('carol leaves: two members rotate at once and do not fork; carol reads nothing of epoch 2; a newcomer gets epoch 2', { timeout: 150_000 }, async () => {
  const carolB1: EpochBundle = (await record(carol))!.bundles.at(-1)!;
  const carolPrekey = (await (await carol.k.ctx.store()).account()).prekeys.at(-1)!.id;
  assert.ok((await texts(carol)).length > 0, 'carol holds posts of the commune before she leaves');
  await carol.k.leaveCollective({ name: C });
  // a post deleted later could never be dropped here (the tombstone is sealed without her): she keeps none (POSTS.md §9)
  assert.deepEqual(await texts(carol), [], 'a leaver keeps no post of the collective');
  assert.equal((await carol.k.feed({})).unread, 0);

  // alice's add-on notices the leave and waits its random delay: posting waits for the new keys meanwhile
  alice.k.ctx.deps.rotationDelayMs = 10 * 60_000;
  await alice.k.poll();
  assert.deepEqual((await alice.k.feed({})).rotating, [C]);
  await assert.rejects(alice.k.post({ collective: C, text: 'carol could read this' }), userError(/keys are being renewed/));
  alice.k.ctx.deps.rotationDelayMs = 0;

  // alice (hurried by her post) and bob both open epoch 2 at the same moment: one wins, the other adopts it
  seen.hold = true;
  await Promise.all([alice.k.poll(), bob.k.poll()]);
  seen.hold = false;
  assert.deepEqual(seen.opens.slice(-2).sort(), ['epoch taken', 'opened'], 'both tried, the Operator took one');
  const won = (await op.client.currentEpoch(C)).postingKey;
  for (const d of [alice, bob]) {
    const newest = (await record(d))!.bundles.at(-1)!;
    assert.ok(newest.epoch === 1 || newest.posting.pub === won, 'the loser never keeps its own epoch 2');
  }
  await alice.k.poll(); await bob.k.poll();
  const cur = await op.client.currentEpoch(C);
  assert.equal(cur.epoch, 2);
  const [a, b] = [(await record(alice))!, (await record(bob))!];
  assert.deepEqual(a.bundles.at(-1), b.bundles.at(-1), 'the same epoch 2 key on both');
  assert.equal(a.bundles.at(-1)!.posting.pub, cur.postingKey);
  assert.deepEqual(a.bundles.map((x) => x.epoch), [1, 2], 'epoch 1 is kept while its posts may be pending');
  assert.equal((await alice.k.feed({})).rotating.length, 0);

  // bob posts in epoch 2: alice reads it; nothing was sealed to carol, and her epoch-1 key does not open it
  await bob.k.post({ collective: C, text: 'after carol left' });
  const blob = seen.blobs.at(-1)!;
  await alice.k.poll();
  assert.ok((await texts(alice)).includes('bob: after carol left'));
  assert.deepEqual(await op.client.fetchKeys(C, 2, carolPrekey), []);
  assert.throws(() => openPost(carolB1, blob), PostError);
  // nothing of epoch 2 is sealed to any prekey carol has, while a member still in got their envelope
  const prekeysOf = async (d: Dev) => (await (await d.k.ctx.store()).account()).prekeys.map((p) => p.id);
  const envelopes = async (d: Dev) => (await Promise.all((await prekeysOf(d)).map((id) => op.client.fetchKeys(C, 2, id)))).flat().length;
  assert.equal(await envelopes(carol), 0, 'no epoch-2 envelope for carol');
  assert.ok((await envelopes(alice)) + (await envelopes(bob)) > 0, 'the rotation sealed epoch 2 to the member who did not open it');

  // dave joins the open collective after the rotation: a member hands him epoch 2, and he reads what follows
  await dave.k.askToJoin({ name: C });
  await alice.k.poll(); await dave.k.poll();
  assert.deepEqual((await record(dave))!.bundles, [a.bundles.at(-1)], 'the hand-over carries the current epoch');
  await alice.k.post({ collective: C, text: 'welcome dave' });
  await dave.k.poll();
  assert.ok((await texts(dave)).includes('alice: welcome dave'));
});

test('a rotation is due after a leave or an expulsion, and weekly', async () => {
  const rec = (await record(alice))!, r = await replay(op.client, C);
  assert.equal(rotationDue(rec, r, Date.now()), false, 'dave\'s admission is no reason');
  assert.equal(rotationDue(rec, r, rec.epochAt! + ROTATE_WEEKLY_MS), true);
  assert.equal(rotationDue({ ...rec, bundles: rec.bundles.slice(0, 1) }, r, Date.now()), true, 'epoch 1 predates carol\'s leave');
});

test('a member admitted during an epoch reads its posts, though the epoch opened without them', { timeout: 120_000 }, async () => {
  const L = 'late_commune';
  await alice.k.createCollective({ name: L, description: 'late', rule: 'open' }); // epoch 1 opens with alice alone
  await dave.k.askToJoin({ name: L }); // admitted in epoch 1
  await alice.k.post({ collective: L, text: 'before dave had his key' });
  await alice.k.poll(); await alice.k.poll(); // hands the key to dave; alice reads and acknowledges her post
  await dave.k.poll(); await dave.k.poll(); // his key, his cursor, the posts
  assert.ok((await dave.k.feed({ collective: L })).posts.some((p) => p.text === 'before dave had his key'), 'the post waited for the newcomer\'s cursor');
});
