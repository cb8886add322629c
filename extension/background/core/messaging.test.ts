// Messages in Node against a real Operator: delivery, pairwise mailboxes, outages, spread-out polls.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { Komrade } from '../komrade.ts';
import { pendingBlobs, startTestOperator } from '../../../test/support/operator.ts';
import { account } from '../../../test/support/addon.ts';

before(() => loadThemis());

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
    assert.deepEqual([(await bob.k.status()).unread, (await bob.k.status()).requests], [0, 1], 'a first contact is a request, not unread');
    assert.equal((await bob.k.requests())[0]!.safetyWords.join(' '), (await alice.k.contacts()).me.safetyWords.join(' '));
    await bob.k.acceptRequest({ name: 'alice' });
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
    assert.equal((await alice.k.poll()).received, 0, 'bob\'s delivery receipt is no message');
    assert.equal(await pendingBlobs(op), 0, 'after both read, the Operator holds no message');
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
    await bob.k.acceptRequest({ name: 'alice' }); await bob.k.acceptRequest({ name: 'carol' });
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
    assert.equal(await pendingBlobs(op), 3, 'only the message sent during the pause waits for alice, with bob\'s receipts to alice and carol');
  } finally { await op.close(); }
});
