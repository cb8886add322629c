// A stranger's claim across Operators (PROTOCOL.md §11): a name is a komrade only together with
// its Operator, a claimed home decides where the sender is looked up (and the key must match
// there), a loopback home is refused outside developer mode before anything is asked of it, and
// a komrade of another Operator can be blocked by their full address.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorClient } from '../../../protocol/client.ts';
import { fingerprint } from '../../../protocol/invite.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account, editAccount } from '../../../test/support/addon.ts';
import { LogState, monitorPoll } from './transparency.ts';

before(() => loadThemis());

test('the same name on two Operators is two komrades; a home claimed falsely is a forgery; loopback homes need developer mode; blocking by full address', { timeout: 120_000 }, async () => {
  const A = await startTestOperator(), B = await startTestOperator(), C = await startTestOperator();
  const host = (op: { url: string }) => op.url.replace('http://', '');
  const asked: string[] = [];
  const client = (base: string) => { asked.push(base); return new OperatorClient(base); };
  try {
    const alice = await account(A.url, 'alice_x', undefined, { client });
    const bob = await account(B.url, 'bob_x', undefined, { client });
    const mallory = await account(C.url, 'alice_x', undefined, { client }); // the same name, on C
    const aliceAt = `alice_x@${host(A)}`, malloryAt = `alice_x@${host(C)}`, bobAt = `bob_x@${host(B)}`;

    await alice.k.addContact({ name: `@${bobAt}` });
    await alice.k.send({ name: bobAt, text: 'from the real alice' });
    await bob.k.poll();
    await bob.k.acceptRequest({ name: aliceAt });

    // mallory, @alice_x on C, writes to bob: a request from alice_x@C, never alice@A's thread
    await mallory.k.addContact({ name: `@${bobAt}` });
    await mallory.k.send({ name: bobAt, text: 'from C' });
    assert.equal((await bob.k.poll()).received, 1);
    assert.deepEqual((await bob.k.requests()).map((r) => r.name), [malloryAt]);
    assert.deepEqual((await bob.k.thread({ name: aliceAt })).messages.map((m) => m.text), ['from the real alice']);

    // mallory claims A as her home: bob looks alice_x up at A, whose key is not mallory's: a forgery, noted quietly
    await editAccount(mallory, (a) => { a.operator = A.url; });
    await mallory.k.send({ name: bobAt, text: 'I am alice of A' });
    assert.equal((await bob.k.poll()).received, 0);
    const thread = (await bob.k.thread({ name: aliceAt })).messages;
    assert.equal(thread.at(-1)!.notice, 'forged');
    assert.ok(!thread.some((m) => m.text === 'I am alice of A'));
    await editAccount(mallory, (a) => { a.operator = C.url; });

    // blocked by full address: mallory's next message is dropped, the real alice still arrives
    assert.deepEqual(await bob.k.block({ name: `@${malloryAt}` }), [malloryAt]);
    await mallory.k.send({ name: bobAt, text: 'blocked?' });
    await alice.k.send({ name: bobAt, text: 'still me' });
    assert.equal((await bob.k.poll()).received, 1);
    assert.equal((await bob.k.requests()).length, 0);
    await assert.rejects(bob.k.block({ name: '@alice_x@example.com' }), /onion/);

    // key transparency per Operator: a log of B's that does not verify is an alarm naming B, on the status line
    const store = await alice.k.ctx.store(), kB = `transparency@${host(B)}`;
    await account(B.url, 'carl_x');
    await store.r.put(kB, { ...(await store.r.get(kB, LogState))!, vkey: (await C.client.info()).checkpointKey });
    await assert.rejects(alice.k.addContact({ name: `@carl_x@${host(B)}` }), /Key transparency/);
    const alarms = (await alice.k.status()).logAlarms ?? [];
    assert.equal(alarms.length, 1);
    assert.match(alarms[0]!.message, new RegExp(`^the Operator ${host(B).replaceAll('.', '\\.')}: `));

    // outside developer mode a loopback home is refused before any request is made to it
    await bob.k.unblock({ name: malloryAt });
    await editAccount(bob, (a) => { a.settings.allowLoopback = false; });
    await mallory.k.send({ name: bobAt, text: 'via loopback' });
    asked.length = 0;
    assert.equal((await bob.k.poll()).received, 0);
    assert.ok(!asked.includes(C.url), 'bob asked nothing of C');
    assert.equal((await bob.k.requests()).length, 0);
  } finally { for (const op of [A, B, C]) await op.close(); }
});

