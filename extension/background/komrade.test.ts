// The add-on's background logic in Node, with real wasm-themis and a real Operator on
// LevelDB: onboarding, contacts, pairwise mailboxes, delivery, locking, outages, key changes,
// prekey rotation, backups.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../protocol/themis.ts';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { b64, randomBytes, unb64 } from '../../protocol/bytes.ts';
import { OperatorError } from '../../protocol/client.ts';
import { open, seal } from '../../protocol/envelope.ts';
import { KeyPair, privateKey } from '../../protocol/themis.ts';
import { startTestOperator, pendingBlobs, komrade as rawKomrade } from '../../operator/testing.ts';
import { forge } from '../../test/forge.ts';
import { Komrade, explain, isActivity, PREKEY_ROTATE_MS, PREKEY_GRACE_MS, PENDING_TTL_MS } from './komrade.ts';
import type { State } from './state.ts';
import { memoryKV } from './vault.ts';

before(() => loadThemis());

const PASS = 'correct horse battery staple';
function device(now?: () => number) {
  const local = memoryKV(), session = memoryKV();
  return { local, session, k: new Komrade({ local, session, now }) };
}
async function account(url: string, name: string, now?: () => number) {
  const d = device(now);
  await d.k.create({ operator: url, name, passphrase: PASS, allowLoopback: true });
  return d;
}
const userError = (re: RegExp) => (e: unknown) => re.test(explain(e));

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
    const s = await (await account(op.url, 'bob')).k.status();
    assert.equal(s.phase, 'unlocked');
    assert.equal(s.name, 'bob');
  } finally { await op.close(); }
});

test('alice and bob: same safety words, message and reply, pairwise mailboxes, Operator forgets', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob');
    const bobSeen = await alice.k.addContact({ name: '@bob' });
    assert.deepEqual(bobSeen.safetyWords, (await bob.k.contacts()).me.safetyWords, 'alice sees the words bob sees for himself');
    const payload = '<script>alert(1)</script> hello';
    const t = await alice.k.send({ name: 'bob', text: payload });
    assert.equal(t.messages[0]!.state, 'sent');
    assert.equal((await bob.k.poll()).received, 1);
    assert.equal((await bob.k.status()).unread, 1);
    const inbox = await bob.k.inbox();
    assert.equal(inbox[0]!.name, 'alice');
    assert.equal(inbox[0]!.last!.text, payload);
    assert.deepEqual((await bob.k.contacts()).contacts[0]!.safetyWords, (await alice.k.contacts()).me.safetyWords);
    const thread = await bob.k.thread({ name: 'alice' });
    assert.equal(thread.messages[0]!.text, payload);
    assert.equal((await bob.k.status()).unread, 0, 'reading marks read');

    await bob.k.send({ name: 'alice', text: 'hi alice' });
    assert.equal((await alice.k.poll()).received, 1);
    assert.equal((await alice.k.thread({ name: 'bob' })).messages.map((m) => m.text).join('|'), `${payload}|hi alice`);

    // from now on alice writes to the mailbox bob made for her, not to his intro
    const bobIntro = (await op.client.lookup('bob')).record.intro;
    await alice.k.send({ name: 'bob', text: 'second' });
    assert.equal(await pendingBlobs(op, bobIntro), 0, 'the intro mailbox saw only the first contact');
    assert.equal((await bob.k.poll()).received, 1);
    assert.equal(await pendingBlobs(op), 0, 'after both read, the Operator holds no message');
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

test('Operator down: the message stays queued and goes out when it returns', async () => {
  let op = await startTestOperator();
  const { port, dataDir } = op;
  try {
    const alice = await account(op.url, 'alice_q'), bob = await account(op.url, 'bob_q');
    await alice.k.addContact({ name: 'bob_q' });
    await op.close();
    const t = await alice.k.send({ name: 'bob_q', text: 'are you there?' });
    assert.equal(t.messages[0]!.state, 'queued');
    const s = await alice.k.status();
    assert.equal(s.queued, 1);
    assert.equal(s.operator!.reachable, false);
    await alice.k.retry();
    assert.equal((await alice.k.status()).queued, 1, 'still queued while down');
    // a restart of the background keeps the outbox (it is in the vault)
    const again = new Komrade({ local: alice.local, session: alice.session });
    op = await startTestOperator({ port, dataDir });
    await again.retry();
    assert.equal((await again.status()).queued, 0);
    assert.equal((await again.thread({ name: 'bob_q' })).messages[0]!.state, 'sent');
    assert.equal((await again.status()).operator!.reachable, true);
    assert.equal((await bob.k.poll()).received, 1);
  } finally { await op.close(); }
});

test('a changed key warns and blocks sending until accepted', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_k'), bob = await account(op.url, 'bob_k');
    await alice.k.addContact({ name: 'bob_k' });
    const before = (await alice.k.contacts()).contacts[0]!;
    await alice.k.setVerified({ name: 'bob_k', verified: true });
    // bob loses his device, deletes the account and starts again under the same name
    await bob.k.deleteAccount({ passphrase: PASS });
    const bob2 = await account(op.url, 'bob_k');
    await bob2.k.addContact({ name: 'alice_k' });
    await bob2.k.send({ name: 'alice_k', text: 'new phone, same bob' });
    assert.equal((await alice.k.poll()).received, 1);
    const c = (await alice.k.contacts()).contacts[0]!;
    assert.ok(c.keyChanged, 'the contact shows a changed key');
    assert.notDeepEqual(c.keyChanged!.safetyWords, before.safetyWords);
    assert.equal((await alice.k.inbox())[0]!.keyChanged, true);
    const th = await alice.k.thread({ name: 'bob_k' });
    assert.equal(th.messages.at(-1)!.newKey, true);
    await assert.rejects(alice.k.send({ name: 'bob_k', text: 'x' }), userError(/key changed/));
    const accepted = await alice.k.acceptKey({ name: 'bob_k' });
    assert.equal(accepted.verified, false, 'a new key starts unverified');
    assert.deepEqual(accepted.safetyWords, (await bob2.k.contacts()).me.safetyWords);
    await alice.k.send({ name: 'bob_k', text: 'welcome back' });
    assert.equal((await bob2.k.poll()).received, 1);
  } finally { await op.close(); }
});

