// Collectives across Operators (COLLECTIVES.md §15), in Node against three real Operators on
// loopback with REAL Semaphore proofs: alice on A founds @portland; bob on B and carol on C ask as
// `name@<home>`, are vouched for, get the group key at home, post, and all three read all posts;
// vouch counts come without vouchers. A forged request (naming dave of B with a key B's directory
// does not hold) is refused by the members with an alarm: no vouch, and in an open collective,
// where it is admitted at once, no key hand-over and no epoch bundle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from '../../../protocol/bytes.ts';
import { OperatorClient } from '../../../protocol/client.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { shutdownCurve } from '../../../protocol/vouch.ts';
import { pendingBlobs, startTestOperator } from '../../../test/support/operator.ts';
import { account, userError } from '../../../test/support/addon.ts';
import { commitmentIn } from './collective-log.ts';
import { keyPairOf } from './common.ts';
import { alarmsEverywhere } from './operators.ts';

type Op = Awaited<ReturnType<typeof startTestOperator>>;
type Dev = Awaited<ReturnType<typeof account>>;
let A: Op, B: Op, C: Op;
let alice: Dev, bob: Dev, carol: Dev, dave: Dev, mallory: Dev;
const host = (op: Op) => op.url.replace('http://', '');
const t0 = performance.now();
/** Every call the add-ons make: the Operator it went to and what it carried. */
const calls: { base: string; args: string }[] = [];
const watched = (base: string) => new Proxy(new OperatorClient(base), {
  get: (target, p, receiver) => {
    const v: unknown = Reflect.get(target, p, receiver);
    if (typeof v !== 'function') return v;
    return (...a: unknown[]) => { calls.push({ base, args: String(p) + JSON.stringify(a, (_k, x: unknown) => (x instanceof Uint8Array ? '' : x)) }); return (v as (...x: unknown[]) => unknown).apply(target, a); };
  },
});

before(async () => {
  await loadThemis();
  [A, B, C] = [await startTestOperator({ allowLoopbackHomes: true }), await startTestOperator({ allowLoopbackHomes: true }), await startTestOperator({ allowLoopbackHomes: true })];
  for (const op of [A, B, C]) op.server.keepAliveTimeout = 10 * 60_000; // proving blocks this process for seconds
  const make = (op: Op, n: string) => account(op.url, n, undefined, { rotationDelayMs: 0, client: watched });
  [alice, bob, carol, dave, mallory] = [await make(A, 'alice_a'), await make(B, 'bob_b'), await make(C, 'carol_c'), await make(B, 'dave_b'), await make(C, 'mallory_c')];
});
after(async () => {
  for (const op of [A, B, C]) await op?.close();
  await shutdownCurve();
  console.log(`# federation collectives: ${Math.round((performance.now() - t0) / 1000)} s`);
});

/** A join request to `c` on A in dave's name (dave_b@B), signed with mallory's key: what B's directory does not hold. */
async function forge(c: string) {
  const a = await (await mallory.k.ctx.store()).account(), prekey = a.prekeys.at(-1)!;
  return new OperatorClient(A.url).requestJoin(keyPairOf(a.me.identity).privateKey, {
    v: 2, collective: c, name: `dave_b@${host(B)}`, identityKey: a.me.identity.pub, commitment: commitmentIn(randomBytes(32), c),
    prekey: { id: prekey.id, key: prekey.pub }, ts: Date.now(),
  });
}
const memberAlarms = async (d: Dev) => (await alarmsEverywhere(await d.k.ctx.store())).filter((x) => x.kind === 'member');

