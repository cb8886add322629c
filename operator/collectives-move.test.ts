// A member moves home (COLLECTIVES.md §15.1): `POST …/members/:name/move` with `{ to, auth }`.
// Bad shapes, the same handle, a non-member, a bad host, a bare name not in the directory or with
// another key, a taken handle, a wrong signature, a stale or replayed Auth: each a 4xx JSON
// `{ error }` changing nothing. A good move appends a `move` entry (same leaf, commitment and root)
// and the member answers under the new handle only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { movePayload, signCharter, signJoin, type JoinRequest } from '../protocol/collective.ts';
import { signAuth, solvePow } from '../protocol/identity.ts';
import { onionFromKey } from '../protocol/onion.ts';
import { loadThemis } from '../protocol/themis.ts';
import { memberIdentity, shutdownCurve } from '../protocol/vouch.ts';
import { komrade, raw, snapshot, startTestOperator } from '../test/support/operator.ts';

let op: Awaited<ReturnType<typeof startTestOperator>>;
const onionC = onionFromKey(randomBytes(32)), onionB = onionFromKey(randomBytes(32));
let carol: ReturnType<typeof komrade>, other: ReturnType<typeof komrade>;
const commitment = memberIdentity(randomBytes(32), 'portland').commitment.toString();
const old = `carol@${onionC}`;

/** A move body for `portland`: `from` → `to`, signed by `key` (carol's unless told), with its Auth's time. */
const body = (from: string, to: string, key = carol!.identity.privateKey, ts = Date.now(), c = commitment) =>
  ({ to, auth: signAuth(key, 'move-collective', 'portland', movePayload(from, to, c), ts) });
const path = (name: string) => `/collectives/portland/members/${encodeURIComponent(name)}/move`;

before(async () => {
  await loadThemis();
  op = await startTestOperator();
  [carol, other] = [komrade('carol'), komrade('dave')];
  const f = komrade('fiona');
  await f.register(op.client);
  await other.register(op.client);
  const charter = {
    v: 2 as const, name: 'portland', description: '', quorum: 'open' as const, created: Date.now(), founder: 'fiona',
    founderKey: b64(f.identity.publicKey), founderCommitment: memberIdentity(randomBytes(32), 'portland').commitment.toString(),
  };
  const { powBits } = await op.client.info();
  await op.client.createCollective(f.identity.privateKey, signCharter(f.identity.privateKey, charter).charter, await solvePow('portland', charter.founderKey, powBits));
  // carol of another Operator (C) joins the open collective, and bob of B (his handle is taken)
  for (const [who, name, c] of [[carol, old, commitment], [komrade('bob'), `bob@${onionB}`, memberIdentity(randomBytes(32), 'portland').commitment.toString()]] as const) {
    const request: JoinRequest = {
      v: 2, collective: 'portland', name, identityKey: b64(who.identity.publicKey), commitment: c,
      prekey: { id: b64(randomBytes(8)), key: b64(who.prekey.publicKey) }, ts: Date.now(),
    };
    const res = await op.client.requestJoin(who.identity.privateKey, request);
    assert.equal(res.admitted, true);
  }
});
after(async () => { await op?.close(); await shutdownCurve(); });

test('refused moves are 4xx JSON and change nothing', async () => {
  const stale = body(old, `carol@${onionB}`, carol.identity.privateKey, Date.now() - 3_600_000);
  const cases: [string, string, unknown, number][] = [
    ['no auth', old, { to: 'carol' }, 400],
    ['unknown field', old, { ...body(old, 'carol'), x: 1 }, 400],
    ['a handle too long', old, body(old, `c@${'a'.repeat(200)}.onion`), 400],
    ['a clearnet host', old, body(old, 'carol@example.com'), 400],
    ['the same handle', old, body(old, old), 400],
    ['not a member', `eve@${onionC}`, body(`eve@${onionC}`, 'eve'), 404],
    ['a bare name not in the directory', old, body(old, 'carol'), 404],
    ['a bare name with another key', old, body(old, 'dave'), 403],
    ['a taken handle', old, body(old, `bob@${onionB}`), 409],
    ['signed by another key', old, body(old, `carol@${onionB}`, other.identity.privateKey), 401],
    ['signed for another commitment', old, body(old, `carol@${onionB}`, carol.identity.privateKey, Date.now(), '1'), 401],
    ['a stale Auth', old, stale, 403],
  ];
  for (const [why, name, b, status] of cases) {
    const before = await snapshot(op);
    const res = await raw(op.url, 'POST', path(name), b);
    assert.equal(res.status, status, `${why}: ${JSON.stringify(res.body)}`);
    assert.equal(typeof res.body?.error, 'string', `${why}: a JSON { error }`);
    assert.deepEqual(await snapshot(op), before, `${why}: nothing changed`);
  }
});

test('a good move is logged, the member answers under the new handle, and its Auth cannot be replayed', async () => {
  const before = await op.client.getCollective('portland');
  const good = body(old, `carol@${onionB}`);
  const res = await raw(op.url, 'POST', path(old), good);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const { entries } = await op.client.log('portland', (res.body as { seq: number }).seq);
  const e = entries[0]!;
  assert.equal(e.type, 'move');
  assert.equal(e.name, old);
  assert.equal(e.move?.to, `carol@${onionB}`);
  assert.equal(e.commitment, commitment);
  assert.equal(e.root, before.root, 'the tree does not change');
  const after = await op.client.getCollective('portland');
  assert.equal(after.members, before.members);
  assert.equal((await raw(op.url, 'GET', `/collectives/portland/members/${encodeURIComponent(old)}`)).status, 404, 'the old handle is no member');
  assert.equal((await op.client.member('portland', `carol@${onionB}`)).commitment, commitment);
  // back to the old handle, then the first move's Auth again: its signature still fits, its nonce is spent
  const back = await raw(op.url, 'POST', path(`carol@${onionB}`), body(`carol@${onionB}`, old));
  assert.equal(back.status, 200, JSON.stringify(back.body));
  const snap = await snapshot(op);
  const replayed = await raw(op.url, 'POST', path(old), good);
  assert.equal(replayed.status, 403, JSON.stringify(replayed.body));
  assert.equal(replayed.body?.error, 'replayed request');
  assert.deepEqual(await snapshot(op), snap, 'a replay changes nothing');
  // to this Operator: carol registers here with her key, and moves to the bare name
  await carol.register(op.client);
  const home = await raw(op.url, 'POST', path(old), body(old, 'carol'));
  assert.equal(home.status, 200, JSON.stringify(home.body));
  assert.equal((await op.client.member('portland', 'carol')).commitment, commitment);
});
