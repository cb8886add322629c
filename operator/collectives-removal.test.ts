// Collectives on a real Operator with recorded real Semaphore proofs (COLLECTIVES.md;
// test/support/proofs.ts): on a collective of 16 grown by vouching under `log2`, refusals that
// change nothing (double vouch, non-member, wrong scope/message, tampering, malformed, oversize),
// leave and expel, and a dump of the store, its files and its logs that ties no vouch or expel
// vote to the member who cast it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { LogEntry, type Charter } from '../protocol/collective.ts';
import { KeyPair } from '../protocol/themis.ts';
import { memberIdentity, proveVouch, VouchProof } from '../protocol/vouch.ts';
import { C, NAMES, NEEDED, c, collectivesWorld, rejects } from '../test/support/collectives.ts';
import { findOnDisk } from '../test/support/operator.ts';
import { proofsForTestFile } from '../test/support/proofs.ts';

const proofs = proofsForTestFile('operator-collectives-removal');
let w: Awaited<ReturnType<typeof collectivesWorld>>;

before(async () => {
  w = await collectivesWorld(proofs);
  await w.grow(16);
  // anna is vouched for once more, in Portland and in an open second collective (Seattle)
  await w.op.client.vouch(c, 'anna', await w.prove('quinn', 'vouch', 'anna', (await w.op.client.member(c, 'anna')).vouchEpoch, w.commitmentOf('anna')));
  await w.op.client.createCollective(w.k.xena!.identity.privateKey, w.charter('Seattle', 'xena', 'open'));
  await w.ask('anna', 'Seattle'); await w.ask('yuri', 'Seattle');
  await w.op.client.vouch('seattle', 'anna', await w.prove('xena', 'vouch', 'anna', 0, w.commitmentOf('anna', 'seattle'), { coll: 'seattle' }));
  for (const [n, coll] of [['anna', c], ['anna', 'seattle']] as const) w.bump(n, coll);
});
after(() => w?.op.close());

