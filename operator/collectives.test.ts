// Collectives on a real Operator with REAL Semaphore proofs (COLLECTIVES.md): a collective grown
// by anonymous vouching to 16 members under `log2` (quorum 1 → 4), counts at every step,
// refusals that change nothing (double vouch, non-member, wrong scope/message, tampering,
// malformed, oversize), leave and expel, and a dump of the store, its files and its logs
// that ties no vouch or expel vote to the member who cast it. ~60 proofs at ~2–3 s each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorError } from '../protocol/client.ts';
import { LogEntry, type Charter } from '../protocol/collective.ts';
import { quorum, type QuorumRule } from '../protocol/quorum.ts';
import { signRecord, solvePow } from '../protocol/identity.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { memberIdentity, proveVouch, rootOf, shutdownCurve, VouchProof, type ProofKind } from '../protocol/vouch.ts';
import { findOnDisk, komrade, raw, snapshot, startTestOperator } from '../test/support/operator.ts';

type Op = Awaited<ReturnType<typeof startTestOperator>>;
let op: Op;
const lines: string[] = [];
const t0 = performance.now();
let proofs = 0;

const NAMES = ['fiona', 'anna', 'boris', 'chen', 'dara', 'emeka', 'fatma', 'gus', 'hana', 'jonas', 'kofi', 'mara', 'nadia', 'omar', 'petra', 'quinn'];
const EXTRA = ['xena', 'yuri', 'zoe'];
type K = ReturnType<typeof komrade> & { secret: Uint8Array };
const k: Record<string, K> = {};
const C = 'Portland', c = 'portland';

const rejects = (status: number, reason?: string) => (e: unknown) =>
  e instanceof OperatorError && e.status === status && (reason === undefined || e.reason === reason);
const commitmentOf = (who: string, coll = c) => memberIdentity(k[who]!.secret, coll).commitment;

/** A real proof by `who` about `subject`, against the collective's current tree (or `leaves`). */
async function prove(who: string, kind: ProofKind, subject: string, epoch: number, commitment: bigint, o: { coll?: string; leaves?: bigint[] } = {}) {
  const coll = o.coll ?? c;
  const leaves = o.leaves ?? (await op.client.tree(coll)).leaves.map(BigInt);
  proofs++;
  return proveVouch({ identity: memberIdentity(k[who]!.secret, coll), members: leaves, kind, collective: coll, subject, epoch, commitment });
}

async function ask(who: string, coll = C) {
  const p = k[who]!;
  return op.client.requestJoin(p.identity.privateKey, {
    v: 2, collective: coll, name: who, identityKey: b64(p.identity.publicKey), commitment: commitmentOf(who, coll).toString(),
    prekey: { id: b64(randomBytes(8)), key: b64(p.prekey.publicKey) }, ts: Date.now(),
  });
}

function charter(name: string, founder: string, quorumRule: QuorumRule): Charter {
  const f = k[founder]!;
  return { v: 2, name, description: `the ${name} collective`, quorum: quorumRule, created: Date.now(), founder, founderKey: b64(f.identity.publicKey), founderCommitment: commitmentOf(founder, name).toString() };
}

/** What the counts should be: name → collective → vouches. */
const model = new Map<string, Record<string, number>>();
const bump = (name: string, coll: string) => { const m = model.get(name) ?? {}; m[coll] = (m[coll] ?? 0) + 1; model.set(name, m); };
const reset = (name: string, coll: string) => { const m = model.get(name); if (m) delete m[coll]; };
async function assertCounts(name: string) {
  const m = model.get(name) ?? {};
  assert.deepEqual(await op.client.vouchCounts(name), { total: Object.values(m).reduce((a, b) => a + b, 0), collectives: m }, `counts of ${name}`);
}

