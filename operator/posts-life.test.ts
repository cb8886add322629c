// A post's life after it is written, on a real Operator with recorded real Semaphore proofs
// (POSTS.md; test/support/proofs.ts): no member can post as another; a post deleted by its secret
// is gone from the disk and a tombstone tells members; a leaver is sealed no bundle of the next
// epoch, and two concurrent rotations do not fork; the sweep expires posts, key envelopes and
// idle cursors after the TTL. Each test has its own Operator and collective.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { cursorBinding, epochBinding } from '../protocol/posts-wire.ts';
import { PostError, deleteHashOf, openPost, openPostFrom, sealPost } from '../protocol/posts.ts';
import { findOnDisk, snapshot } from '../test/support/operator.ts';
import { postingKey, postsWorld, rejects } from '../test/support/posts.ts';
import { proofsForTestFile } from '../test/support/proofs.ts';

const proofs = proofsForTestFile('operator-posts-life');


test('no member can post as another: the reader checks the signing key against the directory', async () => {
  const w = await postsWorld(proofs, 'forgers', { n: 3, epoch1: true });
  const { m } = w, b1 = w.epoch1!;
  try {
    const directory = (name: string) => m.find((x) => x.name === name)?.identity.publicKey;
    const forged = sealPost(b1, { name: m[2]!.name, identity: m[1]!.identity }, { text: `I am ${m[2]!.name}` });
    const { payload, authorKey } = openPost(b1, forged.blob);
    assert.equal(payload.author, m[2]!.name);
    assert.deepEqual(Uint8Array.from(authorKey), Uint8Array.from(m[1]!.identity.publicKey), 'openPost returns the key that signed');
    assert.throws(() => openPostFrom(b1, forged.blob, directory), (e) => e instanceof PostError && /directory/.test(e.message));
    const honest = sealPost(b1, { name: m[2]!.name, identity: m[2]!.identity }, { text: `I am ${m[2]!.name}` });
    assert.equal(openPostFrom(b1, honest.blob, directory).author, m[2]!.name);
  } finally { await w.op.close(); }
});

test('a post deleted by its secret is gone from the Operator and the disk; a tombstone tells members to drop it', async () => {
  const w = await postsWorld(proofs, 'regrets', { n: 8, epoch1: true });
  const { op, c, m } = w, b1 = w.epoch1!, author = m[5]!;
  try {
    await w.openCursors([m[7]!], 1, 0);
    const p = await w.post(author, b1, 'regret');
    await w.unchanged(() => op.client.deletePost(c, p.seq, randomBytes(32)), rejects(403, 'wrong secret'));
    await w.unchanged(() => op.client.deletePost(c, p.seq + 100, p.deleteSecret), rejects(404));
    assert.deepEqual(await op.client.deletePost(c, p.seq, p.deleteSecret), { deleted: true });
    await w.unchanged(() => op.client.deletePost(c, p.seq, p.deleteSecret), rejects(404));
    const tomb = sealPost(b1, { name: author.name, identity: author.identity }, { target: p.id });
    await op.client.post(c, 1, tomb.blob, deleteHashOf(randomBytes(32)), postingKey(b1));
    // a member sees only the tombstone, signed by the post's author
    assert.deepEqual((await w.readAll(m[7]!, b1)).map((x) => [x.kind, x.target]), [['tombstone', p.id]]);
    const opened = openPost(b1, tomb.blob);
    assert.equal(opened.payload.kind, 'tombstone');
    assert.deepEqual(Uint8Array.from(opened.authorKey), Uint8Array.from(author.identity.publicKey));
    await op.sweep();
    assert.deepEqual(findOnDisk(op.dataDir, { deleted: p.needle }), []);
  } finally { await op.close(); }
});

