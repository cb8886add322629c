// Komrades across Operators (PROTOCOL.md §11), in Node against three real Operators on loopback:
// alice on A, bob on B, carol on C write both ways; every look-up and deposit goes to the
// recipient's Operator and no request to one Operator names another; with B stopped, alice and
// carol go on, mail for bob waits in alice's outbox (clearly) and arrives when B returns.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorClient } from '../../../protocol/client.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { findOnDisk, pendingBlobs, startTestOperator } from '../../../test/support/operator.ts';
import { account } from '../../../test/support/addon.ts';
import { flush, queue } from './outbox.ts';

before(() => loadThemis());

/** Every call an add-on makes, with the Operator it went to and everything it carried. */
function tap() {
  const calls: { base: string; method: string; args: string }[] = [];
  const client = (base: string) => new Proxy(new OperatorClient(base), {
    get: (target, p, receiver) => {
      const v: unknown = Reflect.get(target, p, receiver);
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => { calls.push({ base, method: String(p), args: JSON.stringify(a, (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('latin1') : x)) }); return (v as (...x: unknown[]) => unknown).apply(target, a); };
    },
  });
  return { calls, client };
}

test('three Operators: messages both ways between each pair; B stopped, the others go on and bob’s mail waits, then arrives', { timeout: 120_000 }, async () => {
  const ops = [await startTestOperator(), await startTestOperator(), await startTestOperator()];
  let [A, B, C] = ops as [typeof ops[0], typeof ops[0], typeof ops[0]];
  const host = (op: { url: string }) => op.url.replace('http://', '');
  const t = tap();
  try {
    // names long enough that a search of A's files cannot find them by chance
    const alice = await account(A.url, 'alice_of_a', undefined, { client: t.client });
    const bob = await account(B.url, 'bob_of_b', undefined, { client: t.client });
    const carol = await account(C.url, 'carol_of_c', undefined, { client: t.client });
    const who = { alice_of_a: [alice, A], bob_of_b: [bob, B], carol_of_c: [carol, C] } as const;
    const addr = (n: keyof typeof who) => `${n}@${host(who[n][1])}`;

    assert.equal((await bob.k.contacts()).me.address, `@${addr('bob_of_b')}`, 'bob is told his full address, for komrades of other Operators');
    for (const [x, y] of [['alice_of_a', 'bob_of_b'], ['alice_of_a', 'carol_of_c'], ['bob_of_b', 'carol_of_c']] as const) {
      const [dx] = who[x], [dy, opY] = who[y];
      const seen = await dx.k.addContact({ name: `@${addr(y)}` });
      assert.deepEqual([seen.name, seen.operator], [addr(y), host(opY)], 'the full form, and the Operator that holds them');
      assert.deepEqual(seen.safetyWords, (await dy.k.contacts()).me.safetyWords, `${x} sees the words ${y} sees for themself`);
      assert.equal((await dx.k.send({ name: addr(y), text: `hi ${y}, ${x} here` })).messages[0]!.state, 'sent');
      assert.equal(await pendingBlobs(opY, (await opY.client.lookup(y)).record.intro), 1, `the first message waits in ${y}'s intro at ${y}'s Operator`);
      assert.equal((await dy.k.poll()).received, 1);
      const [req] = await dy.k.requests();
      assert.equal(req!.name, addr(x), `${y} sees where ${x} is at home`);
      await dy.k.acceptRequest({ name: addr(x) });
      assert.equal((await dy.k.thread({ name: addr(x) })).messages[0]!.text, `hi ${y}, ${x} here`);
      await dy.k.send({ name: addr(x), text: `hi ${x}` });
      assert.equal((await dx.k.poll()).received, 1);
      assert.deepEqual((await dx.k.thread({ name: addr(y) })).messages.map((m) => m.text), [`hi ${y}, ${x} here`, `hi ${x}`]);
    }
    // the pairwise mailbox bob made for alice is on B, his home: alice deposits there
    const held = async () => [await pendingBlobs(A), await pendingBlobs(B), await pendingBlobs(C)];
    const [a0, b0, c0] = await held();
    await alice.k.send({ name: addr('bob_of_b'), text: 'second' });
    assert.deepEqual(await held(), [a0, b0! + 1, c0], 'it waits on B, nothing for bob on A or C');
    assert.equal((await bob.k.poll()).received, 1);

    // no request to one Operator names another (not in a look-up, a deposit or anything else)
    for (const c of t.calls) {
      for (const other of ops.filter((o) => o.url !== c.base)) assert.ok(!c.args.includes(host(other)), `${c.method} to ${c.base} names ${host(other)}`);
    }
    assert.deepEqual(new Set(t.calls.filter((c) => c.method === 'lookupWithProof' && c.args.includes('"bob_of_b"')).map((c) => c.base)), new Set([B.url]), 'bob is looked up at B only');

    // B stops: alice and carol go on; alice's mail for bob waits, saying so
    const { port: portB, dataDir: dirB } = B;
    await B.close();
    const queued = await alice.k.send({ name: addr('bob_of_b'), text: 'are you there, bob?' });
    assert.equal(queued.messages.at(-1)!.state, 'queued');
    assert.match(queued.contact.waiting ?? '', /cannot be reached/, 'the thread says why it waits');
    assert.equal((await alice.k.status()).operator!.reachable, true, 'the status line speaks of alice’s own Operator, which answers');
    await assert.rejects(carol.k.addContact({ name: `@someone@${host(B)}` }), (e: Error) => e.message.includes(`@someone@${host(B)} cannot be reached`));
    await alice.k.send({ name: addr('carol_of_c'), text: 'B is down' });
    assert.equal((await carol.k.poll()).received, 1);
    await carol.k.send({ name: addr('alice_of_a'), text: 'still here' });
    assert.equal((await alice.k.poll()).received, 1);
    assert.equal((await alice.k.thread({ name: addr('carol_of_c') })).messages.at(-1)!.text, 'still here');
    // a deposit slot takes one envelope: one spent on unreachable B puts B's mail behind the rest
    const ctx = alice.k.ctx;
    await ctx.serial(() => queue(ctx, { name: addr('bob_of_b'), text: 'slot for bob' }));
    await ctx.serial(() => queue(ctx, { name: addr('carol_of_c'), text: 'slot for carol' }));
    await flush(ctx, { max: 1 });
    await flush(ctx, { max: 1 });
    assert.equal((await carol.k.poll()).received, 1, 'the second slot carried carol’s, not bob’s again');
    await alice.k.retry();
    assert.equal((await alice.k.status()).queued, 2, 'only the mail for bob waits');
    assert.equal((await alice.k.thread({ name: addr('bob_of_b') })).messages.at(-1)!.state, 'queued');

    B = await startTestOperator({ port: portB, dataDir: dirB });
    ops[1] = B;
    await alice.k.retry();
    assert.equal((await alice.k.status()).queued, 0);
    assert.equal((await alice.k.thread({ name: addr('bob_of_b') })).contact.waiting, undefined);
    assert.equal((await bob.k.poll()).received, 2);
    assert.deepEqual((await bob.k.thread({ name: addr('alice_of_a') })).messages.slice(-2).map((m) => m.text), ['are you there, bob?', 'slot for bob'], 'in the order written');

    // A's stored data names no komrade of B or C, nor their Operators
    await A.close();
    assert.deepEqual(findOnDisk(A.dataDir, { bob: 'bob_of_b', carol: 'carol_of_c', B: host(B), C: host(C) }), []);
  } finally { for (const op of ops) await op.close().catch(() => undefined); }
});
