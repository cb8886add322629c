// Collectives on a real Operator with real Semaphore proofs (COLLECTIVES.md), recorded once and
// verified here (test/support/proofs.ts; KOMRADE_PROVE=1 makes them afresh): the shared
// namespace, a collective grown by anonymous vouching to 16 members under `log2` (quorum 1 → 4)
// with counts at every step, and vouches for an existing member across two collectives.
// Refusals, leave and expel, and what a seizure finds: collectives-removal.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { signRecord, solvePow } from '../protocol/identity.ts';
import { LogEntry } from '../protocol/collective.ts';
import { quorum } from '../protocol/quorum.ts';
import { b64 } from '../protocol/bytes.ts';
import { KeyPair } from '../protocol/themis.ts';
import { rootOf } from '../protocol/vouch.ts';
import { C, NAMES, NEEDED, c, collectivesWorld, rejects } from '../test/support/collectives.ts';
import { komrade } from '../test/support/operator.ts';
import { proofsForTestFile } from '../test/support/proofs.ts';

const proofs = proofsForTestFile('operator-collectives');
let w: Awaited<ReturnType<typeof collectivesWorld>>;

before(async () => {
  w = await collectivesWorld(proofs);
});
after(() => w?.op.close());

test('collective names share the komrade namespace both ways; the founder must be a registered name with its own key', async () => {
  // a collective named like a komrade, or like its skeleton, is refused; and the other way round
  await w.unchanged(() => w.op.client.createCollective(w.k.anna!.identity.privateKey, w.charter('anna', 'anna', 'one')), rejects(409, 'name taken'));
  await w.unchanged(() => w.op.client.createCollective(w.k.anna!.identity.privateKey, w.charter('ANNA', 'anna', 'one')), rejects(409, 'name taken'));
  await w.unchanged(() => w.op.client.createCollective(w.k.boris!.identity.privateKey, w.charter('bor1s', 'boris', 'one')), rejects(409, 'too similar to an existing name'));
  // founder key not the directory's; signature by another key
  const stranger = new KeyPair();
  await w.unchanged(() => w.op.client.createCollective(stranger.privateKey, { ...w.charter(C, 'fiona', 'log2'), founderKey: b64(stranger.publicKey) }), rejects(403));
  await w.unchanged(() => w.op.client.createCollective(stranger.privateKey, w.charter(C, 'fiona', 'log2')), rejects(401, 'bad signature'));
  await w.unchanged(() => w.op.client.createCollective(w.k.fiona!.identity.privateKey, { ...w.charter(C, 'fiona', 'log2'), founder: 'nobody' }), rejects(404));

  assert.deepEqual(await w.op.client.createCollective(w.k.fiona!.identity.privateKey, w.charter(C, 'fiona', 'log2')), { root: rootOf([w.commitmentOf('fiona')]), seq: 0 });
  await assert.rejects(w.op.client.createCollective(w.k.anna!.identity.privateKey, w.charter('portland', 'anna', 'one')), rejects(409, 'name taken'));
  for (const name of ['portland', 'PortIand', 'p0rtland']) {
    const p = komrade(name);
    await w.op.client.createMailbox(p.intro, p.mailbox);
    const signed = signRecord(p.identity.privateKey, p.record());
    await w.unchanged(async () => w.op.client.register(signed, await solvePow(name, signed.record.identityKey, 8), p.mailbox.privateKey), rejects(409));
  }

  const info = await w.op.client.getCollective('PORTLAND');
  assert.equal(info.charter.name, C);
  assert.deepEqual({ members: info.members, leaves: info.leaves, seq: info.seq, needed: info.needed }, { members: 1, leaves: 1, seq: 0, needed: 1 });
  const { entries } = await w.op.client.log(c);
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.type, 'found');
  assert.equal(entries[0]!.commitment, w.commitmentOf('fiona').toString());
});