test('a first message from a key the directory does not vouch for is dropped', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_i'), mallory = await account(op.url, 'mallory_i');
    await account(op.url, 'carol_i');
    // mallory adds alice and sends, but claims to be carol by editing her own name in the vault
    await mallory.k.addContact({ name: 'alice_i' });
    const st = (await mallory.k.vault.load()) as { me: { name: string } };
    st.me.name = 'carol_i';
    await mallory.k.vault.save(st);
    await mallory.k.send({ name: 'alice_i', text: 'this is carol, honest' });
    assert.equal((await alice.k.poll()).received, 0);
    assert.deepEqual(await alice.k.inbox(), []);
  } finally { await op.close(); }
});

test('prekeys rotate weekly and old private halves are erased after the grace period', async () => {
  const op = await startTestOperator();
  try {
    const clock = { t: Date.now() };
    const now = () => clock.t;
    const alice = await account(op.url, 'alice_p', now), bob = await account(op.url, 'bob_p', now);
    await alice.k.addContact({ name: 'bob_p' });
    const firstPrekey = (await op.client.lookup('bob_p')).record.prekey.id;
    clock.t += PREKEY_ROTATE_MS + 1000;
    await bob.k.poll();
    const rotated = (await op.client.lookup('bob_p')).record.prekey.id;
    assert.notEqual(rotated, firstPrekey, 'bob published a new prekey');
    // alice still seals to the old one (she has not heard from bob): bob can open it within the grace period
    await alice.k.send({ name: 'bob_p', text: 'to the old prekey' });
    assert.equal((await bob.k.poll()).received, 1);
    const state = async () => (await bob.k.vault.load()) as { prekeys: { id: string }[] };
    assert.deepEqual((await state()).prekeys.map((p) => p.id), [firstPrekey, rotated]);
    clock.t += PREKEY_GRACE_MS + 1000;
    await bob.k.poll();
    assert.ok(!(await state()).prekeys.some((p) => p.id === firstPrekey), 'the retired prekey was erased');
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

test('background polls spread their fetches over random pauses, and the popup never waits for them', { timeout: 60_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob'), carol = await account(op.url, 'carol');
    // bob talks with alice and carol: his intro plus one mailbox for each of them
    await alice.k.addContact({ name: 'bob' });
    await carol.k.addContact({ name: 'bob' });
    await alice.k.send({ name: 'bob', text: 'hi from alice' });
    await carol.k.send({ name: 'bob', text: 'hi from carol' });
    assert.equal((await bob.k.poll()).received, 2);
    await bob.k.send({ name: 'alice', text: 'hi alice' });
    await bob.k.send({ name: 'carol', text: 'hi carol' });
    await alice.k.poll(); await carol.k.poll();
    await alice.k.send({ name: 'bob', text: 'second from alice' });
    await carol.k.send({ name: 'bob', text: 'second from carol' });

    // the background's view of bob's (unlocked) device, with pauses the test releases
    const pauses: number[] = [];
    let release = () => {};
    const bg = new Komrade({ local: bob.local, session: bob.session, sleep: (ms) => { pauses.push(ms); return new Promise((r) => { release = r; }); } });
    const until = async (ok: () => boolean) => { for (let i = 0; !ok(); i++) { assert.ok(i < 1000, 'the poll never paused'); await new Promise((r) => setTimeout(r, 5)); } };
    const polling = bg.poll({ spreadMs: 3000 });
    await until(() => pauses.length === 1);
    const t = await bg.send({ name: 'alice', text: 'sent while the poll waits' });
    assert.equal(t.messages.at(-1)!.state, 'sent', 'the state lock is free during a pause');
    release();
    await until(() => pauses.length === 2);
    release();
    assert.equal((await polling).received, 2, 'both pairwise mailboxes were fetched');
    assert.equal(pauses.length, 2, 'three mailboxes, two pauses between them');
    assert.ok(pauses.every((ms) => ms >= 0 && ms < 2 * 3000 / 3), `pauses within the spread: ${pauses.join(', ')}`);
    assert.equal(await pendingBlobs(op), 1, 'only the message sent during the pause waits, for alice');
  } finally { await op.close(); }
});

const stateOf = async (d: { k: Komrade }) => (await d.k.vault.load()) as State;

test('a forged message for a contact (another key, not in the directory) is refused with a quiet notice; sending still reaches the real bob', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_f'), bob = await account(op.url, 'bob_f');
    await alice.k.addContact({ name: 'bob_f' });
    await alice.k.setVerified({ name: 'bob_f', verified: true });
    await bob.k.addContact({ name: 'alice_f' });
    await bob.k.send({ name: 'alice_f', text: 'hi alice' });
    assert.equal((await alice.k.poll()).received, 1);
    await alice.k.thread({ name: 'bob_f' });
    const before = (await alice.k.contacts()).contacts[0]!;

    // mallory, with no name of her own, seals a message signed by her key claiming to be bob
    const { intro } = await forge(op.client, { to: 'alice_f', from: 'bob_f', text: 'FORGED: bob here, new key' });
    assert.equal((await alice.k.poll()).received, 0, 'the forgery is not a message');
    assert.equal(await pendingBlobs(op, intro), 0, 'it was acknowledged (gone from the Operator)');
    const c = (await alice.k.contacts()).contacts[0]!;
    assert.equal(c.keyChanged, undefined, 'no key-change warning');
    assert.equal(c.verified, true);
    assert.deepEqual(c.safetyWords, before.safetyWords, 'the stored key is untouched');
    const inbox = await alice.k.inbox();
    assert.equal(inbox[0]!.keyChanged, false);
    assert.equal(inbox[0]!.last!.text, 'hi alice', 'the notice is not shown as the last message');
    assert.equal((await alice.k.status()).unread, 0, 'a quiet notice: not unread');
    let th = await alice.k.thread({ name: 'bob_f' });
    assert.equal(th.messages.at(-1)!.notice, 'forged', 'the thread shows that a forgery was refused');
    assert.equal(th.messages.at(-1)!.count, 1);
    assert.ok(!JSON.stringify(await stateOf(alice)).includes('FORGED'), 'the forged text is kept nowhere');

    // again, with the name in capitals: the same note counts two
    await forge(op.client, { to: 'alice_f', from: 'BOB_F', text: 'FORGED again' });
    assert.equal((await alice.k.poll()).received, 0);
    th = await alice.k.thread({ name: 'bob_f' });
    assert.equal(th.messages.filter((m) => m.notice).length, 1);
    assert.equal(th.messages.at(-1)!.count, 2);
    assert.equal(th.contact.keyChanged, undefined);

    // sending to bob is not blocked and reaches the real bob
    const sent = await alice.k.send({ name: 'bob_f', text: 'are you really bob?' });
    assert.equal(sent.messages.at(-1)!.state, 'sent');
    assert.equal((await bob.k.poll()).received, 1);
    assert.equal((await bob.k.thread({ name: 'alice_f' })).messages.at(-1)!.text, 'are you really bob?');
  } finally { await op.close(); }
});