let zoeVouch: VouchProof;
test('refused, changing nothing: double vouch 409, non-member 403, wrong scope or message 401, tampered 401, malformed 400, oversize 413', async () => {
  await w.ask('zoe');
  await w.ask('yuri');
  zoeVouch = await w.prove('anna', 'vouch', 'zoe', 0, w.commitmentOf('zoe'));
  assert.deepEqual(await w.op.client.vouch(c, 'zoe', zoeVouch), { vouches: 1, needed: 5, state: 'open' });
  w.bump('zoe', c);

  // the same member again: the same proof, or a fresh one (same scope, so the same nullifier)
  await w.unchanged(() => w.op.client.vouch(c, 'zoe', zoeVouch), rejects(409, 'nullifier used'));
  const again = await w.prove('anna', 'vouch', 'zoe', 0, w.commitmentOf('zoe'), { variant: 'again' });
  assert.equal(again.nullifier, zoeVouch.nullifier);
  assert.notDeepEqual(again.points, zoeVouch.points);
  await w.unchanged(() => w.op.client.vouch(c, 'zoe', again), rejects(409, 'nullifier used'));

  // a non-member: a valid proof, but in a tree of its own making
  const fake = [...(await w.op.client.tree(c)).leaves.map(BigInt), w.commitmentOf('xena')];
  const outsider = await w.prove('xena', 'vouch', 'zoe', 0, w.commitmentOf('zoe'), { leaves: fake });
  await w.unchanged(() => w.op.client.vouch(c, 'zoe', outsider), rejects(403, 'unknown root'));

  // a proof for zoe offered for yuri; bound to another message (another epoch: in the next test)
  await w.unchanged(() => w.op.client.vouch(c, 'yuri', zoeVouch), rejects(401, 'wrong scope'));
  await w.unchanged(() => w.op.client.vouch(c, 'zoe', { ...zoeVouch, message: '1' }), rejects(401, 'wrong message'));
  // an expel proof is no vouch, a vouch no expel vote
  await w.unchanged(() => w.op.client.expel(c, 'anna', zoeVouch), rejects(401, 'wrong scope'));

  // tampered: points, nullifier (a fresh-looking nullifier must not buy a second vouch), root
  const pts = [...zoeVouch.points]; pts[0] = (BigInt(pts[0]!) + 1n).toString();
  await w.unchanged(() => w.op.client.vouch(c, 'zoe', { ...zoeVouch, points: pts }), rejects(401, 'invalid proof'));
  await w.unchanged(() => w.op.client.vouch(c, 'zoe', { ...zoeVouch, nullifier: (BigInt(zoeVouch.nullifier) + 1n).toString() }), rejects(401, 'invalid proof'));
  const { acceptedRoots } = await w.op.client.tree(c);
  const otherRoot = acceptedRoots.find((r) => r !== zoeVouch.merkleTreeRoot)!;
  await w.unchanged(() => w.op.client.vouch(c, 'zoe', { ...zoeVouch, merkleTreeRoot: otherRoot }), rejects(401, 'invalid proof'));

  // malformed and oversize, through raw HTTP
  const path = `/collectives/${c}/vouches/zoe`;
  await w.unchangedRaw(path, { proof: { ...zoeVouch, merkleTreeDepth: 20 } }, 400);
  await w.unchangedRaw(path, { proof: { ...zoeVouch, extra: 1 } }, 400);
  await w.unchangedRaw(path, { proof: { ...zoeVouch, nullifier: `0${zoeVouch.nullifier}` } }, 400);
  await w.unchangedRaw(path, { proof: { ...zoeVouch, points: zoeVouch.points.slice(1) } }, 400);
  await w.unchangedRaw(path, { proof: zoeVouch, who: 'anna' }, 400);
  await w.unchangedRaw(path, { proof: { ...zoeVouch, points: [...zoeVouch.points.slice(1), '9'.repeat(100_000)] } }, 413);
  await w.unchangedRaw(`/collectives/${c}/vouches/nobody`, { proof: zoeVouch }, 404);
  await w.unchangedRaw(`/collectives/atlantis/vouches/zoe`, { proof: zoeVouch }, 404);

  // join refusals: twice, a member, a forged signature, another's key, a replay
  await w.unchanged(() => w.ask('zoe'), rejects(409, 'request open'));
  await w.unchanged(() => w.ask('anna'), rejects(409, 'already a member'));
  await w.unchanged(() => w.op.client.requestJoin(new KeyPair().privateKey, {
    v: 2, collective: C, name: 'xena', identityKey: b64(w.k.xena!.identity.publicKey), commitment: '5', prekey: { id: b64(randomBytes(8)), key: b64(w.k.xena!.prekey.publicKey) }, ts: Date.now(),
  }), rejects(401, 'bad signature'));
  const mallory = new KeyPair();
  await w.unchanged(() => w.op.client.requestJoin(mallory.privateKey, {
    v: 2, collective: C, name: 'xena', identityKey: b64(mallory.publicKey), commitment: '5', prekey: { id: b64(randomBytes(8)), key: b64(w.k.xena!.prekey.publicKey) }, ts: Date.now(),
  }), rejects(403));

  await w.assertCounts('zoe');
  assert.equal((await w.op.client.listRequests(c)).requests.find((r) => r.request.name === 'zoe')!.vouches, 1);
});

