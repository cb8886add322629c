// Collectives in the add-on's core against a real Operator, with REAL Semaphore proofs:
// found, ask, vouch to quorum, the group-key hand-over (and a forged one refused), counts
// everywhere and no voucher in any view, a second vouch refused, leave.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { unb64 } from '../../../protocol/bytes.ts';
import { seal } from '../../../protocol/envelope.ts';
import { newEpochBundle } from '../../../protocol/posts.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { shutdownCurve } from '../../../protocol/vouch.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { CollectiveRecord } from '../collective-state.ts';
import { account, userError } from '../../../test/support/addon.ts';
import { keyPairOf } from './common.ts';
import { K } from './store.ts';

type Op = Awaited<ReturnType<typeof startTestOperator>>;
type Dev = Awaited<ReturnType<typeof account>>;
let op: Op;
let alice: Dev, bob: Dev, carol: Dev, mallory: Dev;
const t0 = performance.now();

before(async () => {
  await loadThemis();
  op = await startTestOperator();
  // proving blocks this process (add-on and Operator alike) for seconds: keep-alive timers would race
  op.server.keepAliveTimeout = 10 * 60_000;
  alice = await account(op.url, 'alice');
  bob = await account(op.url, 'bob');
  carol = await account(op.url, 'carol');
  mallory = await account(op.url, 'mallory');
});
after(async () => {
  await op?.close();
  await shutdownCurve();
  console.log(`# collectives core: ${Math.round((performance.now() - t0) / 1000)} s`);
});

const record = async (d: Dev, c: string) => (await d.k.ctx.store()).r.get(K.collective(c), CollectiveRecord);
/** Time one vouch (the proof is most of it). */
async function timedVouch(d: Dev, collective: string, name: string) {
  const t = performance.now();
  const r = await d.k.vouch({ collective, name });
  console.log(`# vouch (prove + send) ${Math.round(performance.now() - t)} ms`);
  return r;
}

/** Every view a device can show about collectives and counts, as one string. */
async function everyView(d: Dev): Promise<string> {
  const views: unknown[] = [await d.k.collectives()];
  for (const c of await d.k.collectives()) views.push(await d.k.findCollective({ name: c.name }));
  views.push(await d.k.contacts());
  for (const n of ['alice', 'bob', 'carol']) views.push(await d.k.vouchCounts({ name: n }));
  return JSON.stringify(views);
}