test('a genuine key change (the directory lists the new key) is pending: refuse keeps the old key and unblocks sending, accept takes the new one; the old key cannot clear it', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_r'), bob = await account(op.url, 'bob_r');
    await alice.k.addContact({ name: 'bob_r' });
    await alice.k.setVerified({ name: 'bob_r', verified: true });
    const before = (await alice.k.contacts()).contacts[0]!;
    const oldIdentity = (await stateOf(bob)).me.identity;

    await bob.k.deleteAccount({ passphrase: PASS });
    assert.equal((await bob.k.status()).phase, 'new', 'deleteAccount wiped the device');
    await assert.rejects(op.client.lookup('bob_r'), (e) => e instanceof OperatorError && e.status === 404, 'and the name');
    const bob2 = await account(op.url, 'bob_r');
    await bob2.k.addContact({ name: 'alice_r' });
    await bob2.k.send({ name: 'alice_r', text: 'new phone, same bob' });
    assert.equal((await alice.k.poll()).received, 1);
    let c = (await alice.k.contacts()).contacts[0]!;
    assert.ok(c.keyChanged, 'pending');
    assert.equal(c.verified, false, '"verified" is not shown while a change is pending');
    assert.deepEqual(c.keyChanged!.safetyWords, (await bob2.k.contacts()).me.safetyWords);
    await assert.rejects(alice.k.setVerified({ name: 'bob_r', verified: true }), userError(/Accept or refuse/));
    await assert.rejects(alice.k.send({ name: 'bob_r', text: 'x' }), userError(/key changed/));

    // a late message signed by the OLD key (into the mailbox alice made for bob) is filed, marked,
    // and neither clears nor replaces the pending change
    const a = await stateOf(alice);
    const oldBox = b64(randomBytes(16)), oldBoxKeys = new KeyPair(), oldPrekey = new KeyPair(), oldPrekeyId = b64(randomBytes(8));
    await op.client.createMailbox(oldBox, oldBoxKeys);
    const current = a.prekeys.at(-1)!;
    const { blob } = seal({
      senderIdentity: { privateKey: privateKey(unb64(oldIdentity.priv)), publicKey: unb64(oldIdentity.pub) },
      recipientIdentityKey: unb64(a.me.identity.pub), prekey: { id: current.id, key: unb64(current.pub) },
      body: { kind: 'msg', from: 'bob_r', text: 'old key here', replyTo: oldBox, prekey: { id: oldPrekeyId, key: b64(oldPrekey.publicKey) } },
    });
    await op.client.deposit(a.contacts.bob_r!.inbox, blob);
    assert.equal((await alice.k.poll()).received, 1);
    c = (await alice.k.contacts()).contacts[0]!;
    assert.deepEqual(c.keyChanged?.safetyWords, (await bob2.k.contacts()).me.safetyWords, 'still pending, same new key');
    assert.deepEqual(c.safetyWords, before.safetyWords);
    const th = await alice.k.thread({ name: 'bob_r' });
    assert.equal(th.messages.at(-1)!.text, 'old key here');
    assert.equal(th.messages.at(-1)!.oldKey, true);
    await assert.rejects(alice.k.send({ name: 'bob_r', text: 'x' }), userError(/key changed/), 'still blocked');

    // refuse: the old key stays, verified as before, and sending works again (to the old key)
    const refused = await alice.k.refuseKey({ name: 'bob_r' });
    assert.equal(refused.keyChanged, undefined);
    assert.deepEqual(refused.safetyWords, before.safetyWords);
    assert.equal(refused.verified, true);
    assert.equal((await alice.k.inbox())[0]!.keyChanged, false);
    await assert.rejects(alice.k.refuseKey({ name: 'bob_r' }), userError(/No new key/));
    const sent = await alice.k.send({ name: 'bob_r', text: 'to the key I know' });
    assert.equal(sent.messages.at(-1)!.state, 'sent');
    const got = await op.client.fetchBlobs(oldBox, oldBoxKeys.privateKey);
    const opened = open(got.blobs[0]!.blob, { prekey: (id) => (id === oldPrekeyId ? oldPrekey.privateKey : undefined), myIdentityKey: unb64(oldIdentity.pub), seen: () => false, now: Date.now() });
    assert.equal((opened.body as { text: string }).text, 'to the key I know', 'sealed to the old key');

    // the new key writes again: pending again; this time alice accepts
    await bob2.k.send({ name: 'alice_r', text: 'it really is me' });
    assert.equal((await alice.k.poll()).received, 1);
    assert.ok((await alice.k.contacts()).contacts[0]!.keyChanged);
    const accepted = await alice.k.acceptKey({ name: 'bob_r' });
    assert.deepEqual(accepted.safetyWords, (await bob2.k.contacts()).me.safetyWords);
    assert.equal(accepted.verified, false);
    await alice.k.send({ name: 'bob_r', text: 'welcome back' });
    assert.equal((await bob2.k.poll()).received, 1);
    assert.equal((await bob2.k.thread({ name: 'alice_r' })).messages.at(-1)!.text, 'welcome back');
  } finally { await op.close(); }
});