test('@portland on A: bob of B and carol of C ask, are vouched for, get the key, post; all three read all posts', { timeout: 300_000 }, async () => {
  await alice.k.createCollective({ name: 'portland', description: 'across Operators', rule: 'fixed:2' });
  const P = `portland@${host(A)}`;
  // bob asks by the full address; A keeps his request as bob_b@<B>
  const asked = await bob.k.askToJoin({ name: `@${P}` });
  assert.deepEqual([asked.name, asked.myStatus], [P, 'requested']);
  assert.equal((await A.client.listRequests('portland')).requests[0]!.request.name, `bob_b@${host(B)}`, 'the request names bob’s home');
  assert.deepEqual((await bob.k.collectives()).map((c) => c.name), [P], 'bob lists it in the full form');
  const seen = await alice.k.findCollective({ name: 'portland' });
  assert.deepEqual(seen.candidates, [{ name: `bob_b@${host(B)}`, vouches: 0, needed: 1, overall: 0 }], 'a count, no voucher');
  assert.equal((await alice.k.vouch({ collective: 'portland', name: `bob_b@${host(B)}` })).admitted, true, 'one member: quorum 1');

  await alice.k.poll(); // hands the key to bob's intro, at B, once B's record carries his request's key
  await bob.k.poll();
  const bobView = await bob.k.findCollective({ name: P });
  assert.deepEqual([bobView.myStatus, bobView.hasKey], ['member', true]);

  await carol.k.askToJoin({ name: P });
  for (const d of [alice, bob]) {
    const v = await d.k.findCollective({ name: d === alice ? 'portland' : P });
    const cand = v.candidates.find((x) => x.name === `carol_c@${host(C)}`);
    assert.ok(cand, 'carol shown in the full form to both');
    assert.deepEqual(Object.keys(cand).sort(), ['name', 'needed', 'overall', 'vouches'], 'counts only, never who vouched');
    await d.k.vouch({ collective: v.name, name: cand.name });
  }
  assert.deepEqual((await alice.k.findCollective({ name: 'portland' })).candidates, [], 'carol admitted with two vouches');
  for (const d of [alice, bob]) await d.k.poll();
  await carol.k.poll();
  assert.equal((await carol.k.findCollective({ name: P })).hasKey, true);
  await assert.rejects(bob.k.vouch({ collective: P, name: `carol_c@${host(C)}` }), userError(/already vouched/), 'one vouch per round');

  await alice.k.post({ collective: 'portland', text: 'from A' });
  await bob.k.post({ collective: P, text: 'from B' });
  await carol.k.post({ collective: P, text: 'from C' });
  for (let i = 0; i < 2; i++) for (const d of [alice, bob, carol]) await d.k.poll();
  const texts = async (d: Dev) => (await d.k.feed({})).posts.map((p) => `${p.author}: ${p.text}`).sort();
  assert.deepEqual(await texts(alice), ['alice_a: from A', `bob_b@${host(B)}: from B`, `carol_c@${host(C)}: from C`], 'alice reads everyone');
  assert.deepEqual(await texts(bob), [`alice_a@${host(A)}: from A`, 'bob_b: from B', `carol_c@${host(C)}: from C`], 'bob reads everyone');
  assert.deepEqual(await texts(carol), [`alice_a@${host(A)}: from A`, `bob_b@${host(B)}: from B`, 'carol_c: from C'], 'carol reads everyone');
  assert.deepEqual((await carol.k.feed({ collective: P })).posts.map((p) => p.collective), [P, P, P]);
  for (const d of [alice, bob, carol]) assert.deepEqual(await memberAlarms(d), [], 'genuine members raise no alarm');
  // the collective's calls went to A only: bob's and carol's Operators hear nothing of it, nor of A
  await assert.rejects(B.client.getCollective('portland'), /unknown collective/);
  for (const c of calls.filter((x) => x.base !== A.url)) assert.ok(!c.args.includes('portland') && !c.args.includes(host(A)), `a call to ${c.base} names the collective or A: ${c.args.slice(0, 200)}`);
  assert.ok(calls.some((c) => c.base === B.url && c.args === 'lookupWithProof["bob_b"]'), 'members looked bob up at B, naming only bob');
});

test('a forged candidate (dave of B, with a key B does not hold) is refused by the members with an alarm', { timeout: 120_000 }, async () => {
  assert.equal((await forge('portland')).admitted, false, 'A cannot tell: it keeps the request');
  await assert.rejects(alice.k.vouch({ collective: 'portland', name: `dave_b@${host(B)}` }), /another identity key/);
  const [alarm] = await memberAlarms(alice);
  assert.match(alarm!.message, new RegExp(`${host(B)}.*dave_b`), 'the alarm names the Operator and the name');
  assert.equal((await A.client.listRequests('portland')).requests.find((q) => q.request.name.startsWith('dave_b'))!.vouches, 0, 'no vouch');
  await assert.rejects(bob.k.vouch({ collective: `portland@${host(A)}`, name: `dave_b@${host(B)}` }), /another identity key/);
  assert.equal((await memberAlarms(bob)).length, 1, 'bob’s add-on raises it too');
});

test('an open collective admits the forged request at once; no member hands it the key or seals it an epoch, a genuine newcomer of B gets the key', { timeout: 180_000 }, async () => {
  await alice.k.createCollective({ name: 'commons', description: 'open', rule: 'open' });
  const intro = async (d: Dev) => (await (await d.k.ctx.store()).account()).me.intro.id;
  assert.equal((await forge('commons')).admitted, true);
  assert.equal((await bob.k.askToJoin({ name: `commons@${host(A)}` })).myStatus, 'member');
  const before = { dave: await pendingBlobs(B, await intro(dave)), bob: await pendingBlobs(B, await intro(bob)) };
  const alarms = (await memberAlarms(alice)).length;
  await alice.k.poll();
  assert.equal(await pendingBlobs(B, await intro(dave)), before.dave, 'nothing sealed for the forged member');
  assert.equal(await pendingBlobs(B, await intro(bob)), before.bob + 1, 'bob’s key waits in his intro at B');
  assert.equal((await memberAlarms(alice)).length, alarms + 1, 'the forged member raised an alarm');
  await bob.k.poll();
  assert.equal((await bob.k.findCollective({ name: `commons@${host(A)}` })).hasKey, true);

  // bob leaves: alice opens epoch 2 and seals it to every member she can check at home: not to the forged one
  await bob.k.leaveCollective({ name: `commons@${host(A)}` });
  await alice.k.poll();
  assert.equal((await A.client.currentEpoch('commons')).epoch, 2);
  const davePrekey = (await (await dave.k.ctx.store()).account()).prekeys.at(-1)!.id;
  assert.deepEqual(await A.client.fetchKeys('commons', 2, davePrekey), [], 'no bundle sealed to dave’s prekey');
  assert.equal((await memberAlarms(alice)).length, alarms + 2, 'the delivery raised its own alarm');
});