/** Assert that a refused request changed nothing in the store. */
async function unchanged<T>(what: () => Promise<T>, check: (e: unknown) => boolean) {
  const before = await snapshot(op);
  await assert.rejects(what, check);
  assert.deepEqual(await snapshot(op), before, 'a refusal changes nothing');
}
async function unchangedRaw(path: string, body: unknown, status: number) {
  const before = await snapshot(op);
  const r = await raw(op.url, 'POST', path, body);
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(await snapshot(op), before, 'a refusal changes nothing');
  return r.body;
}

before(async () => {
  await loadThemis();
  op = await startTestOperator({ logMs: 20, log: (l) => lines.push(l) });
  // proving blocks this process (client and Operator alike) for seconds: keep-alive timers would then race
  // the client's reuse of a socket the server is closing ("fetch failed"); add-on and Operator never share a process
  op.server.keepAliveTimeout = 10 * 60_000;
  for (const name of [...NAMES, ...EXTRA]) {
    k[name] = Object.assign(komrade(name), { secret: randomBytes(32) });
    await k[name]!.register(op.client);
  }
});
after(async () => {
  await op?.close();
  await shutdownCurve();
  console.log(`# ${proofs} proofs, ${Math.round((performance.now() - t0) / 1000)} s`);
});

test('collective names share the komrade namespace both ways; the founder must be a registered name with its own key', async () => {
  // a collective named like a komrade, or like its skeleton, is refused; and the other way round
  await unchanged(() => op.client.createCollective(k.anna!.identity.privateKey, charter('anna', 'anna', 'one')), rejects(409, 'name taken'));
  await unchanged(() => op.client.createCollective(k.anna!.identity.privateKey, charter('ANNA', 'anna', 'one')), rejects(409, 'name taken'));
  await unchanged(() => op.client.createCollective(k.boris!.identity.privateKey, charter('bor1s', 'boris', 'one')), rejects(409, 'too similar to an existing name'));
  // founder key not the directory's; signature by another key
  const stranger = new KeyPair();
  await unchanged(() => op.client.createCollective(stranger.privateKey, { ...charter(C, 'fiona', 'log2'), founderKey: b64(stranger.publicKey) }), rejects(403));
  await unchanged(() => op.client.createCollective(stranger.privateKey, charter(C, 'fiona', 'log2')), rejects(401, 'bad signature'));
  await unchanged(() => op.client.createCollective(k.fiona!.identity.privateKey, { ...charter(C, 'fiona', 'log2'), founder: 'nobody' }), rejects(404));

  assert.deepEqual(await op.client.createCollective(k.fiona!.identity.privateKey, charter(C, 'fiona', 'log2')), { root: rootOf([commitmentOf('fiona')]), seq: 0 });
  await assert.rejects(op.client.createCollective(k.anna!.identity.privateKey, charter('portland', 'anna', 'one')), rejects(409, 'name taken'));
  for (const name of ['portland', 'PortIand', 'p0rtland']) {
    const p = komrade(name);
    await op.client.createMailbox(p.intro, p.mailbox);
    const signed = signRecord(p.identity.privateKey, p.record());
    await unchanged(async () => op.client.register(signed, await solvePow(name, signed.record.identityKey, 8), p.mailbox.privateKey), rejects(409));
  }

  const info = await op.client.getCollective('PORTLAND');
  assert.equal(info.charter.name, C);
  assert.deepEqual({ members: info.members, leaves: info.leaves, seq: info.seq, needed: info.needed }, { members: 1, leaves: 1, seq: 0, needed: 1 });
  const { entries } = await op.client.log(c);
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.type, 'found');
  assert.equal(entries[0]!.commitment, commitmentOf('fiona').toString());
});

