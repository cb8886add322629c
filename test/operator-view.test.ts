// What the Operator learns (PROTOCOL.md §1, §6, §9), checked the way a seizure would: after a
// scripted scenario — first contacts, private messages both ways, a prekey rotation, an
// account deletion; and a collective's posts read by all its members — dump everything the Operator holds (every key and value of its store,
// every byte of every file in its data dir, every log line) and assert that no pairwise
// mailbox is linked to a name, no sender is recorded, no plaintext is there, and no stored
// time is finer than the protocol document states (whole days, hours, minutes). What a
// curious Operator sees of Tor circuits is checked over real tor in test/e2e/tor.e2e.ts.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, b64 } from '../protocol/bytes.ts';
import { loadThemis } from '../protocol/themis.ts';
import { Komrade } from '../extension/background/komrade.ts';
import { memoryKV } from '../extension/background/kv.ts';
import { findOnDisk, snapshot, startTestOperator } from './support/operator.ts';
import { account } from './support/addon.ts';
import { shutdownCurve } from '../protocol/vouch.ts';

before(() => loadThemis());

const PASS = 'correct horse battery staple';
const DAY = 86_400_000, HOUR = 3_600_000;
/** The value bytes of a `snapshot` row (`key=hex`). */
const value = (kv: string): Buffer => Buffer.from(kv.slice(kv.indexOf('=') + 1), 'hex');

