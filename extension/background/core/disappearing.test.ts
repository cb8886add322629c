// Disappearing messages: a timer per conversation, carried in each message, adopted by the
// receiver, and enforced on both ends at poll and when a thread is opened; each change is noted
// in both threads ("alice set messages to disappear after 1 day"), once.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account, userError, introduce } from '../../../test/support/addon.ts';

before(() => loadThemis());
const DAY = 86_400_000;
/** A thread as its texts, a timer notice as "timer <dir> <seconds>". */
const shown = (th: { messages: { text: string; notice?: string; dir: string; seconds?: number }[] }) =>
  th.messages.map((m) => (m.notice === 'timer' ? `timer ${m.dir} ${m.seconds}` : m.text));

test('disappearing messages: set on one side, adopted by the other, erased on both after the time; off again', async () => {
  const op = await startTestOperator();
  try {
    const clock = { t: Date.now() };
    const now = () => clock.t;
    const alice = await account(op.url, 'alice_d', now), bob = await account(op.url, 'bob_d', now);
    await introduce(alice, bob, { from: 'alice_d', to: 'bob_d' }, 'this stays');
    await assert.rejects(alice.k.setDisappearing({ name: 'bob_d', seconds: 1234 }), userError(/5 minutes, 1 hour, 8 hours, 1 day, 1 week or 4 weeks/));
    assert.equal((await alice.k.setDisappearing({ name: 'bob_d', seconds: 86_400 })).disappearing, 86_400);
    assert.deepEqual(shown(await alice.k.setDisappearing({ name: 'bob_d', seconds: 86_400 })), ['this stays', 'timer out 86400'], 'noted once in alice\'s thread');
    const sent = await alice.k.send({ name: 'bob_d', text: 'gone tomorrow' });
    assert.equal(sent.messages.at(-1)!.expires, clock.t + DAY);
    assert.equal((await bob.k.poll()).received, 1);
    let th = await bob.k.thread({ name: 'alice_d' });
    assert.equal(th.disappearing, 86_400, 'bob adopted alice\'s timer');
    assert.deepEqual(shown(th), ['this stays', 'timer in 86400', 'gone tomorrow'], 'and his thread says so before her message');
    assert.equal(th.messages.at(-1)!.expires, clock.t + DAY);
    await bob.k.send({ name: 'alice_d', text: 'my reply disappears too' });
    assert.equal((await alice.k.poll()).received, 1);
    assert.ok((await alice.k.thread({ name: 'bob_d' })).messages.at(-1)!.expires);

    clock.t += DAY + 1000;
    await bob.k.poll(); // bob erases at poll
    assert.deepEqual((await bob.k.inbox())[0]!.last?.text, 'this stays');
    th = await bob.k.thread({ name: 'alice_d' });
    assert.deepEqual(shown(th), ['this stays', 'timer in 86400']);
    th = await alice.k.thread({ name: 'bob_d' }); // alice erases when the thread is opened
    assert.deepEqual(shown(th), ['this stays', 'timer out 86400']);

    // off again: the next message says so, and bob follows
    await alice.k.setDisappearing({ name: 'bob_d', seconds: 0 });
    const kept = await alice.k.send({ name: 'bob_d', text: 'kept again' });
    assert.equal(kept.messages.at(-1)!.expires, undefined);
    await bob.k.poll();
    th = await bob.k.thread({ name: 'alice_d' });
    assert.equal(th.disappearing, 0);
    clock.t += 30 * DAY;
    await bob.k.poll();
    assert.deepEqual(shown(await bob.k.thread({ name: 'alice_d' })), ['this stays', 'timer in 86400', 'timer in 0', 'kept again']);
    assert.deepEqual(shown(await alice.k.thread({ name: 'bob_d' })), ['this stays', 'timer out 86400', 'timer out 0', 'kept again']);
    // the shorter timers: 5 minutes, 1 hour, 8 hours
    for (const seconds of [300, 3_600, 28_800]) assert.equal((await alice.k.setDisappearing({ name: 'bob_d', seconds })).disappearing, seconds);
  } finally { await op.close(); }
});
