// A member moves home inside its collectives (COLLECTIVES.md §15.1), in Node against three real
// Operators on loopback with REAL Semaphore proofs: alice on A founds @portland; bob of B and
// carol of C are vouched in; carol posts, registers at A with the same identity key and prekey,
// and `tellCollectivesMoved` appends a `move` (twice: the second call changes nothing). Then she
// posts as `carol_c` of A, alice and bob read it as hers, her old post stays; after a removal the
// next epoch's key reaches her at the new handle. A move signed by another key is refused by A
// (401); bob's move to a handle whose home shows another key raises an alarm at alice's and
// gets him no key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { b64 } from '../../../protocol/bytes.ts';
import { movePayload } from '../../../protocol/collective.ts';
import { signAuth, signRecord, solvePow } from '../../../protocol/identity.ts';
import { KeyPair, loadThemis } from '../../../protocol/themis.ts';
import { shutdownCurve } from '../../../protocol/vouch.ts';
import { komrade, raw, startTestOperator } from '../../../test/support/operator.ts';
import { account } from '../../../test/support/addon.ts';
import { commitmentIn, secretOf } from './collective-log.ts';
import { tellCollectivesMoved } from './collective-move.ts';
import { keyPairOf } from './common.ts';
import { alarmsEverywhere } from './operators.ts';

type Op = Awaited<ReturnType<typeof startTestOperator>>;
type Dev = Awaited<ReturnType<typeof account>>;
let A: Op, B: Op, C: Op;
let alice: Dev, bob: Dev, carol: Dev, dave: Dev;
const host = (op: Op) => op.url.replace('http://', '');
const P = () => `portland@${host(A)}`;
const memberAlarms = async (d: Dev) => (await alarmsEverywhere(await d.k.ctx.store())).filter((x) => x.kind === 'member');
const texts = async (d: Dev) => (await d.k.feed({})).posts.map((p) => `${p.author}: ${p.text}`).sort();
const pollAll = async (n = 2) => { for (let i = 0; i < n; i++) for (const d of [alice, bob, carol]) await d.k.poll(); };

before(async () => {
  await loadThemis();
  [A, B, C] = [await startTestOperator({ allowLoopbackHomes: true }), await startTestOperator({ allowLoopbackHomes: true }), await startTestOperator({ allowLoopbackHomes: true })];
  for (const op of [A, B, C]) op.server.keepAliveTimeout = 10 * 60_000; // proving blocks this process for seconds
  const make = (op: Op, n: string) => account(op.url, n, undefined, { rotationDelayMs: 0 });
  [alice, bob, carol, dave] = [await make(A, 'alice_a'), await make(B, 'bob_b'), await make(C, 'carol_c'), await make(B, 'dave_b')];
  await alice.k.createCollective({ name: 'portland', description: 'moves', rule: 'one' });
  for (const [d, name] of [[bob, 'bob_b'], [carol, 'carol_c']] as const) {
    await d.k.askToJoin({ name: P() });
    assert.equal((await alice.k.vouch({ collective: 'portland', name: `${name}@${host(d === bob ? B : C)}` })).admitted, true);
    await alice.k.poll();
    await d.k.poll();
    assert.equal((await d.k.findCollective({ name: P() })).hasKey, true, `${name} has the key`);
  }
});
after(async () => {
  for (const op of [A, B, C]) await op?.close();
  await shutdownCurve();
});

/** Register `d`'s identity key and newest prekey under `name` at `op`, with a new intro there (the minimal part of a move's step 2). */
async function registerAt(d: Dev, op: Op, name: string) {
  const a = await (await d.k.ctx.store()).account(), identity = keyPairOf(a.me.identity), prekey = a.prekeys.at(-1)!, mailbox = new KeyPair(), intro = b64(crypto.getRandomValues(new Uint8Array(16)));
  await op.client.createMailbox(intro, mailbox);
  const signed = signRecord(identity.privateKey, { v: 1, name, identityKey: b64(identity.publicKey), intro, prekey: { id: prekey.id, key: prekey.pub }, ts: Date.now() });
  await op.client.register(signed, await solvePow(name, signed.record.identityKey, (await op.client.info()).powBits), mailbox.privateKey);
}