test('a collective grows to 16 members by anonymous vouching under log2: quorum 1 → 4, counts right at every step', async () => {
  const expectedNeeded = [1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4]; // quorum(log2, n) for n = 1..15 members
  let seq = 0;
  for (let n = 1; n < 16; n++) {
    const candidate = NAMES[n]!, members = NAMES.slice(0, n);
    const needed = expectedNeeded[n - 1]!;
    assert.equal(quorum('log2', n), needed);
    assert.deepEqual(await ask(candidate), { epoch: 0, vouches: 0, needed, admitted: false });
    await assertCounts(candidate);
    const [open] = (await op.client.listRequests(c)).requests;
    assert.deepEqual({ name: open!.request.name, epoch: open!.epoch, vouches: open!.vouches, needed: open!.needed }, { name: candidate, epoch: 0, vouches: 0, needed });
    for (let v = 0; v < needed; v++) {
      const voucher = members[n - 1 - v]!; // a different member each time
      const proof = await prove(voucher, 'vouch', candidate, 0, commitmentOf(candidate));
      const res = await op.client.vouch(c, candidate, proof);
      bump(candidate, c);
      const last = v === needed - 1;
      assert.deepEqual(res, last ? { vouches: v + 1, needed, state: 'admitted', seq: seq + 1 } : { vouches: v + 1, needed, state: 'open' });
      await assertCounts(candidate);
      if (!last) assert.equal((await op.client.listRequests(c)).requests[0]!.vouches, v + 1);
    }
    seq++;
    const info = await op.client.getCollective(c);
    assert.deepEqual({ members: info.members, leaves: info.leaves, seq: info.seq, requests: info.requests, needed: info.needed },
      { members: n + 1, leaves: n + 1, seq, requests: 0, needed: quorum('log2', n + 1) });
    const tree = await op.client.tree(c);
    assert.deepEqual(tree.leaves, NAMES.slice(0, n + 1).map((x) => commitmentOf(x).toString()));
    assert.equal(tree.root, rootOf(tree.leaves.map(BigInt)));
    assert.ok(tree.acceptedRoots.includes(tree.root));
    assert.equal(tree.acceptedRoots.length, n + 1, 'no removal yet: every root so far is accepted');
    assert.deepEqual((await op.client.member(c, candidate)).vouches, needed);
  }
  assert.equal((await op.client.getCollective(c)).needed, 5);
  // the log: hash-chained, each admission carrying exactly the quorum of proofs that admitted it
  const { entries, more } = await op.client.log(c);
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
  for (const name of NAMES) await assertCounts(name);
});

test('vouching for an existing member grows their count (per collective and overall) and changes no membership', async () => {
  const before = await op.client.getCollective(c);
  const anna = await op.client.member(c, 'anna');
  const res = await op.client.vouch(c, 'anna', await prove('quinn', 'vouch', 'anna', anna.vouchEpoch, commitmentOf('anna')));
  bump('anna', c);
  assert.deepEqual(res, { vouches: anna.vouches + 1, needed: 5, state: 'member' });
  const after = await op.client.getCollective(c);
  assert.deepEqual({ ...after }, { ...before }, 'no membership change, no log entry');
  await assertCounts('anna');

  // a second collective (open: anyone who asks is in at once), so anna's counts span two
  await op.client.createCollective(k.xena!.identity.privateKey, charter('Seattle', 'xena', 'open'));
  assert.deepEqual(await ask('anna', 'Seattle'), { epoch: 0, vouches: 0, needed: 0, admitted: true, seq: 1 });
  assert.deepEqual(await ask('yuri', 'Seattle'), { epoch: 0, vouches: 0, needed: 0, admitted: true, seq: 2 });
  const r = await op.client.vouch('seattle', 'anna', await prove('xena', 'vouch', 'anna', 0, commitmentOf('anna', 'seattle'), { coll: 'seattle' }));
  bump('anna', 'seattle');
  assert.equal(r.state, 'member');
  assert.deepEqual(await op.client.vouchCounts('anna'), { total: model.get('anna')![c]! + 1, collectives: { portland: model.get('anna')![c]!, seattle: 1 } });
  assert.equal((await op.client.getCollective('seattle')).expelNeeded, quorum('log2', 3), 'an open collective expels by log2');
});