test('leave and expel shrink the tree, reset open vouches under a new epoch, and the removed member\'s next proof is refused', async () => {
  // boris leaves: only his own identity key can make him
  const borisC = w.commitmentOf('boris').toString();
  await w.unchanged(() => w.op.client.leave(c, 'boris', w.k.anna!.identity.privateKey, borisC), rejects(401, 'bad signature'));
  const oldLeaves = (await w.op.client.tree(c)).leaves.map(BigInt);
  const left = await w.op.client.leave(c, 'boris', w.k.boris!.identity.privateKey, borisC);
  assert.equal(left.seq, 16);
  w.reset('boris', c); w.reset('zoe', c);
  let tree = await w.op.client.tree(c);
  assert.equal(tree.leaves.length, 16);
  assert.equal(tree.leaves[2], '0');
  assert.deepEqual(tree.acceptedRoots, [tree.root], 'a removal invalidates every earlier root');
  assert.equal((await w.op.client.getCollective(c)).members, 15);
  const zoeReq = (await w.op.client.listRequests(c)).requests.find((r) => r.request.name === 'zoe')!;
  assert.deepEqual({ epoch: zoeReq.epoch, vouches: zoeReq.vouches, needed: zoeReq.needed }, { epoch: 1, vouches: 0, needed: 4 });
  await w.assertCounts('zoe'); await w.assertCounts('boris');
  await assert.rejects(w.op.client.member(c, 'boris'), rejects(404));
  const { entries } = await w.op.client.log(c, 16);
  assert.equal(entries[0]!.type, 'leave');

  // boris's next proof, against the tree he was in: refused; against today's tree he cannot prove at all
  const borisProof = await w.prove('boris', 'vouch', 'zoe', 1, w.commitmentOf('zoe'), { leaves: oldLeaves });
  await w.unchanged(() => w.op.client.vouch(c, 'zoe', borisProof), rejects(403, 'unknown root'));
  await assert.rejects(proveVouch({ identity: memberIdentity(w.k.boris!.secret, c), members: tree.leaves.map(BigInt), kind: 'vouch', collective: c, subject: 'zoe', epoch: 1, commitment: w.commitmentOf('zoe') }), /not a member/);
  // anna's vouch from before the removal no longer counts, and cannot be replayed
  await w.unchanged(() => w.op.client.vouch(c, 'zoe', zoeVouch), rejects(401, 'wrong scope'));

  // expel chen: quorum(log2, 15) = 4 anonymous votes
  const chen = await w.op.client.member(c, 'chen');
  assert.deepEqual({ epoch: chen.expelEpoch, votes: chen.votes, needed: chen.expelNeeded }, { epoch: 0, votes: 0, needed: 4 });
  const chenLeaves = (await w.op.client.tree(c)).leaves.map(BigInt);
  const voters = ['dara', 'emeka', 'fatma', 'gus'];
  const votes: VouchProof[] = [];
  for (const [i, voter] of voters.entries()) {
    const vote = await w.prove(voter, 'expel', 'chen', 0, w.commitmentOf('chen'));
    votes.push(vote);
    const res = await w.op.client.expel(c, 'chen', vote);
    assert.deepEqual(res, i < 3 ? { votes: i + 1, needed: 4, expelled: false } : { votes: 4, needed: 4, expelled: true, seq: 17 });
    if (i === 0) await w.unchanged(() => w.op.client.expel(c, 'chen', vote), rejects(409, 'nullifier used'));
  }
  w.reset('chen', c);
  tree = await w.op.client.tree(c);
  assert.equal(tree.leaves[3], '0');
  assert.equal((await w.op.client.getCollective(c)).members, 14);
  const expel = (await w.op.client.log(c, 17)).entries[0]!;
  assert.equal(expel.type, 'expel');
  assert.deepEqual(expel.proofs.map((p) => p.nullifier).sort(), votes.map((p) => p.nullifier).sort());
  await w.assertCounts('chen');
  const chenProof = await w.prove('chen', 'vouch', 'zoe', 1, w.commitmentOf('zoe'), { leaves: chenLeaves });
  await w.unchanged(() => w.op.client.vouch(c, 'zoe', chenProof), rejects(403, 'unknown root'));
  await assert.rejects(w.op.client.member(c, 'chen'), rejects(404));
  // the log is still one chain
  const all = (await w.op.client.log(c)).entries;
  assert.equal(all.length, 18);
  assert.equal((await w.op.client.getCollective(c)).seq, 17);
});