test('carol moves from C to A: same membership, posts as carol_c of A, old posts kept, the next key reaches her new handle', { timeout: 400_000 }, async () => {
  await carol.k.post({ collective: P(), text: 'before' });
  await pollAll();
  const oldHandle = `carol_c@${host(C)}`;
  assert.ok((await texts(alice)).includes(`${oldHandle}: before`));

  await registerAt(carol, A, 'carol_c');
  const store = await carol.k.ctx.store();
  const move = { from: { name: 'carol_c', operator: C.url }, to: { name: 'carol_c', operator: A.url } };
  const members = (await A.client.getCollective('portland')).members;
  await tellCollectivesMoved(carol.k.ctx, store, move);
  const seq = (await A.client.getCollective('portland')).seq;
  await tellCollectivesMoved(carol.k.ctx, store, move); // again, as after a crash: already told, nothing appended
  const info = await A.client.getCollective('portland');
  assert.deepEqual([info.seq, info.members], [seq, members], 'one move entry, same membership');
  const { entries } = await A.client.log('portland', seq);
  assert.deepEqual([entries[0]!.type, entries[0]!.name, entries[0]!.move?.to], ['move', oldHandle, 'carol_c']);
  assert.equal((await A.client.member('portland', 'carol_c')).commitment, commitmentIn(await secretOf(store), 'portland'), 'same commitment');

  await carol.k.post({ collective: P(), text: 'after' });
  await pollAll();
  assert.deepEqual(await texts(alice), [`${oldHandle}: before`, 'carol_c: after'].sort(), 'alice reads both as carol’s: her new post under carol_c of A');
  assert.deepEqual(await texts(bob), [`${oldHandle}: before`, `carol_c@${host(A)}: after`].sort(), 'bob too, in the full form');
  for (const d of [alice, bob, carol]) assert.deepEqual(await memberAlarms(d), [], 'a genuine move raises no alarm');

  // dave of B is vouched in and leaves: the next epoch is sealed to carol at her new handle
  await dave.k.askToJoin({ name: P() });
  await alice.k.vouch({ collective: 'portland', name: `dave_b@${host(B)}` });
  await dave.k.leaveCollective({ name: P() });
  await pollAll();
  assert.equal((await A.client.currentEpoch('portland')).epoch, 2, 'a new epoch after the leave');
  const carolRec = await store.collective(P());
  assert.equal(carolRec?.bundles.at(-1)?.epoch, 2, 'carol got epoch 2’s key');
  await carol.k.post({ collective: P(), text: 'epoch two' });
  await pollAll();
  assert.ok((await texts(alice)).includes('carol_c: epoch two'), 'and posts in it, read by alice');
  assert.ok((await texts(alice)).includes(`${oldHandle}: before`), 'her old post is still there');
});

test('a move signed by another key is refused by A; a move to a handle whose home shows another key is an alarm and gets no key', { timeout: 300_000 }, async () => {
  const bobHandle = `bob_b@${host(B)}`, member = await A.client.member('portland', bobHandle);
  const mallory = komrade('bob_b');
  const forged = { to: `bob_b@${host(C)}`, auth: signAuth(mallory.identity.privateKey, 'move-collective', 'portland', movePayload(bobHandle, `bob_b@${host(C)}`, member.commitment)) };
  const res = await raw(A.url, 'POST', `/collectives/portland/members/${encodeURIComponent(bobHandle)}/move`, forged);
  assert.equal(res.status, 401, JSON.stringify(res.body));
  assert.equal((await A.client.member('portland', bobHandle)).commitment, member.commitment, 'bob stays');

  // bob's own key moves him to bob_b of C, but C's bob_b is someone else (another key)
  const theirs = await mallory.register(C.client);
  await tellCollectivesMoved(bob.k.ctx, await bob.k.ctx.store(), { from: { name: 'bob_b', operator: B.url }, to: { name: 'bob_b', operator: C.url } });
  assert.equal((await A.client.member('portland', `bob_b@${host(C)}`)).commitment, member.commitment, 'A cannot tell: it logs the move');
  // what he posts under that handle is not shown as C's bob_b: his new handle is trusted only once C shows his key
  await bob.k.post({ collective: P(), text: 'posing as C\'s bob_b' });
  await alice.k.poll();
  assert.deepEqual((await texts(alice)).filter((t) => t.includes('posing')), [], 'alice does not show it');
  // a removal makes the next epoch due: alice seals it to every member she can check at home, not to bob
  await dave.k.askToJoin({ name: P() });
  await alice.k.vouch({ collective: 'portland', name: `dave_b@${host(B)}` });
  await dave.k.leaveCollective({ name: P() });
  const bobPrekey = (await (await bob.k.ctx.store()).account()).prekeys.at(-1)!.id;
  const alarms = (await memberAlarms(alice)).length, epoch = (await A.client.currentEpoch('portland')).epoch;
  await alice.k.poll();
  assert.equal((await A.client.currentEpoch('portland')).epoch, epoch + 1, 'alice opened the next epoch');
  assert.deepEqual(await A.client.fetchKeys('portland', epoch + 1, bobPrekey), [], 'nothing sealed to bob’s prekey');
  assert.deepEqual(await A.client.fetchKeys('portland', epoch + 1, theirs.record.prekey.id), [], 'nor to the prekey C shows for bob_b');
  const alarm = (await memberAlarms(alice)).at(-1);
  assert.ok((await memberAlarms(alice)).length > alarms, 'the check at C raised an alarm');
  assert.match(alarm!.message, new RegExp(`${host(C)}.*bob_b`), 'naming C and the handle');
});
