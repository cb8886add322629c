// What the Operator learns (PROTOCOL.md §1, §6, §9), checked the way a seizure would: after a
// scripted scenario — first contacts, private messages both ways, a prekey rotation, an
// account deletion — dump everything the Operator holds (every key and value of its store,
// every byte of every file in its data dir, every log line) and assert that no pairwise
// mailbox is linked to a name, no sender is recorded, no plaintext is there, and no stored
// time is finer than the protocol document states (whole days, hours, minutes). What a
// curious Operator sees of Tor circuits is checked over real tor in test/e2e/tor.e2e.ts; what it
// learns of a collective's posts, in operator-view-posts.test.ts.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { position } from '../protocol/transparency/name-index.ts';
import { randomBytes, b64 } from '../protocol/bytes.ts';
import { loadThemis } from '../protocol/themis.ts';
import { Komrade } from '../extension/background/komrade.ts';
import { memoryKV } from '../extension/background/kv.ts';
import { findOnDisk, snapshot, startTestOperator } from './support/operator.ts';

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
    // 2. no sender: names appear only in the directory (name records, their skeletons and their live
    //    key-transparency entries), never in a mailbox, blob, expiry, nonce or grave entry, nor in the logs
    for (const kv of rows.filter((r) => !['!n!', '!k!', '!O!', '!I!'].some((p) => r.startsWith(p)))) {
      const text = kv + value(kv).toString('latin1');
      for (const n of names) assert.ok(!text.includes(n), `${n} appears outside the directory: ${kv.slice(0, 40)}`);
    }
    for (const n of names) assert.ok(!logs.includes(n), `a log line names ${n}`);
    assert.ok(!records.some((kv) => kv.includes('bob')), "bob's deleted account left no directory entry");
    assert.ok(!rows.some((kv) => value(kv).includes(Buffer.from(position('bob')))), "bob's deleted name left no name index entry");
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
        case 'H': case 'O': case 'I': case 'K': case 'R': break; // the key-transparency log (PROTOCOL.md §5.11): hashes, openings, indexes, removals, its key and signed head — no time
        case 'N': case 'B': break; // the name index (§5.11.6): node hashes and buckets of (position, leaf index, leaf hash) — no time
        default: assert.fail(`a row of a family the protocol does not list: ${kv.slice(0, 20)}`);
      }
    }
    assert.deepEqual([...families].sort(), ['B', 'H', 'I', 'K', 'N', 'O', 'R', 'b', 'g', 'k', 'm', 'n', 'r', 'x'], 'the snapshots hold rows of every family');
    assert.ok(lines.every((l) => !/\d{2}:\d{2}:\d{2}/.test(l)), 'log lines carry no timestamps of their own');
  } finally { await op.close(); }
});
