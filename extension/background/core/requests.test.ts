// Message requests and the block list; moving to another Operator is checked first; "make this
// the only copy" after a restore. In Node against a real Operator.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadThemis } from '../../../protocol/themis.ts';
import { pendingBlobs, startTestOperator } from '../../../test/support/operator.ts';
import { PASS, account, device, introduce, stateOf, userError } from '../../../test/support/addon.ts';

before(() => loadThemis());

test('a stranger lands in requests, not contacts; accept makes a contact with the messages; delete drops it', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_r'), bob = await account(op.url, 'bob_r'), carol = await account(op.url, 'carol_r');
    await alice.k.addContact({ name: 'bob_r' });
    await alice.k.send({ name: 'bob_r', text: 'hello stranger' });
    await alice.k.send({ name: 'bob_r', text: 'are you there?' });
    assert.equal((await bob.k.poll()).received, 2);
    assert.deepEqual((await bob.k.contacts()).contacts, [], 'not among contacts');
    assert.deepEqual(await bob.k.inbox(), [], 'not in the inbox');
    const st = await bob.k.status();
    assert.deepEqual([st.unread, st.requests], [0, 1], 'counted apart');
    const [req] = await bob.k.requests();
    assert.equal(req!.name, 'alice_r');
    assert.deepEqual(req!.messages.map((m) => m.text), ['hello stranger', 'are you there?']);
    assert.deepEqual(req!.safetyWords, (await alice.k.contacts()).me.safetyWords);
    assert.equal(await pendingBlobs(op), 0, 'acknowledged');

    const c = await bob.k.acceptRequest({ name: '@alice_r' });
    assert.equal(c.name, 'alice_r');
    assert.deepEqual(await bob.k.requests(), []);
    assert.equal((await bob.k.status()).unread, 2);
    assert.deepEqual((await bob.k.thread({ name: 'alice_r' })).messages.map((m) => m.text), ['hello stranger', 'are you there?']);
    await bob.k.send({ name: 'alice_r', text: 'hi, accepted' });
    assert.equal((await alice.k.poll()).received, 1);
    await assert.rejects(bob.k.acceptRequest({ name: 'alice_r' }), userError(/No request from @alice_r/));

    await carol.k.addContact({ name: 'bob_r' });
    await carol.k.send({ name: 'bob_r', text: 'spam' });
    await bob.k.poll();
    assert.equal((await bob.k.requests()).length, 1);
    assert.deepEqual(await bob.k.deleteRequest({ name: 'carol_r' }), []);
    assert.equal((await bob.k.status()).requests, 0);
    assert.ok(!(await bob.k.contacts()).contacts.some((x) => x.name === 'carol_r'));
  } finally { await op.close(); }
});

test('block: the request goes, the next message is dropped on receipt (acknowledged, never stored); unblock', async () => {
  const op = await startTestOperator();
  try {
    const bob = await account(op.url, 'bob_k'), mallory = await account(op.url, 'mallory_k');
    await mallory.k.addContact({ name: 'bob_k' });
    await mallory.k.send({ name: 'bob_k', text: 'buy now' });
    await bob.k.poll();
    assert.deepEqual(await bob.k.block({ name: 'mallory_k' }), ['mallory_k']);
    assert.deepEqual(await bob.k.requests(), [], 'blocking drops the request');
    assert.deepEqual(await bob.k.blocked(), ['mallory_k']);
    const before = JSON.stringify(await stateOf(bob));
    await mallory.k.send({ name: 'bob_k', text: 'buy now, again' });
    assert.equal((await bob.k.poll()).received, 0);
    assert.equal(await pendingBlobs(op), 0, 'acknowledged');
    assert.equal(JSON.stringify(await stateOf(bob)), before, 'nothing stored');
    assert.equal((await bob.k.status()).requests, 0);

    assert.deepEqual(await bob.k.unblock({ name: '@MALLORY_K' }), []);
    await mallory.k.send({ name: 'bob_k', text: 'third try' });
    assert.equal((await bob.k.poll()).received, 1);
    assert.deepEqual((await bob.k.requests())[0]!.messages.map((m) => m.text), ['third try']);
    await assert.rejects(bob.k.block({ name: 'no' }), userError(/3 to 32/));
  } finally { await op.close(); }
});

test('another Operator is checked before it is saved: unreachable or not Komrade is refused; a real one is saved', async () => {
  const op = await startTestOperator(), other = await startTestOperator();
  const web = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>a web page</h1>'));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  try {
    const alice = await account(op.url, 'alice_o');
    const s = await alice.k.settings();
    const closed = other.url; // a port that stops answering
    await other.close();
    await assert.rejects(alice.k.saveSettings({ ...s, operator: closed }), userError(/cannot be reached.*Nothing was saved/));
    await assert.rejects(alice.k.saveSettings({ ...s, operator: `http://127.0.0.1:${(web.address() as AddressInfo).port}` }), userError(/does not answer as a Komrade Operator/));
    assert.equal((await alice.k.settings()).operator, op.url, 'unchanged');
    // the same Operator, other settings: no check needed, saved
    assert.equal((await alice.k.saveSettings({ ...s, pollSeconds: 30 })).pollSeconds, 30);
    const third = await startTestOperator();
    try {
      assert.equal((await alice.k.saveSettings({ ...s, operator: third.url })).operator, third.url);
    } finally { await third.close(); }
  } finally { web.close(); await op.close(); }
});

test('make this the only copy: new mailboxes and prekey, contacts told by a control message, the old copy stops receiving', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_m'), bob = await account(op.url, 'bob_m');
    await introduce(alice, bob, { from: 'alice_m', to: 'bob_m' });
    await bob.k.send({ name: 'alice_m', text: 'hi back' });
    await alice.k.poll();
    const oldPrekey = (await op.client.lookup('alice_m')).record.prekey.id;
    const copy = device();
    await copy.k.restore({ backup: await alice.k.exportBackup(), passphrase: PASS });
    assert.equal((await copy.k.makeOnlyCopy()).queued, 0, 'the control messages went out');
    assert.notEqual((await op.client.lookup('alice_m')).record.prekey.id, oldPrekey, 'a new prekey is published');
    assert.equal((await bob.k.poll()).received, 0, 'a control message is not a message');
    assert.deepEqual((await bob.k.thread({ name: 'alice_m' })).messages.map((m) => m.text), ['hi', 'hi back'], 'and is not shown');
    await bob.k.send({ name: 'alice_m', text: 'where are you now?' });
    assert.equal((await alice.k.poll()).received, 0, 'the old copy no longer receives');
    assert.equal((await copy.k.poll()).received, 1, 'the restored copy does');
    await copy.k.send({ name: 'bob_m', text: 'here' });
    assert.equal((await bob.k.poll()).received, 1);
  } finally { await op.close(); }
});
