// A contact on an add-on older than forward secrecy per round trip (END-TO-END.md §6, "Versions"):
// its messages give its published prekey and its receipts none; both still work both ways.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { unb64 } from '../../../protocol/bytes.ts';
import { seal } from '../../../protocol/envelope.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account, introduce } from '../../../test/support/addon.ts';
import { keyPairOf } from './common.ts';

before(() => loadThemis());

test('an older contact: messages carrying its published prekey and receipts without one are read as before; the reply is sealed to that prekey', { timeout: 120_000 }, async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice_v'), bob = await account(op.url, 'bob_v');
    await introduce(alice, bob, { from: 'alice_v', to: 'bob_v' });
    await bob.k.poll(); await alice.k.poll();
    const sent = await alice.k.send({ name: 'bob_v', text: 'are you old?' });
    // bob's add-on "is old": it writes what an older version wrote, by hand, with bob's own keys
    const bs = await bob.k.ctx.store();
    const a = await bs.account(), toAlice = (await bs.contact('alice_v'))!;
    const published = a.prekeys.at(-1)!;
    const old = (body: unknown) => seal({
      senderIdentity: keyPairOf(a.me.identity), recipientIdentityKey: unb64(toAlice.identityKey),
      prekey: { id: toAlice.prekey.id, key: unb64(toAlice.prekey.key) }, body,
    }).blob;
    await op.client.deposit(toAlice.sendTo, old({ kind: 'receipt', from: 'bob_v', delivered: [sent.messages.at(-1)!.id] }));
    await op.client.deposit(toAlice.sendTo, old({ kind: 'msg', from: 'bob_v', text: 'yes, old', replyTo: toAlice.inbox, prekey: { id: published.id, key: published.pub } }));
    assert.equal((await alice.k.poll()).received, 1);
    const th = (await alice.k.thread({ name: 'bob_v' })).messages;
    assert.deepEqual(th.slice(-2).map((m) => [m.text, m.state]), [['are you old?', 'delivered'], ['yes, old', 'received']]);
    const c = (await (await alice.k.ctx.store()).contact('bob_v'))!;
    assert.equal(c.prekey.id, published.id, 'alice seals to the prekey the old add-on gave');
    // alice's reply (and her receipt) are sealed to bob's published prekey, which bob's add-on opens as ever
    await alice.k.send({ name: 'bob_v', text: 'welcome' });
    assert.equal((await bob.k.poll()).received, 2);
    assert.deepEqual((await bob.k.thread({ name: 'alice_v' })).messages.slice(-2).map((m) => m.text).sort(), ['are you old?', 'welcome']);
  } finally { await op.close(); }
});