test('a collective grows to 16 members by anonymous vouching under log2: quorum 1 → 4, counts right at every step', async () => {
  const expectedNeeded = NEEDED;
  let seq = 0;
  for (let n = 1; n < 16; n++) {
    const candidate = NAMES[n]!, members = NAMES.slice(0, n);
    const needed = expectedNeeded[n - 1]!;
    assert.equal(quorum('log2', n), needed);
    assert.deepEqual(await w.ask(candidate), { epoch: 0, vouches: 0, needed, admitted: false });
    await w.assertCounts(candidate);
    const [open] = (await w.op.client.listRequests(c)).requests;
    assert.deepEqual({ name: open!.request.name, epoch: open!.epoch, vouches: open!.vouches, needed: open!.needed }, { name: candidate, epoch: 0, vouches: 0, needed });
    for (let v = 0; v < needed; v++) {
      const voucher = members[n - 1 - v]!; // a different member each time
      const proof = await w.prove(voucher, 'vouch', candidate, 0, w.commitmentOf(candidate));
      const res = await w.op.client.vouch(c, candidate, proof);
      w.bump(candidate, c);
      const last = v === needed - 1;
      assert.deepEqual(res, last ? { vouches: v + 1, needed, state: 'admitted', seq: seq + 1 } : { vouches: v + 1, needed, state: 'open' });
      await w.assertCounts(candidate);
      if (!last) assert.equal((await w.op.client.listRequests(c)).requests[0]!.vouches, v + 1);
    }
    seq++;
    const info = await w.op.client.getCollective(c);
    assert.deepEqual({ members: info.members, leaves: info.leaves, seq: info.seq, requests: info.requests, needed: info.needed },
      { members: n + 1, leaves: n + 1, seq, requests: 0, needed: quorum('log2', n + 1) });
    const tree = await w.op.client.tree(c);
    assert.deepEqual(tree.leaves, NAMES.slice(0, n + 1).map((x) => w.commitmentOf(x).toString()));
    assert.equal(tree.root, rootOf(tree.leaves.map(BigInt)));
    assert.ok(tree.acceptedRoots.includes(tree.root));
    assert.equal(tree.acceptedRoots.length, n + 1, 'no removal yet: every root so far is accepted');
    assert.deepEqual((await w.op.client.member(c, candidate)).vouches, needed);
  }
  assert.equal((await w.op.client.getCollective(c)).needed, 5);
  // the log: hash-chained, each admission carrying exactly the quorum of proofs that admitted it
  const { entries, more } = await w.op.client.log(c);
  assert.equal(more, false);
  assert.equal(entries.length, 16);
  for (const [i, e] of entries.entries()) {
    LogEntry.parse(e);
    assert.equal(e.seq, i);
    if (i > 0) {
      assert.equal(e.type, 'admit');
      assert.equal(e.proofs.length, expectedNeeded[i - 1]);
      assert.equal(new Set(e.proofs.map((p) => p.nullifier)).size, e.proofs.length);
      assert.equal(e.request!.request.name, NAMES[i]);
    }
  }
  for (const name of NAMES) await w.assertCounts(name);
});

test('vouching for an existing member grows their count (per collective and overall) and changes no membership', async () => {
  const before = await w.op.client.getCollective(c);
  const anna = await w.op.client.member(c, 'anna');
  const res = await w.op.client.vouch(c, 'anna', await w.prove('quinn', 'vouch', 'anna', anna.vouchEpoch, w.commitmentOf('anna')));
  w.bump('anna', c);
  assert.deepEqual(res, { vouches: anna.vouches + 1, needed: 5, state: 'member' });
  const after = await w.op.client.getCollective(c);
  assert.deepEqual({ ...after }, { ...before }, 'no membership change, no log entry');
  await w.assertCounts('anna');

  // a second collective (open: anyone who asks is in at once), so anna's counts span two
  await w.op.client.createCollective(w.k.xena!.identity.privateKey, w.charter('Seattle', 'xena', 'open'));
  assert.deepEqual(await w.ask('anna', 'Seattle'), { epoch: 0, vouches: 0, needed: 0, admitted: true, seq: 1 });
  assert.deepEqual(await w.ask('yuri', 'Seattle'), { epoch: 0, vouches: 0, needed: 0, admitted: true, seq: 2 });
  const r = await w.op.client.vouch('seattle', 'anna', await w.prove('xena', 'vouch', 'anna', 0, w.commitmentOf('anna', 'seattle'), { coll: 'seattle' }));
  w.bump('anna', 'seattle');
  assert.equal(r.state, 'member');
  assert.deepEqual(await w.op.client.vouchCounts('anna'), { total: w.model.get('anna')![c]! + 1, collectives: { portland: w.model.get('anna')![c]!, seattle: 1 } });
  assert.equal((await w.op.client.getCollective('seattle')).expelNeeded, quorum('log2', 3), 'an open collective expels by log2');
});
