// A join request from another Operator's komrade (COLLECTIVES.md §15): the request names the
// candidate as `name@<home host>`; the Operator checks that host's shape (a v3 onion with its
// checksum; loopback only with allowLoopbackHomes) and nothing else it cannot know; every refusal
// is a 4xx JSON `{ error }` that changes nothing. A bare name keeps the directory check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { signCharter, signJoin, type JoinRequest } from '../protocol/collective.ts';
import { solvePow } from '../protocol/identity.ts';
import { onionFromKey } from '../protocol/onion.ts';
import { loadThemis } from '../protocol/themis.ts';
import { memberIdentity, shutdownCurve } from '../protocol/vouch.ts';
import { komrade, raw, snapshot, startTestOperator } from '../test/support/operator.ts';

let op: Awaited<ReturnType<typeof startTestOperator>>, dev: typeof op;
const fiona = () => komrade('fiona');
let f: ReturnType<typeof fiona>;
const secret = randomBytes(32);

before(async () => {
  await loadThemis();
  [op, dev] = [await startTestOperator(), await startTestOperator({ allowLoopbackHomes: true })];
  f = fiona();
  for (const o of [op, dev]) {
    await f.register(o.client);
    const charter = {
      v: 2 as const, name: 'portland', description: '', quorum: 'one' as const, created: Date.now(), founder: 'fiona',
      founderKey: b64(f.identity.publicKey), founderCommitment: memberIdentity(secret, 'portland').commitment.toString(),
    };
    const { powBits } = await o.client.info();
    await o.client.createCollective(f.identity.privateKey, signCharter(f.identity.privateKey, charter).charter, await solvePow('portland', charter.founderKey, powBits));
  }
});
after(async () => { await op?.close(); await dev?.close(); await shutdownCurve(); });

/** A signed join request body for `name` (any key: the Operator cannot check a foreign one). */
function request(name: string): { request: JoinRequest; sig: string } {
  const who = komrade('someone');
  const request: JoinRequest = {
    v: 2, collective: 'portland', name, identityKey: b64(who.identity.publicKey), commitment: memberIdentity(randomBytes(32), 'portland').commitment.toString(),
    prekey: { id: b64(randomBytes(8)), key: b64(who.prekey.publicKey) }, ts: Date.now(),
  };
  return signJoin(who.identity.privateKey, request);
}

test('a foreign candidate’s host must be an onion (or loopback in developer mode); refusals are 400 JSON and change nothing', async () => {
  const onion = onionFromKey(randomBytes(32));
  const badSum = `${onion.slice(0, 50)}${onion[50] === 'a' ? 'b' : 'a'}${onion.slice(51)}`;
  for (const [o, name, status] of [
    [op, 'bob@example.com', 400], [op, `bob@${badSum}`, 400], [op, 'bob@127.0.0.1:9999', 400], [op, 'bob@localhost', 400],
    [op, `bob@${onion}/x`, 400], [op, 'bob@a@b.onion', 400], [op, 'nobody', 404], [dev, 'bob@999.0.0.1', 400],
  ] as const) {
    const before = await snapshot(o);
    const res = await raw(o.url, 'POST', '/collectives/portland/requests', request(name));
    assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
    assert.equal(typeof res.body?.error, 'string', 'a JSON { error }');
    assert.deepEqual(await snapshot(o), before, `${name}: nothing changed`);
  }
  const path = await raw(op.url, 'POST', `/collectives/portland/vouches/${encodeURIComponent('bob@example.com')}`, { proof: {} });
  assert.equal(path.status, 400, 'a member path takes a handle, nothing else');
});

test('a well-formed foreign candidate is kept under its handle, apart from a local komrade of the same name', async () => {
  const onion = onionFromKey(randomBytes(32));
  assert.equal((await raw(op.url, 'POST', '/collectives/portland/requests', request(`fiona@${onion}`))).status, 201, 'fiona of another Operator is not fiona');
  assert.equal((await raw(dev.url, 'POST', '/collectives/portland/requests', request('bob@127.0.0.1:9999'))).status, 201, 'loopback in developer mode');
  assert.deepEqual((await op.client.listRequests('portland')).requests.map((q) => q.request.name), [`fiona@${onion}`]);
  assert.equal((await raw(op.url, 'GET', `/collectives/portland/members/${encodeURIComponent(`fiona@${onion}`)}`)).status, 404, 'not a member yet');
  assert.equal((await op.client.member('portland', 'fiona')).leaf, 0, 'the founder is still fiona');
});