test('a leaver is sealed no bundle for the next epoch and reads nothing of it; two concurrent rotations do not fork', async () => {
  const N = 10;
  const w = await postsWorld(proofs, 'leavers', { n: N, epoch1: true });
  const { op, c, m } = w, b1 = w.epoch1!;
  try {
    const leaver = m[N - 1]!, stay = m.slice(0, N - 1);
    await w.openCursors([m[6]!], 1, 0);
    await w.post(m[3]!, b1, 'before the leave');
    const oldLeaves = (await op.client.tree(c)).leaves;
    await op.client.leave(c, leaver.name, leaver.identity.privateKey, w.commitmentOf(leaver).toString());
    const info = await op.client.getCollective(c), leaves = (await op.client.tree(c)).leaves;
    const [r1, r2] = [w.bundle(2, info.root, '2a'), w.bundle(2, info.root, '2b')];
    const leaverCursor = proofs.keyPair(`${c}/leaver-cursor`);
    const [p1, p2, pl] = await proofs.prove([
      w.job(m[1]!, 'epoch', 2, epochBinding(r1.posting.pub, r1.root), leaves), w.job(m[2]!, 'epoch', 2, epochBinding(r2.posting.pub, r2.root), leaves),
      w.job(leaver, 'cursor', 2, cursorBinding(b64(leaverCursor.publicKey)), oldLeaves),
    ]);
    // the epoch-1 root is no longer current: a rotation against it is refused
    await w.unchanged(() => op.client.openEpoch(c, { epoch: 2, postingKey: r1.posting.pub, root: b1.root, proof: p1! }), rejects(403));
    const results = await Promise.allSettled([
      op.client.openEpoch(c, { epoch: 2, postingKey: r1.posting.pub, root: r1.root, proof: p1! }),
      op.client.openEpoch(c, { epoch: 2, postingKey: r2.posting.pub, root: r2.root, proof: p2! }),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(rejects(409, 'epoch taken')(lost.reason));
    const won = results[0]!.status === 'fulfilled' ? r1 : r2;
    assert.deepEqual(await op.client.currentEpoch(c), { epoch: 2, postingKey: won.posting.pub, root: info.root, members: N - 1 });
    // the loser adopts the winner's epoch: only the winner's posting key signs its key batch
    await assert.rejects(w.deliver(won === r1 ? r2 : r1, m[1]!, stay), rejects(401));
    await w.deliver(won, won === r1 ? m[1]! : m[2]!, stay);
    assert.deepEqual(await w.fetchBundle(leaver, 2), [], 'no bundle sealed to the leaver');
    assert.deepEqual(await w.fetchBundle(m[4]!, 2), [won]);

    // the leaver's epoch-1 bundle opens nothing of epoch 2; it cannot post with it either
    const p = await w.post(m[4]!, won, 'after the leave');
    assert.throws(() => openPost(b1, p.blob), PostError);
    const own = sealPost(b1, { name: leaver.name, identity: leaver.identity }, { text: 'still here?' });
    await w.unchanged(() => op.client.post(c, 1, own.blob, deleteHashOf(own.deleteSecret!), postingKey(b1)), rejects(409));
    await w.unchanged(() => op.client.post(c, 2, own.blob, deleteHashOf(own.deleteSecret!), postingKey(b1)), rejects(401));
    // nor open a cursor: its proof is against a root from before the leave
    await w.unchanged(() => op.client.openCursor(c, 2, leaverCursor.publicKey, pl!), rejects(403, 'unknown root'));
    // a member still in reads it through a cursor of epoch 2
    await w.openCursors([m[4]!], 2);
    assert.deepEqual((await w.readAll(m[4]!, won)).map((x) => x.text), ['after the leave']);
    // every cursor of epoch 2 (one) has acknowledged it, but the other members have not opened theirs: it stays
    await op.client.ackCursor(c, m[4]!.cursor!.id, p.seq, m[4]!.cursor!.key.privateKey);
    assert.ok((await snapshot(op)).some((kv) => kv.startsWith(`!P!${c}!${p.seq.toString(16).padStart(12, '0')}=`)), 'pending until as many cursors as members');
    assert.deepEqual((await w.readAll(m[6]!, b1)).map((x) => x.text), ['before the leave'], 'an epoch-1 cursor reads epoch 1 and nothing of epoch 2');
  } finally { await op.close(); }
});

test('the sweep expires posts, key envelopes and idle cursors after the TTL, off the disk', async () => {
  const w = await postsWorld(proofs, 'expiry', { n: 10, epoch1: true });
  const { op, c, m } = w, b1 = w.epoch1!;
  try {
    await w.openCursors([m[4]!], 1, 0);
    const p = await w.post(m[8]!, b1, 'never read by all');
    const env = (await op.client.fetchKeys(c, 1, m[8]!.prekeyId))[0]!;
    assert.equal(findOnDisk(op.dataDir, { post: p.needle, env: env.slice(200, 232) }).length, 2);
    w.clock.skew += 15 * 86_400_000;
    await op.sweep();
    assert.deepEqual(findOnDisk(op.dataDir, { post: p.needle, env: env.slice(200, 232) }), []);
    const rest = await snapshot(op);
    assert.equal(rest.filter((kv) => kv.startsWith('!P!') || kv.startsWith('!Y!') || kv.startsWith('!Q!')).length, 0);
    await assert.rejects(op.client.readCursor(c, m[4]!.cursor!.id, m[4]!.cursor!.key.privateKey), rejects(404));
  } finally { await op.close(); }
});
