// What the Operator learns of a collective's posts (POSTS.md §7, COLLECTIVES.md §13), checked the
// way a seizure would: three members post and read each other's posts through their add-ons
// (real Semaphore proofs: this file is in the proving tier), then everything the Operator holds
// is dumped (every key and value, every byte of every file, every log line) and nothing in it
// may tell who wrote a post, what it says, or whose cursor is whose; stored times are whole hours
// and days. The same for messaging: operator-view.test.ts.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, b64 } from '../protocol/bytes.ts';
import { loadThemis } from '../protocol/themis.ts';
import { shutdownCurve } from '../protocol/vouch.ts';
import { findOnDisk, snapshot, startTestOperator } from './support/operator.ts';
import { account } from './support/addon.ts';

before(() => loadThemis());

const DAY = 86_400_000, HOUR = 3_600_000;
/** The value bytes of a `snapshot` row (`key=hex`). */
const value = (kv: string): Buffer => Buffer.from(kv.slice(kv.indexOf('=') + 1), 'hex');

test('a seized Operator holding a collective\'s posts cannot tell who wrote them, what they say, or whose cursor is whose', { timeout: 300_000 }, async () => {
  const t0 = Date.now();
  const isDay = (d: number) => d >= Math.floor(t0 / DAY) && d <= Math.floor(Date.now() / DAY);
  const isHour = (h: number) => h >= Math.floor(t0 / HOUR) && h <= Math.floor(Date.now() / HOUR);
  const lines: string[] = [];
  const op = await startTestOperator({ log: (l) => lines.push(l), logMs: 20 });
  op.server.keepAliveTimeout = 10 * 60_000; // proving blocks this process for seconds
  try {
    // names long enough that none turns up by chance inside base64 or hex
    const people = ['poster_dora', 'poster_emil', 'poster_fay'];
    const d = await Promise.all(people.map((n) => account(op.url, n, undefined, { rotationDelayMs: 0 })));
    const C = 'seized_commune';
    await d[0]!.k.createCollective({ name: C, description: 'what a seizure finds', rule: 'open' });
    for (const x of d.slice(1)) await x.k.askToJoin({ name: C });
    for (const x of d) await x.k.poll(); // the key handed over, a cursor each
    const texts = people.map((n) => `post by ${n} ${b64(randomBytes(12))}`);
    for (const [i, x] of d.entries()) await x.k.post({ collective: C, text: texts[i]! });
    const pending = await snapshot(op); // posts still pending: not everyone has read them
    for (let i = 0; i < 2; i++) for (const x of d) await x.k.poll();
    for (const x of d) assert.equal((await x.k.feed({})).posts.length, 3, 'everyone read every post');
    await op.sweep();
    await new Promise((r) => setTimeout(r, 50)); // one more log line
    const rows = [...pending, ...(await snapshot(op))];
    const logs = lines.join('\n');

    // who each person is to the Operator: name, identity key, intro mailbox, commitment in the collective
    const who = await Promise.all(d.map(async (x, i) => {
      const a = await (await x.k.ctx.store()).account();
      const member = rows.find((kv) => kv.startsWith(`!M!${C}!${people[i]}=`));
      assert.ok(member, 'a member record (membership by name is known: COLLECTIVES.md §13)');
      const { commitment } = JSON.parse(value(member).toString()) as { commitment: string };
      return [people[i]!, a.me.identity.pub, a.me.intro.id, commitment];
    }));
    assert.ok(who.every((w) => w.every((x) => typeof x === 'string' && x.length > 8)));
    // 1. the posts' records (P posts, Q cursors, V nullifiers, Y key envelopes, F feed and epochs) name nobody
    const postRows = rows.filter((kv) => /^!(P|Q|V|Y|F)!/.test(kv));
    assert.ok(postRows.some((kv) => kv.startsWith('!P!')) && postRows.some((kv) => kv.startsWith('!Q!')), 'posts and cursors were seen');
    for (const kv of postRows) {
      let text = kv + value(kv).toString('latin1');
      // an epoch opened by a collective of one: a one-leaf tree's root is its member's commitment (COLLECTIVES.md §13, said there)
      const epoch = kv.startsWith('!F!') && kv.includes('!', `!F!${C}!`.length - 1) ? JSON.parse(value(kv).toString()) as { members?: number; root?: string } : undefined;
      if (epoch?.members === 1) text = text.replace(epoch.root!, '');
      for (const w of who) for (const x of w) assert.ok(!text.includes(x), `a post, cursor or key record holds ${x === w[0] ? 'a name' : 'an identifier'} of ${w[0]}: ${kv.slice(0, 30)}`);
    }
    // 2. a cursor is { epoch, key, pos, day }: its id and key appear in no other record and no log
    const cursors = [...new Set(rows.filter((kv) => kv.startsWith('!Q!')).map((kv) => kv.slice(0, kv.indexOf('='))))];
    assert.equal(cursors.length, 3, 'one cursor per member');
    for (const id of cursors) {
      const rec = JSON.parse(value(rows.find((kv) => kv.startsWith(`${id}=`))!).toString()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(rec).sort(), ['day', 'epoch', 'key', 'pos'], 'a cursor carries nothing else');
      const bare = id.slice(`!Q!${C}!`.length);
      for (const kv of rows.filter((r) => !r.startsWith(id))) assert.ok(!kv.includes(bare) && !value(kv).toString('latin1').includes(rec.key as string), 'a cursor is tied to another record');
      assert.ok(!logs.includes(bare), 'a log line names a cursor');
      assert.ok(isDay(rec.day as number), `a cursor keeps only the day number it was last used: ${rec.day as number}`);
    }
    // 3. no post text on the disk, before or after it was read, nor in a log
    assert.deepEqual(findOnDisk(op.dataDir, Object.fromEntries(texts.map((t, i) => [`post ${i}`, t]))), [], 'no post text in any file');
    for (const t of texts) assert.ok(!logs.includes(t));
    for (const n of [...people, C]) assert.ok(!logs.includes(n), `a log line names ${n}`);
    // 4. a pending post is stamped with an hour number, nothing finer
    for (const kv of pending.filter((r) => r.startsWith('!P!'))) assert.ok(isHour(value(kv).readUInt32BE(0)), 'a post is stamped with this hour\'s number');
  } finally {
    await op.close();
    await shutdownCurve();
  }
});
