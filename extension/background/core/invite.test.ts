// Invites in the add-on's core (PROTOCOL.md §10) against a real Operator: alice's invite names
// her Operator, her name and her key's fingerprint; bob onboards from it and adds her, only
// once the directory's key matches the invite; an altered invite adds nobody and says so.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../../../protocol/bytes.ts';
import { fingerprint, parseInvite } from '../../../protocol/invite.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account, userError } from '../../../test/support/addon.ts';

before(() => loadThemis());

test('alice\'s invite brings bob to her Operator and to her, checked against the directory', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice'), mallory = await account(op.url, 'mallory');
    const line = await alice.k.myInvite();
    const invite = parseInvite(line)!;
    const aliceKey = (await (await alice.k.ctx.store()).account()).me.identity.pub;
    assert.deepEqual(invite, { v: 1, operator: op.url, from: { name: 'alice', key: fingerprint(aliceKey) } });

    const bob = await account(invite.operator, 'bob');
    // an invite altered to carry mallory's key under alice's name: loud, and nothing added
    const malloryKey = (await (await mallory.k.ctx.store()).account()).me.identity.pub;
    await assert.rejects(bob.k.addInviter({ name: 'alice', key: fingerprint(malloryKey) }), userError(/different key for @alice.*NOT added/s));
    await assert.rejects(bob.k.addInviter({ name: 'nobody_here', key: invite.from!.key }), userError(/Nobody is called @nobody_here/));
    await assert.rejects(bob.k.addInviter({ name: 'alice', key: 'short' }), userError(/damaged/));
    assert.deepEqual((await bob.k.contacts()).contacts, [], 'no contact from a refused invite');

    const added = await bob.k.addInviter(invite.from!);
    assert.equal(added.name, 'alice');
    assert.deepEqual((await bob.k.contacts()).contacts.map((c) => c.name), ['alice']);
    // bob can write to her at once
    await bob.k.send({ name: 'alice', text: 'your invite worked' });
    await alice.k.poll();
    assert.equal((await alice.k.status()).requests, 1, 'alice has bob\'s first message, as a request');
    // the same invite again adds nothing new; a random fingerprint for a known contact is refused
    assert.equal((await bob.k.addInviter(invite.from!)).name, 'alice');
    await assert.rejects(bob.k.addInviter({ name: 'alice', key: fingerprint(b64(randomBytes(45))) }), userError(/NOT added/));
  } finally { await op.close(); }
});