/** A loopback HTTP gate in front of the Operator that can make directory lookups (GET /v2/names/…) fail: the connection is reset (status 0) or answered 503. */
async function directoryGate(port: number) {
  const g = { mode: 'up' as 'up' | 'reset' | '503', refused: 0, url: '', close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }) };
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/v2/names/') && g.mode !== 'up') {
      g.refused++;
      if (g.mode === 'reset') { req.socket.destroy(); return; }
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'directory unavailable' }));
      return;
    }
    const up = request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (r) => { res.writeHead(r.statusCode!, r.headers); r.pipe(res); });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  g.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(g, { server });
}

test('an envelope whose sender the directory cannot vouch for right now (reset, 503) is kept, retried at each poll, and dropped after the TTL', async () => {
  const op = await startTestOperator();
  const gate = await directoryGate(op.port);
  try {
    const clock = { t: Date.now() };
    const now = () => clock.t;
    // alice reaches the Operator through the gate; the others directly
    const alice = await account(gate.url, 'alice_n', now), bob = await account(op.url, 'bob_n', now);
    const aliceIntro = (await op.client.lookup('alice_n')).record.intro;
    await bob.k.addContact({ name: 'alice_n' });
    await bob.k.send({ name: 'alice_n', text: 'first hello' });

    gate.mode = 'reset';
    assert.equal((await alice.k.poll()).received, 0);
    assert.ok(gate.refused > 0, 'the lookup really failed');
    assert.equal((await stateOf(alice)).pendingFirst.length, 1, 'kept in the vault');
    assert.equal(await pendingBlobs(op, aliceIntro), 0, 'and acknowledged');
    assert.deepEqual(await alice.k.inbox(), []);
    gate.mode = '503';
    assert.equal((await alice.k.poll()).received, 0);
    assert.equal((await stateOf(alice)).pendingFirst.length, 1, 'still kept after a 503');
    gate.mode = 'up';
    assert.equal((await alice.k.poll()).received, 1, 'filed once the directory answers');
    assert.equal((await stateOf(alice)).pendingFirst.length, 0);
    assert.equal((await alice.k.thread({ name: 'bob_n' })).messages[0]!.text, 'first hello');
    await alice.k.send({ name: 'bob_n', text: 'got it' });
    assert.equal((await bob.k.poll()).received, 1);

    // a different key for a contact while the directory is down: kept, decided later (here: a forgery)
    gate.mode = 'reset';
    await forge(op.client, { to: 'alice_n', from: 'bob_n', text: 'FORGED while down' });
    assert.equal((await alice.k.poll()).received, 0);
    assert.equal((await stateOf(alice)).pendingFirst.length, 1);
    assert.ok(!(await alice.k.thread({ name: 'bob_n' })).messages.some((m) => m.notice), 'not decided yet');
    gate.mode = 'up';
    assert.equal((await alice.k.poll()).received, 0);
    assert.equal((await stateOf(alice)).pendingFirst.length, 0);
    assert.equal((await alice.k.thread({ name: 'bob_n' })).messages.at(-1)!.notice, 'forged');
    assert.equal((await alice.k.contacts()).contacts[0]!.keyChanged, undefined);

    // past the TTL an undecided envelope is dropped
    const carol = await account(op.url, 'carol_n', now);
    await carol.k.addContact({ name: 'alice_n' });
    await carol.k.send({ name: 'alice_n', text: 'too late' });
    gate.mode = 'reset';
    assert.equal((await alice.k.poll()).received, 0);
    assert.equal((await stateOf(alice)).pendingFirst.length, 1);
    clock.t += PENDING_TTL_MS + 60_000;
    gate.mode = 'up';
    assert.equal((await alice.k.poll()).received, 0);
    assert.equal((await stateOf(alice)).pendingFirst.length, 0);
    assert.ok(!(await alice.k.inbox()).some((x) => x.name === 'carol_n'), 'dropped after the TTL');
  } finally { await gate.close(); await op.close(); }
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