test('on the schedule: a slot carries mail to the other Operator; a first contact from there is looked up at its home at its own time, not at the fetch', { timeout: 120_000 }, async () => {
  const A = await startTestOperator(), B = await startTestOperator();
  const host = (op: { url: string }) => op.url.replace('http://', '');
  const asked: string[] = [];
  const client = (base: string) => { asked.push(base); return new OperatorClient(base); };
  try {
    const alice = await account(A.url, 'alice_s', undefined, { client, scheduled: true });
    const bob = await account(B.url, 'bob_s', undefined, { client, scheduled: true });
    const aliceAt = `alice_s@${host(A)}`, bobAt = `bob_s@${host(B)}`;
    await alice.k.addContact({ name: `@${bobAt}` });
    await alice.k.ctx.serial(() => monitorPoll(alice.k.ctx)); // alice has seen a checkpoint of A's log: her messages gossip it
    assert.equal((await alice.k.send({ name: bobAt, text: 'on the schedule' })).messages[0]!.state, 'queued');
    await alice.k.slot(Math.random);
    assert.equal((await alice.k.status()).queued, 0, 'the slot took it to B');

    const intro = (await (await bob.k.ctx.store()).account()).me.intro.id;
    asked.length = 0;
    assert.equal(await bob.k.fetchOne(intro), true, 'it waits for a look-up');
    assert.ok(!asked.includes(A.url), 'nothing is asked of A right after the fetch');
    await bob.k.lookups();
    assert.ok(asked.includes(A.url), 'alice is looked up at A, at the look-up’s own time');
    assert.deepEqual((await bob.k.requests()).map((r) => r.name), [aliceAt]);
    await bob.k.acceptRequest({ name: aliceAt });
    await bob.k.send({ name: aliceAt, text: 'back to A' });
    for (let i = 0; i < 2; i++) await bob.k.slot(Math.random); // the delivery receipt for alice's message, then the reply
    assert.equal((await bob.k.status()).queued, 0);
    const inbox = (await (await alice.k.ctx.store()).contact(bobAt))!.inbox;
    await alice.k.fetchOne(inbox);
    assert.deepEqual((await alice.k.thread({ name: bobAt })).messages.map((m) => m.text), ['on the schedule', 'back to A']);
  } finally { for (const op of [A, B]) await op.close(); }
});

test('an invite from another Operator pasted as an address: the inviter is added at their Operator only if its directory has the key the invite names', { timeout: 60_000 }, async () => {
  const A = await startTestOperator(), C = await startTestOperator();
  const host = (op: { url: string }) => op.url.replace('http://', '');
  try {
    const alice = await account(A.url, 'alice_i'), carol = await account(C.url, 'carol_i'), mallory = await account(C.url, 'mallory_i');
    const invite = await carol.k.myInvite();
    const forged = invite.replace(/key=[^&]+/, `key=${fingerprint((await (await mallory.k.ctx.store()).account()).me.identity.pub)}`);
    await assert.rejects(alice.k.addContact({ name: forged }), /different key for @carol_i@.*Nobody was added/s);
    await assert.rejects(alice.k.addContact({ name: `${C.url}/#komrade-invite=1` }), /names nobody/);
    assert.equal((await alice.k.contacts()).contacts.length, 0, 'nothing was added');
    const added = await alice.k.addContact({ name: invite });
    assert.deepEqual([added.name, added.operator], [`carol_i@${host(C)}`, host(C)]);
    assert.deepEqual(added.safetyWords, (await carol.k.contacts()).me.safetyWords);
    await editAccount(alice, (a) => { a.settings.allowLoopback = false; });
    await assert.rejects(alice.k.addContact({ name: await mallory.k.myInvite() }), /developer option/);
  } finally { for (const op of [A, C]) await op.close(); }
});
