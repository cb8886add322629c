// Anonymous vouching with real Semaphore v4 proofs (depth 16, the ceremony's artifacts from npm):
// nullifiers per scope, non-members, wrong scope/message, tampering, unknown roots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Group } from '@semaphore-protocol/group';
import { generateProof } from '@semaphore-protocol/proof';
import { randomBytes } from './bytes.ts';
import {
  DEPTH, SNARK_FIELD, VouchProof, artifactPaths, memberIdentity, messageFor, proveVouch, rootOf, scope,
  semaphoreHash, shutdownCurve, verifyVouch, type ProofSubject,
} from './vouch.ts';

const collective = 'Portland';
// Only the provers need real identities (~40 ms each); the rest of the tree is random commitments.
const filler = () => BigInt(`0x${Buffer.from(randomBytes(31)).toString('hex')}`);
const voucher = memberIdentity(randomBytes(32), collective);
const outsider = memberIdentity(randomBytes(32), collective);
const members = [...Array.from({ length: 20 }, filler), voucher.commitment, ...Array.from({ length: 9 }, filler)];
const roots = new Set([rootOf(members)]);
const xavier = filler(); // the candidates' commitments, as their join requests named them
const yolanda = filler();
const forX: ProofSubject = { kind: 'vouch', collective, subject: 'xavier', commitment: xavier };
const forY: ProofSubject = { kind: 'vouch', collective, subject: 'yolanda', commitment: yolanda };

let vouchX: VouchProof;
let proveMs = 0;
before(async () => {
  const t = performance.now();
  vouchX = await proveVouch({ ...forX, identity: voucher, members });
  proveMs = performance.now() - t;
});
after(() => shutdownCurve()); // or the verifier's worker threads keep the test process alive

test('artifacts come from node_modules at depth 16', () => {
  const { wasm, zkey } = artifactPaths();
  assert.match(wasm, /@zk-kit\/semaphore-artifacts\/semaphore-16\.wasm$/);
  assert.match(zkey, /@zk-kit\/semaphore-artifacts\/semaphore-16\.zkey$/);
  assert.equal(DEPTH, 16);
});

test('one identity per collective, derived from the vault secret', () => {
  const secret = randomBytes(32);
  assert.equal(memberIdentity(secret, 'portland').commitment, memberIdentity(new Uint8Array(secret), 'PORTLAND').commitment);
  assert.notEqual(memberIdentity(secret, 'portland').commitment, memberIdentity(secret, 'seattle').commitment);
  assert.notEqual(memberIdentity(secret, 'portland').commitment, memberIdentity(randomBytes(32), 'portland').commitment);
  assert.throws(() => memberIdentity(randomBytes(31), 'portland'), RangeError);
  assert.throws(() => memberIdentity(randomBytes(32), 'no\nway'));
});

test('scopes and messages: domain-separated, case-insensitive, in the field', () => {
  const values = [
    scope('vouch', 'portland', 'xavier'), scope('vouch', 'portland', 'xavier', 1), scope('expel', 'portland', 'xavier'),
    scope('cursor', 'portland', 'xavier'), scope('vouch', 'seattle', 'xavier'), scope('vouch', 'portland', 'yolanda'),
    messageFor('vouch', 'portland', 'xavier'), messageFor('vouch', 'portland', 'xavier', 1n),
  ];
  assert.equal(new Set(values).size, values.length);
  for (const v of values) assert.ok(v >= 0n && v < SNARK_FIELD);
  assert.equal(scope('vouch', 'PortLand', 'Xavier', 0), scope('vouch', 'portland', 'xavier'));
  assert.throws(() => scope('vouch', 'portland', 'x\nvouch'));
  assert.throws(() => scope('vouch', 'portland', 'xavier', -1), RangeError);
  assert.throws(() => scope('join' as 'vouch', 'portland', 'xavier'), TypeError);
  assert.ok(semaphoreHash(SNARK_FIELD - 1n) < SNARK_FIELD);
});

test('a member vouches for a candidate and the proof verifies', async (c) => {
  c.diagnostic(`prove (depth ${DEPTH}, 30 members, single-threaded): ${Math.round(proveMs)} ms`);
  assert.ok(VouchProof.safeParse(vouchX).success);
  assert.ok(JSON.stringify(vouchX).length < 1100);
  let t = performance.now();
  const v = await verifyVouch(JSON.parse(JSON.stringify(vouchX)), { ...forX, roots });
  c.diagnostic(`first verify (builds the curve): ${Math.round(performance.now() - t)} ms`);
  assert.deepEqual(v, { ok: true, nullifier: vouchX.nullifier });
  t = performance.now();
  assert.ok((await verifyVouch(vouchX, { ...forX, roots: (r) => roots.has(r) })).ok);
  c.diagnostic(`warm verify: ${Math.round(performance.now() - t)} ms`);
});