test('a seized Operator holds no social graph, no sender, no plaintext and no fine times', async () => {
  const t0 = Date.now();
  const lines: string[] = [];
  const op = await startTestOperator({ log: (l) => lines.push(l), logMs: 20 });
  const clock = { t: Date.now() };
  const device = () => {
    const local = memoryKV(), session = memoryKV();
    return { local, k: new Komrade({ local, session, now: () => clock.t }) };
  };
  try {
    const people = ['alice', 'bob', 'carol'] as const;
    const d = Object.fromEntries(people.map((n) => [n, device()])) as Record<(typeof people)[number], ReturnType<typeof device>>;
    for (const n of people) await d[n].k.create({ operator: op.url, name: n, passphrase: PASS, allowLoopback: true });
    const texts: string[] = [];
    const say = async (from: (typeof people)[number], to: string) => {
      const text = `secret ${from}→${to} ${b64(randomBytes(12))}`;
      texts.push(text);
      await d[from].k.addContact({ name: to });
      await d[from].k.send({ name: to, text });
    };
    // first contacts, replies over pairwise mailboxes, a third party
    await say('alice', 'bob'); await d.bob.k.poll();
    await say('bob', 'alice'); await d.alice.k.poll();
    await say('carol', 'alice'); await d.alice.k.poll();
    await say('alice', 'carol'); await d.carol.k.poll();
    await say('alice', 'bob');
    const pending = await snapshot(op); // a message not yet fetched: its blob and expiry-index rows
    await d.bob.k.poll();
    // a prekey rotation a week on, then bob deletes his account
    clock.t += 8 * DAY;
    for (const n of people) await d[n].k.poll();
    await d.bob.k.deleteAccount({ passphrase: PASS });
    await op.sweep();
    await new Promise((r) => setTimeout(r, 50)); // one more log line

    const rows = await snapshot(op);
    const logs = lines.join('\n');
    const names = ['alice', 'bob', 'carol'];
    const records = rows.filter((kv) => kv.startsWith('!n!') || kv.startsWith('!k!'));
    const intros = new Set(records.filter((kv) => kv.startsWith('!n!')).map((kv) => (JSON.parse(value(kv).toString()) as { record: { intro: string } }).record.intro));
    const mailboxes = rows.filter((kv) => kv.startsWith('!m!')).map((kv) => kv.slice(3, kv.indexOf('=')));
    const pairwise = mailboxes.filter((id) => !intros.has(id));
    assert.ok(pairwise.length >= 3, `the scenario made pairwise mailboxes (${pairwise.length})`);

    // 1. no pairwise mailbox is linked to a name: its id appears in no name record and no log;
    //    its metadata is only { key, seq, count, bytes, day }
    for (const id of pairwise) {
      for (const kv of records) assert.ok(!value(kv).toString().includes(id), 'a name record mentions a pairwise mailbox');
      assert.ok(!logs.includes(id), 'a log line names a mailbox');
      const meta = JSON.parse(Buffer.from(rows.find((kv) => kv.startsWith(`!m!${id}=`))!.split('=')[1]!, 'hex').toString()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(meta).sort(), ['bytes', 'count', 'day', 'key', 'seq'], 'mailbox metadata carries nothing else');
    }
    // 2. no sender: names appear only in the directory (name records and their skeletons), never in a
    //    mailbox, blob, expiry, nonce or grave entry, nor in the logs
    for (const kv of rows.filter((r) => !r.startsWith('!n!') && !r.startsWith('!k!'))) {
      const text = kv + value(kv).toString('latin1');
      for (const n of names) assert.ok(!text.includes(n), `${n} appears outside the directory: ${kv.slice(0, 40)}`);
    }
    for (const n of names) assert.ok(!logs.includes(n), `a log line names ${n}`);
    assert.ok(!records.some((kv) => kv.includes('bob')), "bob's deleted account left no directory entry");
    // 3. no plaintext anywhere: store, files, logs
    assert.deepEqual(findOnDisk(op.dataDir, Object.fromEntries(texts.map((t, i) => [`message ${i}`, t]))), [], 'no message text in any file');
    for (const t of texts) assert.ok(!logs.includes(t));
    // 4. no time finer than stated (PROTOCOL.md §6), in every row: each family is listed with the
    //    unit of the times it holds, checked against the test's own span of days, hours, minutes
    const [h0, h1] = [Math.floor(t0 / HOUR), Math.floor(Date.now() / HOUR)], [d0, d1] = [Math.floor(t0 / DAY), Math.floor(Date.now() / DAY)];
    const isHour = (h: number) => h >= h0 && h <= h1, isDay = (d: number) => d >= d0 && d <= d1;
    const families = new Set<string>();
    for (const kv of [...pending, ...rows]) {
      const v = value(kv), family = kv.slice(1, kv.indexOf('!', 1));
      families.add(family);
      switch (family) {
        case 'n': case 'k': break; // the directory: a name record (its `ts` is the owner's, signed) and a skeleton — no time of the Operator's
        case 'm': assert.ok(isDay((JSON.parse(v.toString()) as { day: number }).day), `a mailbox's day is today's day number: ${v.toString()}`); break;
        case 'b': assert.ok(isHour(v.readUInt32BE(0)), `a blob is stamped with this hour's number: ${v.readUInt32BE(0)}`); break;
        case 'x': assert.ok(isHour(parseInt(kv.slice(3, kv.indexOf('!', 3)), 16)), `the expiry index is keyed by hour number: ${kv.slice(0, 20)}`); break;
        case 'r': {
          const until = Number(v.toString());
          assert.ok(until % 60_000 === 0 && until > t0 && until <= Date.now() + 6 * 60_000, `a spent nonce keeps its expiry to the minute: ${until}`);
          break;
        }
        case 'g': {
          const until = (JSON.parse(v.toString()) as { until: number }).until;
          assert.ok(isDay(until - 14), `a grave keeps the day number it ends on: ${until}`);
          break;
        }
        default: assert.fail(`a row of a family the protocol does not list: ${kv.slice(0, 20)}`);
      }
    }
    assert.deepEqual([...families].sort(), ['b', 'g', 'k', 'm', 'n', 'r', 'x'], 'the snapshots hold rows of every family');
    assert.ok(lines.every((l) => !/\d{2}:\d{2}:\d{2}/.test(l)), 'log lines carry no timestamps of their own');
  } finally { await op.close(); }
});

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
