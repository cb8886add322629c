// The vault at rest (v2): records sealed one by one under names that reveal nothing, bound to
// their place; v1 vaults and backups upgrade without loss; status never reads message history.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { Komrade } from '../komrade.ts';
import { DamagedRecord } from '../records.ts';
import { memoryKV } from '../vault.ts';
import { PASS, account, device, fillHistory, introduce, loggingKV, stateOf } from '../../../test/support/addon.ts';
import { K } from './store.ts';

before(() => loadThemis());

const fixture = JSON.parse(readFileSync(new URL('../fixtures/vault-v1.json', import.meta.url), 'utf8')) as { passphrase: string; local: Record<string, unknown>; backup: string };

/** Every message of a thread, paging back with `before`. */
async function everything(k: Komrade, name: string) {
  let page = await k.thread({ name });
  const all = [...page.messages];
  while (page.older !== undefined) { page = await k.thread({ name, before: page.older }); all.unshift(...page.messages); }
  return all;
}

test('records: one storage key each, named by a keyed hash; a record moved into another place does not open', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_rec');
    await account(op.url, 'bob_rec'); await account(op.url, 'carol_rec');
    await alice.k.addContact({ name: 'bob_rec' });
    await alice.k.addContact({ name: 'carol_rec' });
    await alice.k.send({ name: 'bob_rec', text: 'for bob only' });
    const keys = [...alice.local.data.keys()];
    assert.ok(keys.every((k) => k === 'vault' || /^r\.[A-Za-z0-9+/=_-]{20,}$/.test(k)), keys.join(' '));
    assert.ok(!keys.join(' ').includes('bob') && !keys.join(' ').includes('chunk'), 'key names reveal nothing');
    assert.deepEqual(Object.keys(alice.local.data.get('vault') as object).sort(), ['v', 'wrappedKey']);
    const r = (await alice.k.ctx.store()).r;
    assert.equal(alice.local.data.has(r.slot(K.contact('bob_rec'))), true);

    // swap: bob's sealed contact record copied over carol's
    alice.local.data.set(r.slot(K.contact('carol_rec')), alice.local.data.get(r.slot(K.contact('bob_rec'))));
    const woken = new Komrade({ local: alice.local, session: alice.session }); // no cache
    await assert.rejects(woken.thread({ name: 'carol_rec' }), (e) => e instanceof DamagedRecord);
    assert.equal((await woken.thread({ name: 'bob_rec' })).messages[0]!.text, 'for bob only');
  } finally { await op.close(); }
});

test('migration: a v1 vault made by the add-on before records upgrades in place on unlock and loses nothing', async () => {
  const local = memoryKV(), session = memoryKV();
  for (const [k, v] of Object.entries(fixture.local)) await local.set(k, v);
  const k = new Komrade({ local, session });
  assert.equal((await k.status()).phase, 'locked');
  await assert.rejects(k.unlock({ passphrase: 'not the passphrase' }), /Wrong passphrase/);
  await k.unlock({ passphrase: fixture.passphrase });
  const s = await k.status();
  assert.deepEqual([s.phase, s.name, s.unread, s.queued], ['unlocked', 'alice_v1', 0, 1]);
  assert.equal((local.data.get('vault') as { v: number }).v, 2, 'the header is v2');
  assert.ok(!('state' in (local.data.get('vault') as object)), 'the v1 ciphertext is gone');
  const bob = await everything(k, 'bob_v1');
  assert.equal(bob.length, 61);
  assert.equal(bob[0]!.text, 'hello bob, from v1');
  assert.equal(bob.at(-1)!.text, 'reply 59');
  const c = (await k.contacts()).contacts;
  assert.deepEqual(c.map((x) => [x.name, x.verified]), [['bob_v1', true], ['carol_v1', false]]);
  assert.deepEqual((await k.inbox()).map((x) => [x.name, x.unread, x.last?.text]), [['carol_v1', 0, 'queued while down'], ['bob_v1', 0, 'reply 59']]);
  assert.deepEqual((await k.thread({ name: 'carol_v1' })).messages.map((m) => [m.text, m.state]), [['hi from carol', 'received'], ['queued while down', 'queued']]);
  const st = await stateOf({ k });
  assert.equal(Object.keys(st.seen).length, 61, 'replay protection kept (60 from bob, 1 from carol)');
  assert.equal(st.outbox.length, 1);
  // a second background over the same storage opens it as v2, and the backup it makes restores
  const again = new Komrade({ local, session });
  assert.equal((await again.status()).queued, 1);
  const fresh = device();
  await fresh.k.restore({ backup: await again.exportBackup(), passphrase: PASS });
  assert.equal((await everything(fresh.k, 'bob_v1')).length, 61);
});

