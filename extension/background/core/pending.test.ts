// Envelopes whose sender the directory cannot vouch for right now: kept, retried, dropped after the TTL.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { pendingBlobs, startTestOperator } from '../../../test/support/operator.ts';
import { forge } from '../../../test/forge.ts';
import { PENDING_TTL_MS } from '../komrade.ts';
import { account, gate as makeGate, stateOf } from '../../../test/support/addon.ts';

before(() => loadThemis());

test('an envelope whose sender the directory cannot vouch for right now (reset, 503) is kept, retried at each poll, and dropped after the TTL', async () => {
  const op = await startTestOperator();
  const gate = await makeGate(op.port);
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
    assert.equal((await alice.k.requests())[0]!.messages[0]!.text, 'first hello', 'a first contact is a request');
    await alice.k.acceptRequest({ name: 'bob_n' });
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
