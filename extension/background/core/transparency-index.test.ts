// The name index in the add-on (PROTOCOL.md §5.11.6) against a real Operator that lies: a key
// entered under bob's name but listed opaque to everyone reading the log (as a deleted name's
// leaf) is caught by bob's own monitor within one poll, through his position in the index; and
// alice refuses a look-up whose record is not the leaf the index points the name at, and alarms
// when a later look-up shows a name at an older leaf than she verified (a rolled-back index).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64 } from '../../../protocol/bytes.ts';
import { KeyPair, loadThemis } from '../../../protocol/themis.ts';
import { account, userError } from '../../../test/support/addon.ts';
import { forgeOpaqueLeaf } from '../../../test/support/equivocate.ts';
import { komrade, startTestOperator } from '../../../test/support/operator.ts';
import type { Ctx } from './ctx.ts';
import { verifiedLookup } from './transparency.ts';

before(() => loadThemis());

test("bob's monitor alarms within one poll when the Operator enters his name's leaf opaque to everyone", async () => {
  const op = await startTestOperator();
  try {
    const bob = await account(op.url, 'bob');
    await bob.k.poll();
    await bob.k.poll();
    assert.deepEqual((await bob.k.status()).logAlarms, [], 'an honest index raises nothing, poll after poll');
    const at = await forgeOpaqueLeaf(op, 'bob', b64(new KeyPair().publicKey));
    const entries = (await op.client.logEntries(0)).entries;
    assert.equal(entries[at]!.live, undefined, 'precondition: the forged leaf is listed opaque, like a deleted name');
    await bob.k.poll();
    const alarms = (await bob.k.status()).logAlarms!;
    assert.equal(alarms.length, 1);
    assert.equal(alarms[0]!.kind, 'index');
    assert.match(alarms[0]!.message, new RegExp(`points your name @bob at log entry ${at}, which is not your key`));
  } finally { await op.close(); }
});

test("alice refuses bob's record when the name index points bob at another leaf", async () => {
  const op = await startTestOperator();
  try {
    await account(op.url, 'bob');
    const alice = await account(op.url, 'alice');
    await forgeOpaqueLeaf(op, 'bob', b64(new KeyPair().publicKey)); // bob's own record is still served, the index moved
    await assert.rejects(alice.k.addContact({ name: 'bob' }), userError(/Key transparency: @bob: the Operator's name index does not point @bob at the key it served/));
    assert.equal((await alice.k.status()).logAlarms!.at(-1)!.kind, 'index');
    assert.equal((await alice.k.contacts()).contacts.length, 0, 'no contact added');
  } finally { await op.close(); }
});

test("alice alarms when a later look-up shows bob's name at an older leaf than she verified (an index rolled back)", async () => {
  const op = await startTestOperator();
  let old: string | undefined;
  try {
    const bob = komrade('bob');
    await bob.register(op.client);
    old = await (await fetch(`${op.url}/v2/names/bob`)).text(); // bob at leaf 0, proved in the checkpoint of then
    await op.client.deleteName('bob', bob.identity.privateKey);
    await komrade('bob').register(op.client); // bob's name now at leaf 2
    const alice = await account(op.url, 'alice');
    await alice.k.addContact({ name: 'bob' });
    assert.deepEqual((await alice.k.status()).logAlarms, []);
    // the Operator answers a later look-up with the old record and its old, consistent proofs
    const ctx = (alice.k as unknown as { ctx: Ctx }).ctx, store = await ctx.store();
    const client = ctx.client(op.url), real = client.lookupWithProof.bind(client);
    client.lookupWithProof = async (name: string) => (name === 'bob' ? JSON.parse(old!) : real(name));
    await assert.rejects(verifiedLookup(ctx, store, client, 'bob'), /name index went back from entry 2 to 0/);
    const alarm = (await alice.k.status()).logAlarms!.at(-1)!;
    assert.equal(alarm.kind, 'index');
    assert.equal(alarm.evidence?.length, 2, 'both signed checkpoints are kept as proof');
  } finally { await op.close(); }
});