test('migration: a vault still unlocked in the session when the add-on updates is upgraded at the first request', async () => {
  const local = memoryKV(), session = memoryKV();
  for (const [k, v] of Object.entries(fixture.local)) await local.set(k, v);
  await new Komrade({ local, session }).unlock({ passphrase: fixture.passphrase }).catch(() => undefined);
  // simulate: restore v1 header, key still in session
  for (const [k, v] of Object.entries(fixture.local)) await local.set(k, v);
  const k = new Komrade({ local, session });
  assert.equal((await k.status()).name, 'alice_v1');
  assert.equal((local.data.get('vault') as { v: number }).v, 2);
});

test('restore across versions: a v1 backup opens in this add-on', async () => {
  const d = device();
  await assert.rejects(d.k.restore({ backup: fixture.backup, passphrase: 'wrong wrong wrong' }), /Wrong passphrase/);
  await d.k.restore({ backup: fixture.backup, passphrase: fixture.passphrase });
  const s = await d.k.status();
  assert.deepEqual([s.name, s.unread, s.queued], ['alice_v1', 0, 1]);
  assert.equal((await everything(d.k, 'bob_v1')).length, 61);
  assert.equal((d.local.data.get('vault') as { v: number }).v, 2);
});

test('cost does not grow with history: status reads no message, a thread only its newest chunk, send and receive write only what changed', { timeout: 120_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_h'), bob = await account(op.url, 'bob_h');
    await introduce(alice, bob, { from: 'alice_h', to: 'bob_h' });
    await fillHistory(alice, { contacts: 99, messages: 5000 });
    const log = loggingKV(alice.local);
    const k = new Komrade({ local: log, session: alice.session }); // cold: nothing cached
    const r = (await k.ctx.store()).r;
    const chunkSlots = new Set<string>();
    for (const key of await r.keys()) if (key.startsWith('chunk/')) chunkSlots.add(r.slot(key));
    assert.ok(chunkSlots.size >= 100);
    log.reset();
    const s = await k.status();
    assert.equal(s.phase, 'unlocked');
    assert.deepEqual(log.gets.filter((g) => chunkSlots.has(g)), [], 'status read no message chunk');
    assert.ok(log.gets.length <= 6, `status read ${log.gets.length} keys`);
    log.reset();
    const t = await k.thread({ name: 'bob_h' });
    assert.equal(log.gets.filter((g) => chunkSlots.has(g)).length, 1, 'a thread reads its newest chunk');
    assert.ok(t.older !== undefined);
    // what send and receive may write: the conversation's newest chunks, record and fresh prekeys, the index, the outbox, today's seen ids, the catalog,
    // and the newest checkpoint seen (a message carries the sender's, PROTOCOL.md §5.11.5)
    const allowed = async () => {
      const c = (await (await k.ctx.store()).contact('bob_h'))!;
      return new Set(['index', 'outbox', 'pending', 'catalog', 'transparency', K.contact('bob_h'), K.prekeys('bob_h'), K.chunk('bob_h', c.chunks.next - 1), K.chunk('bob_h', c.chunks.next - 2), K.seen(Math.floor(Date.now() / 86_400_000))].map((x) => r.slot(x)));
    };
    log.reset();
    await k.send({ name: 'bob_h', text: 'one more' });
    let ok = await allowed();
    assert.deepEqual(log.sets.filter((x) => !ok.has(x)).map((x) => x), [], 'send wrote only what changed');
    await bob.k.send({ name: 'alice_h', text: 'and back' });
    log.reset();
    assert.equal((await k.poll()).received, 1);
    ok = await allowed();
    const names = new Map([...(await r.keys())].map((key) => [r.slot(key), key]));
    assert.deepEqual(log.sets.filter((x) => !ok.has(x)).map((x) => names.get(x) ?? x), [], 'receive wrote only what changed');
    assert.ok(log.gets.filter((g) => chunkSlots.has(g)).length <= 1, 'receive read at most the newest chunk');
  } finally { await op.close(); }
});