let zoeVouch: VouchProof;
test('refused, changing nothing: double vouch 409, non-member 403, wrong scope or message 401, tampered 401, malformed 400, oversize 413', async () => {
  await ask('zoe');
  await ask('yuri');
  zoeVouch = await prove('anna', 'vouch', 'zoe', 0, commitmentOf('zoe'));
  assert.deepEqual(await op.client.vouch(c, 'zoe', zoeVouch), { vouches: 1, needed: 5, state: 'open' });
  bump('zoe', c);

  // the same member again: the same proof, or a fresh one (same scope, so the same nullifier)
  await unchanged(() => op.client.vouch(c, 'zoe', zoeVouch), rejects(409, 'nullifier used'));
  const again = await prove('anna', 'vouch', 'zoe', 0, commitmentOf('zoe'));
  assert.equal(again.nullifier, zoeVouch.nullifier);
  assert.notDeepEqual(again.points, zoeVouch.points);
  await unchanged(() => op.client.vouch(c, 'zoe', again), rejects(409, 'nullifier used'));

  // a non-member: a valid proof, but in a tree of its own making
  const fake = [...(await op.client.tree(c)).leaves.map(BigInt), commitmentOf('xena')];
  const outsider = await prove('xena', 'vouch', 'zoe', 0, commitmentOf('zoe'), { leaves: fake });
  await unchanged(() => op.client.vouch(c, 'zoe', outsider), rejects(403, 'unknown root'));

  // a proof for zoe offered for yuri; bound to another message (another epoch: in the next test)
  await unchanged(() => op.client.vouch(c, 'yuri', zoeVouch), rejects(401, 'wrong scope'));
  await unchanged(() => op.client.vouch(c, 'zoe', { ...zoeVouch, message: '1' }), rejects(401, 'wrong message'));
  // an expel proof is no vouch, a vouch no expel vote
  await unchanged(() => op.client.expel(c, 'anna', zoeVouch), rejects(401, 'wrong scope'));

  // tampered: points, nullifier (a fresh-looking nullifier must not buy a second vouch), root
  const pts = [...zoeVouch.points]; pts[0] = (BigInt(pts[0]!) + 1n).toString();
  await unchanged(() => op.client.vouch(c, 'zoe', { ...zoeVouch, points: pts }), rejects(401, 'invalid proof'));
  await unchanged(() => op.client.vouch(c, 'zoe', { ...zoeVouch, nullifier: (BigInt(zoeVouch.nullifier) + 1n).toString() }), rejects(401, 'invalid proof'));
  const { acceptedRoots } = await op.client.tree(c);
  const otherRoot = acceptedRoots.find((r) => r !== zoeVouch.merkleTreeRoot)!;
  await unchanged(() => op.client.vouch(c, 'zoe', { ...zoeVouch, merkleTreeRoot: otherRoot }), rejects(401, 'invalid proof'));

  // malformed and oversize, through raw HTTP
  const path = `/collectives/${c}/vouches/zoe`;
  await unchangedRaw(path, { proof: { ...zoeVouch, merkleTreeDepth: 20 } }, 400);
  await unchangedRaw(path, { proof: { ...zoeVouch, extra: 1 } }, 400);
  await unchangedRaw(path, { proof: { ...zoeVouch, nullifier: `0${zoeVouch.nullifier}` } }, 400);
  await unchangedRaw(path, { proof: { ...zoeVouch, points: zoeVouch.points.slice(1) } }, 400);
  await unchangedRaw(path, { proof: zoeVouch, who: 'anna' }, 400);
  await unchangedRaw(path, { proof: { ...zoeVouch, points: [...zoeVouch.points.slice(1), '9'.repeat(100_000)] } }, 413);
  await unchangedRaw(`/collectives/${c}/vouches/nobody`, { proof: zoeVouch }, 404);
  await unchangedRaw(`/collectives/atlantis/vouches/zoe`, { proof: zoeVouch }, 404);

  // join refusals: twice, a member, a forged signature, another's key, a replay
  await unchanged(() => ask('zoe'), rejects(409, 'request open'));
  await unchanged(() => ask('anna'), rejects(409, 'already a member'));
  await unchanged(() => op.client.requestJoin(new KeyPair().privateKey, {
    v: 2, collective: C, name: 'xena', identityKey: b64(k.xena!.identity.publicKey), commitment: '5', prekey: { id: b64(randomBytes(8)), key: b64(k.xena!.prekey.publicKey) }, ts: Date.now(),
  }), rejects(401, 'bad signature'));
  const mallory = new KeyPair();
  await unchanged(() => op.client.requestJoin(mallory.privateKey, {
    v: 2, collective: C, name: 'xena', identityKey: b64(mallory.publicKey), commitment: '5', prekey: { id: b64(randomBytes(8)), key: b64(k.xena!.prekey.publicKey) }, ts: Date.now(),
  }), rejects(403));

  await assertCounts('zoe');
  assert.equal((await op.client.listRequests(c)).requests.find((r) => r.request.name === 'zoe')!.vouches, 1);
});

