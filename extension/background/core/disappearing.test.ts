// Disappearing messages: a timer per conversation, carried in each message, adopted by the
// receiver, and enforced on both ends at poll and when a thread is opened.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account, userError, introduce } from '../../../test/support/addon.ts';

before(() => loadThemis());
const DAY = 86_400_000;

test('disappearing messages: set on one side, adopted by the other, erased on both after the time; off again', async () => {
  const op = await startTestOperator();
  try {
    const clock = { t: Date.now() };
    const now = () => clock.t;
    const alice = await account(op.url, 'alice_d', now), bob = await account(op.url, 'bob_d', now);
    await introduce(alice, bob, { from: 'alice_d', to: 'bob_d' }, 'this stays');
    await assert.rejects(alice.k.setDisappearing({ name: 'bob_d', seconds: 3600 }), userError(/1 day, 1 week or 4 weeks/));
    assert.equal((await alice.k.setDisappearing({ name: 'bob_d', seconds: 86_400 })).disappearing, 86_400);
    const sent = await alice.k.send({ name: 'bob_d', text: 'gone tomorrow' });
    assert.equal(sent.messages.at(-1)!.expires, clock.t + DAY);
    assert.equal((await bob.k.poll()).received, 1);
    let th = await bob.k.thread({ name: 'alice_d' });
    assert.equal(th.disappearing, 86_400, 'bob adopted alice\'s timer');
    assert.equal(th.messages.at(-1)!.expires, clock.t + DAY);
    await bob.k.send({ name: 'alice_d', text: 'my reply disappears too' });
    assert.equal((await alice.k.poll()).received, 1);
    assert.ok((await alice.k.thread({ name: 'bob_d' })).messages.at(-1)!.expires);

    clock.t += DAY + 1000;
    await bob.k.poll(); // bob erases at poll
    assert.deepEqual((await bob.k.inbox())[0]!.last?.text, 'this stays');
    th = await bob.k.thread({ name: 'alice_d' });
    assert.deepEqual(th.messages.map((m) => m.text), ['this stays']);
    th = await alice.k.thread({ name: 'bob_d' }); // alice erases when the thread is opened
    assert.deepEqual(th.messages.map((m) => m.text), ['this stays']);

    // off again: the next message says so, and bob follows
    await alice.k.setDisappearing({ name: 'bob_d', seconds: 0 });
    const kept = await alice.k.send({ name: 'bob_d', text: 'kept again' });
    assert.equal(kept.messages.at(-1)!.expires, undefined);
    await bob.k.poll();
    th = await bob.k.thread({ name: 'alice_d' });
    assert.equal(th.disappearing, 0);
    clock.t += 30 * DAY;
    await bob.k.poll();
    assert.deepEqual((await bob.k.thread({ name: 'alice_d' })).messages.map((m) => m.text), ['this stays', 'kept again']);
  } finally { await op.close(); }
});
