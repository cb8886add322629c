// Posts on a real Operator with real Semaphore proofs (POSTS.md), recorded once and verified here
// (test/support/proofs.ts; KOMRADE_PROVE=1 makes them afresh): a collective of 50 (`open` rule:
// admitted without vouches), epoch 1 opened by a proof, its bundle sealed to all 50 in one batch,
// 50 anonymous cursors (REAL_CURSORS of them, default 6, with real proofs; the rest written into
// the store as the route does after a proof), posts that reach every member exactly once and,
// once all 50 cursors have acknowledged and a sweep ran, leave no byte on the disk; refusals that
// change nothing. Each test has its own Operator and collective. Deletes, leaves, rotations and
// expiry: posts-life.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes, utf8 } from '../protocol/bytes.ts';
import { seal } from '../protocol/envelope.ts';
import { keysStatement, postStatement, signPosting, epochBinding } from '../protocol/posts-wire.ts';
import { deleteHashOf, newEpochBundle, sealPost } from '../protocol/posts.ts';
import { KeyPair } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { findOnDisk, raw, snapshot } from '../test/support/operator.ts';
import { postingKey, postsWorld, rejects } from '../test/support/posts.ts';
import { proofsForTestFile } from '../test/support/proofs.ts';

const N = 50;
const REAL_CURSORS = Number(process.env.REAL_CURSORS ?? 6);
const proofs = proofsForTestFile('operator-posts');


test('epoch 1: compare-and-swap and the current root; its bundle reaches all 50 in one batch; the batch is signed by the posting key', async () => {
  const w = await postsWorld(proofs, 'commune', { n: N, epoch1: false });
  const { op, c, m } = w;
  try {
    const f = m[0]!, info = await op.client.getCollective(c);
    await assert.rejects(op.client.currentEpoch(c), rejects(404));
    const b1 = w.bundle(1, info.root, '1');
    const [proof] = await proofs.prove([w.job(f, 'epoch', 1, epochBinding(b1.posting.pub, b1.root), (await op.client.tree(c)).leaves)]);
    await w.unchanged(() => op.client.openEpoch(c, { epoch: 2, postingKey: b1.posting.pub, root: b1.root, proof: proof! }), rejects(409, 'epoch taken'));
    await w.unchanged(() => op.client.openEpoch(c, { epoch: 1, postingKey: b1.posting.pub, root: '12345', proof: proof! }), rejects(403));
    const other = newEpochBundle(c, 1, info.root); // the proof binds the posting key: another key is refused
    await w.unchanged(() => op.client.openEpoch(c, { epoch: 1, postingKey: other.posting.pub, root: b1.root, proof: proof! }), rejects(401, 'wrong message'));
    assert.deepEqual(await op.client.openEpoch(c, { epoch: 1, postingKey: b1.posting.pub, root: b1.root, proof: proof! }), { epoch: 1 });
    await w.unchanged(() => op.client.openEpoch(c, { epoch: 1, postingKey: b1.posting.pub, root: b1.root, proof: proof! }), rejects(409));
    assert.deepEqual(await op.client.currentEpoch(c), { epoch: 1, postingKey: b1.posting.pub, root: info.root, members: N });

    // a batch signed by any other key is refused
    const blobs = [seal({ senderIdentity: f.identity, recipientIdentityKey: m[1]!.identity.publicKey, prekey: { id: m[1]!.prekeyId, key: m[1]!.prekey.publicKey }, body: b1 }).blob];
    await w.unchanged(() => op.client.uploadKeys(c, 1, blobs, new KeyPair().privateKey), rejects(401, 'bad signature'));
    assert.deepEqual(await w.deliver(b1, f, m), { stored: N });
    for (const k of m) assert.deepEqual(await w.fetchBundle(k, 1), [b1], `${k.name} gets the bundle once`);
    assert.deepEqual(await w.fetchBundle(w.stranger, 1), []);

    // up to 1,000 envelopes in one upload (2 MiB body limit on this route only); more is refused
    const filler = Array.from({ length: 1000 }, () => randomBytes(BLOB_SIZES[0]!));
    const body = (bs: Uint8Array[]) => ({ blobs: bs.map(b64), sig: signPosting(postingKey(b1), keysStatement(c, 1, bs)) });
    const before1001 = await snapshot(op);
    assert.equal((await raw(op.url, 'POST', `/collectives/${c}/epochs/1/keys`, body([...filler, randomBytes(BLOB_SIZES[0]!)]))).status, 400);
    assert.equal((await raw(op.url, 'POST', `/collectives/${c}/epochs/1/keys`, { ...body(filler.slice(0, 10)), pad: 'x'.repeat(2 * 1024 * 1024) })).status, 413);
    assert.deepEqual(await snapshot(op), before1001);
    assert.equal((await raw(op.url, 'POST', `/collectives/${c}/epochs/1/keys`, body(filler))).status, 201);
  } finally { await op.close(); }
});