test('leave and expel shrink the tree, reset open vouches under a new epoch, and the removed member\'s next proof is refused', async () => {
  // boris leaves: only his own identity key can make him
  const borisC = commitmentOf('boris').toString();
  await unchanged(() => op.client.leave(c, 'boris', k.anna!.identity.privateKey, borisC), rejects(401, 'bad signature'));
  const oldLeaves = (await op.client.tree(c)).leaves.map(BigInt);
  const left = await op.client.leave(c, 'boris', k.boris!.identity.privateKey, borisC);
  assert.equal(left.seq, 16);
  reset('boris', c); reset('zoe', c);
  let tree = await op.client.tree(c);
  assert.equal(tree.leaves.length, 16);
  assert.equal(tree.leaves[2], '0');
  assert.deepEqual(tree.acceptedRoots, [tree.root], 'a removal invalidates every earlier root');
  assert.equal((await op.client.getCollective(c)).members, 15);
  const zoeReq = (await op.client.listRequests(c)).requests.find((r) => r.request.name === 'zoe')!;
  assert.deepEqual({ epoch: zoeReq.epoch, vouches: zoeReq.vouches, needed: zoeReq.needed }, { epoch: 1, vouches: 0, needed: 4 });
  await assertCounts('zoe'); await assertCounts('boris');
  await assert.rejects(op.client.member(c, 'boris'), rejects(404));
  const { entries } = await op.client.log(c, 16);
  assert.equal(entries[0]!.type, 'leave');

  // boris's next proof, against the tree he was in: refused; against today's tree he cannot prove at all
  const borisProof = await prove('boris', 'vouch', 'zoe', 1, commitmentOf('zoe'), { leaves: oldLeaves });
  await unchanged(() => op.client.vouch(c, 'zoe', borisProof), rejects(403, 'unknown root'));
  await assert.rejects(proveVouch({ identity: memberIdentity(k.boris!.secret, c), members: tree.leaves.map(BigInt), kind: 'vouch', collective: c, subject: 'zoe', epoch: 1, commitment: commitmentOf('zoe') }), /not a member/);
  // anna's vouch from before the removal no longer counts, and cannot be replayed
  await unchanged(() => op.client.vouch(c, 'zoe', zoeVouch), rejects(401, 'wrong scope'));

  // expel chen: quorum(log2, 15) = 4 anonymous votes
  const chen = await op.client.member(c, 'chen');
  assert.deepEqual({ epoch: chen.expelEpoch, votes: chen.votes, needed: chen.expelNeeded }, { epoch: 0, votes: 0, needed: 4 });
  const chenLeaves = (await op.client.tree(c)).leaves.map(BigInt);
  const voters = ['dara', 'emeka', 'fatma', 'gus'];
  const votes: VouchProof[] = [];
  for (const [i, voter] of voters.entries()) {
    const vote = await prove(voter, 'expel', 'chen', 0, commitmentOf('chen'));
    votes.push(vote);
    const res = await op.client.expel(c, 'chen', vote);
    assert.deepEqual(res, i < 3 ? { votes: i + 1, needed: 4, expelled: false } : { votes: 4, needed: 4, expelled: true, seq: 17 });
    if (i === 0) await unchanged(() => op.client.expel(c, 'chen', vote), rejects(409, 'nullifier used'));
  }
  reset('chen', c);
  tree = await op.client.tree(c);
  assert.equal(tree.leaves[3], '0');
  assert.equal((await op.client.getCollective(c)).members, 14);
  const expel = (await op.client.log(c, 17)).entries[0]!;
  assert.equal(expel.type, 'expel');
  assert.deepEqual(expel.proofs.map((p) => p.nullifier).sort(), votes.map((p) => p.nullifier).sort());
  await assertCounts('chen');
  const chenProof = await prove('chen', 'vouch', 'zoe', 1, commitmentOf('zoe'), { leaves: chenLeaves });
  await unchanged(() => op.client.vouch(c, 'zoe', chenProof), rejects(403, 'unknown root'));
  await assert.rejects(op.client.member(c, 'chen'), rejects(404));
  // the log is still one chain
  const all = (await op.client.log(c)).entries;
  assert.equal(all.length, 18);
  assert.equal((await op.client.getCollective(c)).seq, 17);
});