test('the store, its files and its logs tie no vouch or expel vote to the member who cast it', async () => {
  await w.op.store.compact(true);
  await new Promise((r) => setTimeout(r, 60)); // one more counter log line
  const vouchers = [...NAMES, 'xena']; // everyone who vouched or voted, and more
  const values = new Map(vouchers.map((n) => [n, [b64(w.k[n]!.identity.publicKey), w.k[n]!.intro, w.commitmentOf(n).toString(), w.commitmentOf(n, 'seattle').toString()]]));
  const valuesOf = (n: string) => values.get(n)!; // deriving an identity takes ~40 ms: once per komrade
  // a name is found as a JSON string or a key segment (a bare 3-letter name could occur inside any base64 by chance)
  const holds = (key: string, value: string, n: string, v?: string) =>
    v === undefined ? key.split('!').includes(n) || value.includes(`"${n}"`) : key.includes(v) || value.includes(v);
  // every record holding anything that identifies a voucher must be about that voucher (directory, tree, their own
  // request, membership, log entry or charter) — never a vouch, a nullifier, a root, a count or a log entry about someone else
  const records: [string, string][] = [];
  for await (const [key, value] of w.op.store.db.iterator({ valueEncoding: 'utf8' } as never)) records.push([key, value as unknown as string]);
  let vouchRecords = 0;
  // a one-leaf tree's root is its leaf: proofs made while the founder was alone name the founder's commitment as
  // their root (the founder is then, inevitably, the voucher: an anonymity set of one, COLLECTIVES.md §13)
  const soloRoots = [w.commitmentOf('fiona').toString(), w.commitmentOf('xena', 'seattle').toString()];
  for (const [key, stored] of records) {
    const [, sub, ...rest] = key.split('!');
    const value = soloRoots.reduce((x, r) => x.replaceAll(`"merkleTreeRoot":"${r}"`, '"merkleTreeRoot":"<one-leaf root>"'), stored);
    if (sub === 'U') {
      vouchRecords++;
      assert.deepEqual(Object.keys(JSON.parse(stored)).sort(), ['merkleTreeDepth', 'merkleTreeRoot', 'message', 'nullifier', 'points', 'scope']);
      VouchProof.parse(JSON.parse(stored));
      assert.equal(rest.length, 2, 'a counted vouch is keyed by scope and nullifier only');
    }
    for (const n of vouchers) {
      for (const v of [undefined, ...valuesOf(n)]) {
        if (!holds(key, value, n, v)) continue;
        const about = sub === 'n' || sub === 'k' || sub === 'm' || sub === 'T' // directory and public tree
          || sub === 'O' || sub === 'I' // the key-transparency log's live entries (PROTOCOL.md §5.11), part of the directory
          || (sub === 'L' && (JSON.parse(value) as LogEntry).name === n)
          || (sub === 'C' && (JSON.parse(value) as { charter: Charter }).charter.founder === n)
          || (sub === 'A' && rest[1] === v) // a one-leaf tree's root is that leaf: the founder's commitment
          || (['M', 'J', 'E', 'X'].includes(sub!) && rest.includes(n)) || (sub === 'W' && rest[0] === n);
        assert.ok(about, `${n}'s ${v === undefined ? 'name' : 'identifier'} found in ${key}`);
      }
    }
  }
  assert.equal(vouchRecords, proofsCounted(), 'one record per counted vouch or vote');
  // on disk: no identity secret of any member, in any file
  const needles: Record<string, string> = {};
  for (const n of vouchers) {
    needles[`${n} secret scalar`] = memberIdentity(w.k[n]!.secret, c).secretScalar.toString();
    needles[`${n} vault secret`] = b64(w.k[n]!.secret);
  }
  assert.deepEqual(findOnDisk(w.op.dataDir, needles), []);
  // the logs: counts only
  assert.ok(w.lines.length > 0);
  for (const line of w.lines) {
    assert.match(line, /^(requests|sweep): /);
    for (const n of vouchers) for (const v of [n, ...valuesOf(n)]) assert.ok(!line.includes(v), line);
  }
});

/** How many vouches and votes the Operator counted (admissions, member vouches, open requests, expel votes). */
function proofsCounted(): number {
  // 30+ admissions' proofs, quinn → anna, xena → anna (seattle), anna → zoe (before the reset: kept under its old scope), 4 votes
  return NEEDED.reduce((a, b) => a + b, 0) + 1 + 1 + 1 + 4;
}