test('found, ask, vouch to quorum, key hand-over, counts without vouchers, double vouch refused, leave', { timeout: 180_000 }, async () => {
  // alice founds @portland (log2): epoch 1's key is made and kept
  const made = await alice.k.createCollective({ name: '@Portland', description: 'a <b>city</b> collective', rule: 'log2' });
  assert.deepEqual({ ...made, candidates: made.candidates.length }, {
    name: 'Portland', description: 'a <b>city</b> collective', rule: 'log2', members: 1, needed: 1, myStatus: 'member', candidates: 0, small: true, hasKey: true,
  });
  const aliceKey = (await record(alice, 'portland'))!.bundles[0]!;
  assert.equal(aliceKey.epoch, 1);
  assert.ok((await (await alice.k.ctx.store()).account()).collectiveSecret, 'the secret is made lazily and kept in the account record');
  await assert.rejects(alice.k.createCollective({ name: 'portland', description: '', rule: 'log2' }), userError(/taken/));
  await assert.rejects(alice.k.createCollective({ name: 'p0rtland', description: '', rule: 'log2' }), userError(/looks like an existing name/));
  await assert.rejects(alice.k.createCollective({ name: 'nope_rule', description: '', rule: 'fixed:0' }), userError(/rule/));

  // bob asks; alice (the only member) vouches: quorum 1, admitted
  const asked = await bob.k.askToJoin({ name: 'portland' });
  assert.equal(asked.myStatus, 'requested');
  assert.deepEqual(asked.candidates, [{ name: 'bob', vouches: 0, needed: 1, overall: 0 }]);
  assert.deepEqual((await bob.k.collectives()).map((c) => [c.name, c.myStatus, c.hasKey]), [['Portland', 'requested', false]]);
  await assert.rejects(carol.k.vouch({ collective: 'portland', name: 'bob' }), userError(/Only members/));
  assert.deepEqual(await timedVouch(alice, 'portland', 'bob'), { vouches: 1, needed: 1, admitted: true });

  // a non-member (mallory) hands carol... no: hands bob a forged key first; bob refuses it
  const bobReq = (await op.client.log('portland')).entries[1]!.request!.request;
  const forged = { ...newEpochBundle('portland', 1, aliceKey.root) };
  const m = await (await mallory.k.ctx.store()).account();
  const { blob } = seal({
    senderIdentity: keyPairOf(m.me.identity), recipientIdentityKey: unb64(bobReq.identityKey), prekey: { id: bobReq.prekey.id, key: unb64(bobReq.prekey.key) },
    body: { kind: 'collective-key', collective: 'portland', epoch: 1, bundle: forged, logSeq: 1, logHead: '' },
  });
  await op.client.deposit((await op.client.lookup('bob')).record.intro, blob, { intro: true });
  await bob.k.poll();
  let bobRec = (await record(bob, 'portland'))!;
  assert.equal(bobRec.bundles.length, 0, 'a hand-over signed by a non-member is refused');
  assert.equal(bobRec.refusedKeys, 1);
  assert.equal(bobRec.status, 'member', 'bob sees himself admitted');

  // alice's add-on hands the key over at its poll, once
  await alice.k.poll();
  await alice.k.poll();
  assert.deepEqual((await record(alice, 'portland'))!.handed, ['bob']);
  await bob.k.poll();
  bobRec = (await record(bob, 'portland'))!;
  assert.deepEqual(bobRec.bundles, [aliceKey], 'bob holds alice\'s group key');
  assert.equal((await bob.k.collectives())[0]!.hasKey, true);

  // carol asks; alice and bob vouch (quorum 2 with 2 members)
  const c0 = await carol.k.askToJoin({ name: 'PORTLAND' });
  assert.equal(c0.needed, 2);
  assert.equal(c0.small, true);
  assert.deepEqual(await timedVouch(alice, 'portland', 'carol'), { vouches: 1, needed: 2, admitted: false });
  await assert.rejects(alice.k.vouch({ collective: 'portland', name: 'carol' }), userError(/already vouched for @carol/));
  assert.deepEqual(await timedVouch(bob, 'portland', 'carol'), { vouches: 2, needed: 2, admitted: true });
  // vouching again for carol, now a member (same round): refused before any proof
  const t = performance.now();
  await assert.rejects(alice.k.vouch({ collective: 'portland', name: 'carol' }), userError(/already vouched for @carol in this round/));
  assert.ok(performance.now() - t < 1500, 'refused locally, without proving');

  // the key reaches carol from both members' add-ons (duplicates harmless)
  await alice.k.poll(); await bob.k.poll(); await carol.k.poll();
  assert.deepEqual((await record(carol, 'portland'))!.bundles, [aliceKey]);
  assert.deepEqual((await record(bob, 'portland'))!.handed.sort(), ['alice', 'bob', 'carol'], 'bob handed only to carol (the others were in before he got it)');

  // everyone sees carol's count 2, in the collective and overall; no view names a voucher
  for (const d of [alice, bob, carol]) {
    assert.deepEqual(await d.k.vouchCounts({ name: 'carol' }), { total: 2, collectives: { portland: 2 } });
    const view = await d.k.findCollective({ name: 'portland' });
    assert.deepEqual({ members: view.members, myStatus: view.myStatus, candidates: view.candidates }, { members: 3, myStatus: 'member', candidates: [] });
  }
  await carol.k.poll();
  assert.deepEqual((await carol.k.contacts()).me.vouches, { total: 2, collectives: { portland: 2 } }, 'carol sees her own count');
  await alice.k.addContact({ name: 'carol' });
  assert.deepEqual((await alice.k.contacts()).contacts.find((c) => c.name === 'carol')!.vouches, { total: 2, collectives: { portland: 2 } });
  for (const d of [alice, bob, carol]) {
    const text = await everyView(d);
    assert.doesNotMatch(text, /vouch(ed)?(By|_by| by)|voucher|from"?:|signer/i, 'no field says who vouched');
    const rec = JSON.stringify(await d.k.collectives());
    for (const n of ['alice', 'bob']) assert.ok(!rec.includes(n), `my collectives list holds no member names (${n})`);
  }

  // leave: bob goes; his record and key are forgotten; the others see 2 members
  assert.deepEqual(await bob.k.leaveCollective({ name: 'portland' }), []);
  assert.equal(await record(bob, 'portland'), undefined);
  assert.equal((await alice.k.findCollective({ name: 'portland' })).members, 2);
  assert.equal((await bob.k.findCollective({ name: 'portland' })).myStatus, 'none');
  await assert.rejects(bob.k.leaveCollective({ name: 'portland' }), userError(/not a member/));
});