test('the store, its files and its logs tie no vouch or expel vote to the member who cast it', async () => {
  await op.store.compact(true);
  await new Promise((r) => setTimeout(r, 60)); // one more counter log line
  const vouchers = [...NAMES, 'xena']; // everyone who vouched or voted, and more
  const values = new Map(vouchers.map((n) => [n, [b64(k[n]!.identity.publicKey), k[n]!.intro, commitmentOf(n).toString(), commitmentOf(n, 'seattle').toString()]]));
  const valuesOf = (n: string) => values.get(n)!; // deriving an identity takes ~40 ms: once per komrade
  // a name is found as a JSON string or a key segment (a bare 3-letter name could occur inside any base64 by chance)
  const holds = (key: string, value: string, n: string, v?: string) =>
    v === undefined ? key.split('!').includes(n) || value.includes(`"${n}"`) : key.includes(v) || value.includes(v);
  // every record holding anything that identifies a voucher must be about that voucher (directory, tree, their own
  // request, membership, log entry or charter) — never a vouch, a nullifier, a root, a count or a log entry about someone else
  const records: [string, string][] = [];
  for await (const [key, value] of op.store.db.iterator({ valueEncoding: 'utf8' } as never)) records.push([key, value as unknown as string]);
  let vouchRecords = 0;
  // a one-leaf tree's root is its leaf: proofs made while the founder was alone name the founder's commitment as
  // their root (the founder is then, inevitably, the voucher: an anonymity set of one, COLLECTIVES.md §13)
  const soloRoots = [commitmentOf('fiona').toString(), commitmentOf('xena', 'seattle').toString()];
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
    needles[`${n} secret scalar`] = memberIdentity(k[n]!.secret, c).secretScalar.toString();
    needles[`${n} vault secret`] = b64(k[n]!.secret);
  }
  assert.deepEqual(findOnDisk(op.dataDir, needles), []);
  // the logs: counts only
  assert.ok(lines.length > 0);
  for (const line of lines) {
    assert.match(line, /^(requests|sweep): /);
    for (const n of vouchers) for (const v of [n, ...valuesOf(n)]) assert.ok(!line.includes(v), line);
  }
});

/** How many vouches and votes the Operator counted (admissions, member vouches, open requests, expel votes). */
function proofsCounted(): number {
  // 30+ admissions' proofs, quinn → anna, xena → anna (seattle), anna → zoe (before the reset: kept under its old scope), 4 votes
  return [1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4].reduce((a, b) => a + b, 0) + 1 + 1 + 1 + 4;
}