test('a second vouch for the same candidate repeats the nullifier; another candidate gets another', async () => {
  const again = await proveVouch({ ...forX, identity: voucher, members });
  const vouchY = await proveVouch({ ...forY, identity: voucher, members });
  const a = await verifyVouch(again, { ...forX, roots });
  const y = await verifyVouch(vouchY, { ...forY, roots });
  assert.ok(a.ok && y.ok);
  assert.equal(a.nullifier, vouchX.nullifier); // the Operator refuses it: 409
  assert.notEqual(y.nullifier, vouchX.nullifier);
  assert.notDeepEqual(again.points, vouchX.points); // proofs themselves are randomised
  // the vouch for Yolanda presented as one for Xavier: refused before any pairing is computed
  assert.deepEqual(await verifyVouch(vouchY, { ...forX, roots }), { ok: false, reason: 'wrong scope' });
});

test('a non-member cannot prove against the collective\'s root', async () => {
  // with the real member list there is no Merkle path for it: proveVouch throws
  await assert.rejects(proveVouch({ ...forX, identity: outsider, members }), /not a member/);
  // a tree of its own making yields a valid proof, but for a root the Operator never had
  const forged = await proveVouch({ ...forX, identity: outsider, members: [...members, outsider.commitment] });
  assert.notEqual(forged.merkleTreeRoot, [...roots][0]);
  assert.deepEqual(await verifyVouch(forged, { ...forX, roots }), { ok: false, reason: 'unknown root' });
  assert.ok((await verifyVouch(forged, { ...forX, roots: new Set([forged.merkleTreeRoot]) })).ok); // the root check is what keeps it out
  assert.notEqual(forged.nullifier, vouchX.nullifier);
});

test('tampered, mis-bound and malformed proofs are refused', async () => {
  const refuse = async (proof: unknown, reason: string, expect: ProofSubject = forX) =>
    assert.deepEqual(await verifyVouch(proof, { ...expect, roots }), { ok: false, reason }, reason);
  const points = [...vouchX.points];
  points[0] = ((BigInt(points[0]!) + 1n)).toString();
  await refuse({ ...vouchX, points }, 'invalid proof');
  points[0] = vouchX.points[0]!; points[3] = vouchX.points[2]!;
  await refuse({ ...vouchX, points }, 'invalid proof');
  await refuse({ ...vouchX, nullifier: ((BigInt(vouchX.nullifier) + 1n) % SNARK_FIELD).toString() }, 'invalid proof');
  await refuse(vouchX, 'wrong scope', { ...forX, epoch: 1 });
  await refuse(vouchX, 'wrong scope', { ...forX, kind: 'expel' });
  await refuse(vouchX, 'wrong scope', { ...forX, collective: 'seattle' });
  await refuse(vouchX, 'wrong message', { ...forX, commitment: yolanda }); // vouched for another commitment
  await refuse({ ...vouchX, message: messageFor('vouch', collective, 'xavier').toString() }, 'wrong message');
  await refuse({ ...vouchX, merkleTreeRoot: rootOf([...members, 1n]) }, 'unknown root');
  await refuse({ ...vouchX, merkleTreeDepth: 20 }, 'malformed');
  await refuse({ ...vouchX, extra: 1 }, 'malformed');
  await refuse({ ...vouchX, scope: `0x${BigInt(vouchX.scope).toString(16)}` }, 'malformed'); // Semaphore would accept hex
  await refuse({ ...vouchX, nullifier: SNARK_FIELD.toString() }, 'malformed');
  await refuse({ ...vouchX, points: vouchX.points.slice(1) }, 'malformed');
  await refuse(null, 'malformed');
});

test('proofs made by Semaphore\'s own generateProof verify too (same field hashing)', async () => {
  const proof = await generateProof(voucher, new Group(members),
    messageFor('vouch', collective, 'xavier', xavier), scope('vouch', collective, 'xavier'), DEPTH, artifactPaths());
  const v = await verifyVouch(proof, { ...forX, roots });
  assert.deepEqual(v, { ok: true, nullifier: vouchX.nullifier });
});

