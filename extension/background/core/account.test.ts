// The account in Node against a real Operator: onboarding, locking, backups, auto-lock, names.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { loadThemis } from '../../../protocol/themis.ts';
import { Komrade, isActivity } from '../komrade.ts';
import { memoryKV } from '../vault.ts';
import { komrade as rawKomrade, snapshot, startTestOperator } from '../../../test/support/operator.ts';
import { PASS, account, device, userError } from '../../../test/support/addon.ts';

before(() => loadThemis());

test('a Komrade is not a thenable: awaiting one, or returning one from an async function, yields the instance', async () => {
  const d = device();
  assert.equal(typeof (d.k as unknown as { then?: unknown }).then, 'undefined');
  assert.equal(await d.k, d.k);
  assert.equal(await (async () => d.k)(), d.k);
  assert.equal(await Promise.resolve(d.k), d.k);
});

test('onboarding: clear errors for a bad address, weak passphrase, taken name, unreachable Operator', async () => {
  const op = await startTestOperator();
  try {
    const d = device();
    await assert.rejects(d.k.create({ operator: 'https://example.com', name: 'alice', passphrase: PASS }), userError(/Only onion addresses/));
    await assert.rejects(d.k.create({ operator: op.url, name: 'alice', passphrase: PASS }), userError(/developer option/));
    await assert.rejects(d.k.create({ operator: op.url, name: 'alice', passphrase: 'short', allowLoopback: true }), userError(/at least 10/));
    await assert.rejects(d.k.create({ operator: op.url, name: '<img src=x>', passphrase: PASS, allowLoopback: true }), userError(/3 to 32/));
    await assert.rejects(d.k.create({ operator: 'http://127.0.0.1:1', name: 'alice', passphrase: PASS, allowLoopback: true }), userError(/cannot be reached/));
    assert.equal((await d.k.status()).phase, 'new', 'failed attempts leave no account');
    await account(op.url, 'Alice');
    await assert.rejects(d.k.create({ operator: op.url, name: 'alice', passphrase: PASS, allowLoopback: true }), userError(/taken/));
    // a look-alike is refused as one, before any proof of work (PROTOCOL.md §5.12)
    for (const like of ['a1ice', 'ALlCE']) await assert.rejects(d.k.create({ operator: op.url, name: like, passphrase: PASS, allowLoopback: true }), userError(/looks like an existing name/));
    assert.equal((await d.k.status()).phase, 'new', 'a refused look-alike leaves no account');
    const s = await (await account(op.url, 'bob')).k.status();
    assert.equal(s.phase, 'unlocked');
    assert.equal(s.name, 'bob');
  } finally { await op.close(); }
});

test('lock, unlock, wrong passphrase; nothing readable at rest; unlocked state survives a suspension', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_lock'), bob = await account(op.url, 'bob_lock');
    await alice.k.addContact({ name: 'bob_lock' });
    await alice.k.send({ name: 'bob_lock', text: 'secret plans for saturday' });
    const atRest = JSON.stringify([...alice.local.data.values()]);
    for (const plain of ['secret plans', 'bob_lock', 'alice_lock', op.url]) assert.ok(!atRest.includes(plain), `storage.local reveals ${plain}`);

    // a new background instance over the same storage (Firefox suspended and woke it): still unlocked
    const woken = new Komrade({ local: alice.local, session: alice.session });
    assert.equal((await woken.status()).phase, 'unlocked');
    // a browser restart loses the session area: locked
    const restarted = new Komrade({ local: alice.local, session: memoryKV() });
    assert.equal((await restarted.status()).phase, 'locked');

    await alice.k.lock();
    assert.equal((await alice.k.status()).phase, 'locked');
    assert.equal(alice.session.data.size, 0, 'no key left in session storage');
    await assert.rejects(alice.k.inbox(), userError(/locked/));
    await assert.rejects(alice.k.unlock({ passphrase: 'wrong passphrase!' }), userError(/Wrong passphrase/));
    assert.equal((await alice.k.status()).phase, 'locked');
    await alice.k.unlock({ passphrase: PASS });
    assert.equal((await alice.k.thread({ name: 'bob_lock' })).messages[0]!.text, 'secret plans for saturday');
    void bob;
  } finally { await op.close(); }
});

test('an encrypted backup restores the account on a new device with the same passphrase', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_b'), bob = await account(op.url, 'bob_b');
    await alice.k.addContact({ name: 'bob_b' });
    await alice.k.send({ name: 'bob_b', text: 'before the backup' });
    const backup = await alice.k.exportBackup();
    assert.ok(!backup.includes('before the backup') && !backup.includes('bob_b'), 'the backup is encrypted');
    const fresh = device();
    await assert.rejects(fresh.k.restore({ backup: 'not json', passphrase: PASS }), userError(/not a Komrade backup/));
    await assert.rejects(fresh.k.restore({ backup, passphrase: 'wrong wrong wrong' }), userError(/Wrong passphrase/));
    await fresh.k.restore({ backup, passphrase: PASS });
    assert.equal((await fresh.k.status()).name, 'alice_b');
    assert.equal((await fresh.k.thread({ name: 'bob_b' })).messages[0]!.text, 'before the backup');
    await bob.k.poll();
    await bob.k.acceptRequest({ name: 'alice_b' });
    await bob.k.send({ name: 'alice_b', text: 'reply to the restored device' });
    assert.equal((await fresh.k.poll()).received, 1);
  } finally { await op.close(); }
});