test('50 anonymous cursors; posts reach every member exactly once; after all 50 acks and a sweep no byte of them is on the disk', async () => {
  const w = await postsWorld(proofs, 'cursors', { n: N, epoch1: true });
  const { op, c, m } = w, b1 = w.epoch1!;
  try {
    const ps = await w.openCursors(m, 1, REAL_CURSORS);
    // the same member's second cursor in the epoch: the nullifier is spent
    await w.unchanged(() => op.client.openCursor(c, 1, m[0]!.cursor!.key.publicKey, ps[0]!), rejects(409, 'nullifier used'));
    // a cursor record says nothing of its member
    const ids = m.flatMap((k) => [w.commitmentOf(k).toString(), b64(k.identity.publicKey)]); // a commitment takes ~40 ms to derive: once each
    for (const kv of await snapshot(op)) if (kv.startsWith('!Q!')) for (const id of ids) assert.ok(!kv.includes(id));

    const firstPosts = [await w.post(m[1]!, b1, 'first'), await w.post(m[2]!, b1, 'second'), await w.post(m[1]!, b1, 'third')];
    const needles = Object.fromEntries(firstPosts.map((p, i) => [`post ${i}`, p.needle]));
    // a non-member signs with a key of its own: refused; a post to another epoch: refused
    const forged = sealPost(b1, { name: w.stranger.name, identity: w.stranger.identity }, { text: 'spam' });
    await w.unchanged(() => op.client.post(c, 1, forged.blob, deleteHashOf(forged.deleteSecret!), new KeyPair().privateKey), rejects(401, 'bad signature'));
    await w.unchanged(() => op.client.post(c, 2, forged.blob, deleteHashOf(forged.deleteSecret!), postingKey(b1)), rejects(409, 'not the current epoch'));
    const beforeOdd = await snapshot(op);
    assert.equal((await raw(op.url, 'POST', `/collectives/${c}/posts`, { epoch: 1, blob: b64(randomBytes(1000)), deleteHash: deleteHashOf(randomBytes(32)), sig: signPosting(postingKey(b1), utf8('x')) })).status, 400, 'not an envelope size');
    assert.deepEqual(await snapshot(op), beforeOdd);
    // a replayed post request is refused; the same blob signed afresh is a second post
    const signed = () => ({ epoch: 1, blob: b64(firstPosts[0]!.blob), deleteHash: deleteHashOf(firstPosts[0]!.deleteSecret), sig: signPosting(postingKey(b1), postStatement(c, 1, firstPosts[0]!.blob, deleteHashOf(firstPosts[0]!.deleteSecret))) });
    const replay = signed();
    assert.equal((await raw(op.url, 'POST', `/collectives/${c}/posts`, replay)).status, 201);
    const beforeReplay = await snapshot(op);
    assert.equal((await raw(op.url, 'POST', `/collectives/${c}/posts`, replay)).status, 409);
    assert.deepEqual(await snapshot(op), beforeReplay);
    const again = await raw(op.url, 'POST', `/collectives/${c}/posts`, signed());
    assert.equal(again.status, 201, 'a fresh signature is a new request');
    const seqs = [...firstPosts.map((p) => p.seq), (again.body as { seq: number }).seq];

    // every member reads each post exactly once, and a read after the ack yields nothing
    for (const [i, k] of m.entries()) {
      const got = await w.readAll(k, b1);
      assert.deepEqual(got.map((p) => p.text), ['first', 'second', 'third', 'first', 'first'], k.name);
      if (i === 0 || i === N - 1) assert.equal(findOnDisk(op.dataDir, needles).length, 3, 'pending until every cursor has acknowledged');
      await op.client.ackCursor(c, k.cursor!.id, Math.max(...seqs), k.cursor!.key.privateKey);
      assert.deepEqual(await w.readAll(k, b1), [], 'never twice');
      if (i === 0 || i === N - 2) assert.equal((await snapshot(op)).filter((kv) => kv.startsWith('!P!')).length, 5, `still pending after ${i + 1} acks`);
    }
    assert.equal((await snapshot(op)).filter((kv) => kv.startsWith('!P!')).length, 0, 'the 50th ack deletes');
    assert.ok(findOnDisk(op.dataDir, needles).length > 0, 'a delete alone leaves the bytes');
    await op.sweep();
    assert.deepEqual(findOnDisk(op.dataDir, needles), [], 'no byte of an acknowledged post survives the sweep');
  } finally { await op.close(); }
});
