// Delivery receipts (END-TO-END.md, "Delivery receipts") in Node against a real Operator: filed → receipt → "delivered"; off in Settings → none sent, none shown; only from the contact's own key.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { pendingBlobs, startTestOperator } from '../../../test/support/operator.ts';
import { account, introduce } from '../../../test/support/addon.ts';
import type { Komrade } from '../komrade.ts';

before(() => loadThemis());

const states = async (k: Komrade, name: string) => (await k.thread({ name })).messages.filter((m) => m.dir === 'out').map((m) => `${m.text}:${m.state}`);
const receiptsOff = async (k: Komrade) => { await k.saveSettings({ ...(await k.settings()), receipts: false }); };

test('a filed message sends a receipt: the sender\'s "sent" becomes "delivered"; accepting a request sends them for what it held', { timeout: 60_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_r'), bob = await account(op.url, 'bob_r');
    assert.equal((await bob.k.settings()).receipts, true, 'on by default');
    await introduce(alice, bob, { from: 'alice_r', to: 'bob_r' }, 'first');
    assert.deepEqual(await states(alice.k, 'bob_r'), ['first:sent'], 'no receipt for a request until it is accepted');
    await bob.k.retry(); // accepting queued the receipt for the request's message
    await alice.k.poll();
    assert.deepEqual(await states(alice.k, 'bob_r'), ['first:delivered']);
    const sent = await alice.k.send({ name: 'bob_r', text: 'second' });
    assert.equal(sent.messages.at(-1)!.state, 'sent');
    assert.equal((await bob.k.poll()).received, 1);
    assert.equal((await bob.k.status()).queued, 0, 'the receipt went out with the poll');
    assert.equal((await alice.k.poll()).received, 0, 'a receipt is not a message: nothing unread');
    assert.deepEqual(await states(alice.k, 'bob_r'), ['first:delivered', 'second:delivered']);
    assert.equal(await pendingBlobs(op), 0);
  } finally { await op.close(); }
});

test('receipts off: the recipient sends none; the sender who turned them off shows none', { timeout: 60_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_o'), bob = await account(op.url, 'bob_o');
    await introduce(alice, bob, { from: 'alice_o', to: 'bob_o' }, 'first');
    await bob.k.retry(); await alice.k.poll();
    await receiptsOff(bob.k);
    assert.equal((await bob.k.settings()).receipts, false);
    await alice.k.send({ name: 'bob_o', text: 'quiet' });
    await bob.k.poll();
    assert.equal((await bob.k.status()).queued, 0);
    assert.equal(await pendingBlobs(op), 0, 'bob sent no receipt');
    assert.deepEqual(await states(alice.k, 'bob_o'), ['first:delivered', 'quiet:sent']);
    // alice turns them off: bob's receipts (back on) are not shown to her
    await bob.k.saveSettings({ ...(await bob.k.settings()), receipts: true });
    await receiptsOff(alice.k);
    await alice.k.send({ name: 'bob_o', text: 'hidden' });
    await bob.k.poll();
    assert.equal(await pendingBlobs(op), 1, 'bob sent his receipt');
    await alice.k.poll();
    assert.deepEqual(await states(alice.k, 'bob_o'), ['first:delivered', 'quiet:sent', 'hidden:sent']);
  } finally { await op.close(); }
});

test('a receipt under another key than the contact\'s is ignored', { timeout: 60_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_x'), bob = await account(op.url, 'bob_x'), carol = await account(op.url, 'carol_x');
    await introduce(alice, bob, { from: 'alice_x', to: 'bob_x' }, 'first');
    await introduce(carol, alice, { from: 'carol_x', to: 'alice_x' }, 'hello');
    const id = (await alice.k.thread({ name: 'bob_x' })).messages[0]!.id;
    // carol claims to be bob in a receipt naming alice's message, sealed with her own key
    const { sealBodyAndQueue } = await import('./common.ts');
    const store = await carol.k.ctx.store();
    await sealBodyAndQueue(store, (await store.contact('alice_x'))!, { kind: 'receipt', from: 'bob_x', delivered: [id] }, Date.now());
    await carol.k.retry();
    await alice.k.poll();
    assert.deepEqual(await states(alice.k, 'bob_x'), ['first:sent']);
  } finally { await op.close(); }
});