test('auto-lock: idle for the set minutes locks; activity postpones it; 0 = never', async () => {
  const op = await startTestOperator();
  try {
    const clock = { t: Date.now() };
    const d = await account(op.url, 'alice_idle', () => clock.t);
    await d.k.touch();
    clock.t += 14 * 60_000;
    assert.equal(await d.k.lockIfIdle(), false, '14 of 15 minutes idle: still unlocked');
    await d.k.touch();
    clock.t += 14 * 60_000;
    assert.equal(await d.k.lockIfIdle(), false, 'activity restarted the count');
    clock.t += 2 * 60_000;
    assert.equal(await d.k.lockIfIdle(), true);
    assert.equal((await d.k.status()).phase, 'locked');
    assert.equal(d.session.data.has('storageKey'), false);
    await d.k.unlock({ passphrase: PASS });
    await d.k.saveSettings({ ...(await d.k.settings()), autoLockMinutes: 0 });
    clock.t += 1000 * 60_000;
    assert.equal(await d.k.lockIfIdle(), false, '0 means never');
  } finally { await op.close(); }
});

test('auto-lock: the popup refreshing while left open is not activity; what the person does is', { timeout: 60_000 }, async () => {
  const op = await startTestOperator();
  try {
    for (const m of ['status', 'inbox', 'thread', 'contacts', 'settings', 'checkNow'] as const) assert.equal(isActivity(m), false, m);
    for (const m of ['touch', 'send', 'addContact', 'acceptKey', 'refuseKey', 'unlock', 'saveSettings', 'retry'] as const) assert.equal(isActivity(m), true, m);
    const clock = { t: Date.now() };
    const d = await account(op.url, 'alice_al', () => clock.t);
    await account(op.url, 'bob_al');
    await d.k.request('addContact', [{ name: 'bob_al' }]);
    // the popup stays open on the thread: status and the open view every 2 s, nobody touches it
    await d.k.request('checkNow', []);
    const refresh = async (minutes: number) => {
      for (let i = 0; i < minutes * 30; i++) {
        clock.t += 2000;
        await d.k.request('status', []);
        await d.k.request((['thread', 'inbox', 'contacts'] as const)[i % 3]!, [{ name: 'bob_al' }] as never);
      }
    };
    await refresh(14);
    assert.equal(await d.k.lockIfIdle(), false, '14 of 15 minutes');
    await refresh(2);
    assert.equal(await d.k.lockIfIdle(), true, 'locked although the popup kept refreshing');
    await d.k.request('unlock', [{ passphrase: PASS }]);
    await refresh(10);
    await d.k.request('send', [{ name: 'bob_al', text: 'a person typed this' }]);
    await refresh(10);
    assert.equal(await d.k.lockIfIdle(), false, 'sending restarted the count');
    await d.k.request('touch', []); // a click in the popup
    await refresh(14);
    assert.equal(await d.k.lockIfIdle(), false, 'a click restarted the count');
    await refresh(2);
    assert.equal(await d.k.lockIfIdle(), true);
  } finally { await op.close(); }
});

test('names are case-folded: the folded name is registered and every view shows names in lower case', async () => {
  const op = await startTestOperator();
  try {
    const dana = await account(op.url, 'Dana_D');
    assert.equal((await dana.k.status()).name, 'dana_d');
    assert.equal((await op.client.lookup('dana_d')).record.name, 'dana_d', 'registered folded');
    assert.equal((await dana.k.contacts()).me.name, 'dana_d');
    // another client registered its name with capitals
    await rawKomrade('Erin_D').register(op.client);
    assert.equal((await op.client.lookup('erin_d')).record.name, 'Erin_D');
    assert.equal((await dana.k.addContact({ name: '@ERIN_D' })).name, 'erin_d');
    assert.deepEqual((await dana.k.contacts()).contacts.map((c) => c.name), ['erin_d']);
    assert.deepEqual((await dana.k.inbox()).map((c) => c.name), ['erin_d']);
    assert.equal((await dana.k.send({ name: 'Erin_D', text: 'hi' })).contact.name, 'erin_d');
  } finally { await op.close(); }
});

test('onboarding can be cancelled while it waits (a connection that never answers, the proof of work); nothing stays', async () => {
  // an "Operator" that accepts the connection and never answers: without a cancel this waits 90 s
  const hung = createServer(() => undefined).listen(0, '127.0.0.1');
  await new Promise((r) => hung.once('listening', r));
  const op = await startTestOperator({ powBits: 40 }); // work that would never finish
  try {
    const d = device();
    assert.equal(await d.k.cancelCreate(), false, 'nothing to cancel');
    const port = (hung.address() as { port: number }).port;
    const stuck = d.k.create({ operator: `http://127.0.0.1:${port}`, name: 'stuck', passphrase: PASS, allowLoopback: true });
    while (!(await d.k.cancelCreate())) await new Promise((r) => setTimeout(r, 10));
    await assert.rejects(stuck, userError(/Cancelled: nothing was registered/));
    assert.equal((await d.k.status()).phase, 'new');

    // cancelled during the proof of work: its intro mailbox (made just before) is deleted again
    const mailboxes = async () => (await snapshot(op)).filter((kv) => kv.startsWith('!m!')).length;
    const working = d.k.create({ operator: op.url, name: 'patient', passphrase: PASS, allowLoopback: true });
    while ((await mailboxes()) === 0) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await d.k.cancelCreate(), true);
    await assert.rejects(working, userError(/Cancelled/));
    while ((await mailboxes()) > 0) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await op.client.available('patient'), { available: true }, 'the name was not registered');
    assert.equal((await d.k.status()).phase, 'new');
    assert.equal(await d.k.cancelCreate(), false, 'a finished onboarding leaves nothing to cancel');
  } finally { hung.close(); await op.close(); }
});
