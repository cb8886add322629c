// Posts on a real Operator with REAL Semaphore proofs (POSTS.md): a collective of 50 (`open`
// rule: admitted without vouches), epoch 1 opened by a proof, its bundle sealed to all 50 in one
// batch, 50 anonymous cursors (REAL_CURSORS of them, default 6, with real proofs made in two child
// processes; the rest written into the store as the route does after a proof), posts that
// reach every member exactly once and, once all 50 cursors have acknowledged and a sweep ran,
// leave no byte on the disk; refusals that change nothing; delete and tombstone; a leave, two
// concurrent rotations (one wins), and a leaver who reads nothing of the next epoch. ~11 proofs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { b64, randomBytes, unb64, utf8 } from '../protocol/bytes.ts';
import { OperatorError } from '../protocol/client.ts';
import { open as openEnvelope, seal } from '../protocol/envelope.ts';
import { EPOCH_SUBJECT, cursorBinding, epochBinding, keysStatement, postStatement, signPosting } from '../protocol/posts-wire.ts';
import { EpochBundle, PostError, deleteHashOf, newEpochBundle, openPost, openPostFrom, sealPost } from '../protocol/posts.ts';
import { foldName } from '../protocol/names.ts';
import { KeyPair, loadThemis, privateKey } from '../protocol/themis.ts';
import { memberIdentity, shutdownCurve, type VouchProof } from '../protocol/vouch.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import type { ProveJob } from './prove-child.ts';
import { findOnDisk, komrade, raw, snapshot, startTestOperator } from './testing.ts';

type Op = Awaited<ReturnType<typeof startTestOperator>>;
let op: Op;
/** The Operator's clock: real time plus a skew the TTL test moves (signed requests carry real time). */
const clock = { skew: 0, now: () => Date.now() + clock.skew };
const t0 = performance.now();
let proofs = 0;
const N = 50;
const C = 'commune', c = 'commune';
type K = ReturnType<typeof komrade> & { secret: Uint8Array; prekeyId: string; cursor?: { id: string; key: KeyPair } };
const m: K[] = [];
let stranger: K;
const bundles = new Map<number, EpochBundle>();

const rejects = (status: number, reason?: string) => (e: unknown) =>
  e instanceof OperatorError && e.status === status && (reason === undefined || e.reason === reason);
async function unchanged<T>(what: () => Promise<T>, check: (e: unknown) => boolean) {
  const before = await snapshot(op);
  await assert.rejects(what, check);
  assert.deepEqual(await snapshot(op), before, 'a refusal changes nothing');
}
const commitmentOf = (k: K) => memberIdentity(k.secret, c).commitment;
const directory = (name: string) => { const k = [...m, stranger].find((x) => x.name === name); return k && k.identity.publicKey; };

/** Prove `jobs` in two child processes (both cores); proofs in job order. */
async function proveMany(jobs: ProveJob[]): Promise<VouchProof[]> {
  proofs += jobs.length;
  const child = new URL('./prove-child.ts', import.meta.url).pathname;
  const half = Math.ceil(jobs.length / 2);
  const run = (part: ProveJob[]) => new Promise<VouchProof[]>((resolve, reject) => {
    if (!part.length) { resolve([]); return; }
    const p = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as VouchProof[]) : reject(new Error(`prover exited ${code}`))));
    p.stdin.end(JSON.stringify(part));
  });
  const [a, b] = await Promise.all([run(jobs.slice(0, half)), run(jobs.slice(half))]);
  return [...a, ...b];
}
const job = (k: K, kind: 'epoch' | 'cursor', epoch: number, binding: bigint, members: string[]): ProveJob =>
  ({ secret: b64(k.secret), collective: c, members, kind, subject: EPOCH_SUBJECT, epoch, binding: binding.toString() });

/** Seal the bundle to each member (their prekey, signed by the rotator) and upload in one batch. */
async function deliver(bundle: EpochBundle, rotator: K, to: K[]) {
  const blobs = to.map((k) => seal({ senderIdentity: rotator.identity, recipientIdentityKey: k.identity.publicKey, prekey: { id: k.prekeyId, key: k.prekey.publicKey }, body: bundle }).blob);
  return op.client.uploadKeys(c, bundle.epoch, blobs, postingKey(bundle));
}
/** What a member's add-on does: fetch its envelopes of an epoch and open the bundle. */
async function fetchBundle(k: K, epoch: number): Promise<EpochBundle[]> {
  const blobs = await op.client.fetchKeys(c, epoch, k.prekeyId);
  return blobs.map((blob) => EpochBundle.parse(openEnvelope(blob, { prekey: (id) => (id === k.prekeyId ? k.prekey.privateKey : undefined), myIdentityKey: k.identity.publicKey, seen: () => false }).body));
}
const postingKey = (b: EpochBundle) => privateKey(unb64(b.posting.priv));
/** A member posts `text`; returns seq, id, delete secret and a needle from the middle of the blob. */
async function post(k: K, bundle: EpochBundle, text: string) {
  const { blob, id, deleteSecret } = sealPost(bundle, { name: k.name, identity: k.identity }, { text });
  const { seq } = await op.client.post(c, bundle.epoch, blob, deleteHashOf(deleteSecret!), postingKey(bundle));
  return { seq, id, deleteSecret: deleteSecret!, blob, needle: blob.slice(500, 532) };
}
/** Everything a member's cursor yields now, opened and checked as a reader does. */
async function readAll(k: K, bundle: EpochBundle) {
  const out: { seq: number; text: string; kind: string; target?: string }[] = [];
  for (;;) {
    const { posts, more } = await op.client.readCursor(c, k.cursor!.id, k.cursor!.key.privateKey);
    for (const p of posts) {
      const payload = openPostFrom(bundle, p.blob, directory);
      out.push({ seq: p.seq, kind: payload.kind, text: payload.kind === 'post' ? payload.text : '', target: payload.kind === 'tombstone' ? payload.target : undefined });
    }
    if (!more) return out;
  }
}
/**
 * Open cursors: the first `real` with real proofs over HTTP, the rest straight into the store
 * (the same `openCursor` the route calls once a proof has verified, with a random nullifier):
 * under load a proof takes 5–10 s. REAL_CURSORS=50 proves all of them.
 */
async function openCursors(who: K[], epoch: number, real = who.length) {
  const members = (await op.client.tree(c)).leaves;
  for (const k of who) k.cursor = { id: '', key: new KeyPair() };
  const proven = who.slice(0, real);
  const ps = await proveMany(proven.map((k) => job(k, 'cursor', epoch, cursorBinding(b64(k.cursor!.key.publicKey)), members)));
  for (const [i, k] of proven.entries()) k.cursor!.id = (await op.client.openCursor(c, epoch, k.cursor!.key.publicKey, ps[i]!)).id;
  for (const k of who.slice(real)) k.cursor!.id = await op.store.lock.run(`collective:${c}`, () => op.store.posts.openCursor(foldName(c), epoch, b64(k.cursor!.key.publicKey), BigInt(`0x${Buffer.from(randomBytes(30)).toString("hex")}`).toString()));
  return ps;
}
const REAL_CURSORS = Number(process.env.REAL_CURSORS ?? 6);

before(async () => {
  await loadThemis();
  op = await startTestOperator({ now: clock.now });
  op.server.keepAliveTimeout = 10 * 60_000; // proving in this process would otherwise race keep-alive closes
  for (let i = 0; i < N + 1; i++) {
    const k = Object.assign(komrade(`m${String(i).padStart(2, '0')}x`), { secret: randomBytes(32), prekeyId: '' });
    k.prekeyId = (await k.register(op.client)).record.prekey.id;
    if (i < N) m.push(k); else stranger = k;
  }
  const f = m[0]!;
  await op.client.createCollective(f.identity.privateKey, { v: 2, name: C, description: 'posts', quorum: 'open', created: Date.now(), founder: f.name, founderKey: b64(f.identity.publicKey), founderCommitment: commitmentOf(f).toString() });
  for (const k of m.slice(1)) {
    const r = await op.client.requestJoin(k.identity.privateKey, { v: 2, collective: C, name: k.name, identityKey: b64(k.identity.publicKey), commitment: commitmentOf(k).toString(), prekey: { id: k.prekeyId, key: b64(k.prekey.publicKey) }, ts: Date.now() });
    assert.equal(r.admitted, true);
  }
  assert.equal((await op.client.getCollective(c)).members, N);
});
after(async () => {
  await op?.close();
  await shutdownCurve();
  console.log(`# ${proofs} proofs, ${Math.round((performance.now() - t0) / 1000)} s`);
});

test('epoch 1: compare-and-swap and the current root; its bundle reaches all 50 in one batch; the batch is signed by the posting key', async () => {
  const f = m[0]!, info = await op.client.getCollective(c);
  await assert.rejects(op.client.currentEpoch(c), rejects(404));
  const b1 = newEpochBundle(c, 1, info.root);
  const [proof] = await proveMany([job(f, 'epoch', 1, epochBinding(b1.posting.pub, b1.root), (await op.client.tree(c)).leaves)]);
  await unchanged(() => op.client.openEpoch(c, { epoch: 2, postingKey: b1.posting.pub, root: b1.root, proof: proof! }), rejects(409, 'epoch taken'));
  await unchanged(() => op.client.openEpoch(c, { epoch: 1, postingKey: b1.posting.pub, root: '12345', proof: proof! }), rejects(403));
  const other = newEpochBundle(c, 1, info.root); // the proof binds the posting key: another key is refused
  await unchanged(() => op.client.openEpoch(c, { epoch: 1, postingKey: other.posting.pub, root: b1.root, proof: proof! }), rejects(401, 'wrong message'));
  assert.deepEqual(await op.client.openEpoch(c, { epoch: 1, postingKey: b1.posting.pub, root: b1.root, proof: proof! }), { epoch: 1 });
  await unchanged(() => op.client.openEpoch(c, { epoch: 1, postingKey: b1.posting.pub, root: b1.root, proof: proof! }), rejects(409));
  assert.deepEqual(await op.client.currentEpoch(c), { epoch: 1, postingKey: b1.posting.pub, root: info.root, members: N });
  bundles.set(1, b1);

  // a batch signed by any other key is refused
  const blobs = [seal({ senderIdentity: f.identity, recipientIdentityKey: m[1]!.identity.publicKey, prekey: { id: m[1]!.prekeyId, key: m[1]!.prekey.publicKey }, body: b1 }).blob];
  await unchanged(() => op.client.uploadKeys(c, 1, blobs, new KeyPair().privateKey), rejects(401, 'bad signature'));
  assert.deepEqual(await deliver(b1, f, m), { stored: N });
  for (const k of m) assert.deepEqual(await fetchBundle(k, 1), [b1], `${k.name} gets the bundle once`);
  assert.deepEqual(await fetchBundle(stranger, 1), []);

  // up to 1,000 envelopes in one upload (2 MiB body limit on this route only); more is refused
  const filler = Array.from({ length: 1000 }, () => randomBytes(BLOB_SIZES[0]!));
  const body = (bs: Uint8Array[]) => ({ blobs: bs.map(b64), sig: signPosting(postingKey(b1), keysStatement(c, 1, bs)) });
  const before1001 = await snapshot(op);
  assert.equal((await raw(op.url, 'POST', `/collectives/${c}/epochs/1/keys`, body([...filler, randomBytes(BLOB_SIZES[0]!)]))).status, 400);
  assert.equal((await raw(op.url, 'POST', `/collectives/${c}/epochs/1/keys`, { ...body(filler.slice(0, 10)), pad: 'x'.repeat(2 * 1024 * 1024) })).status, 413);
  assert.deepEqual(await snapshot(op), before1001);
  assert.equal((await raw(op.url, 'POST', `/collectives/${c}/epochs/1/keys`, body(filler))).status, 201);
});

let firstPosts: Awaited<ReturnType<typeof post>>[] = [];

test('50 anonymous cursors; posts reach every member exactly once; after all 50 acks and a sweep no byte of them is on the disk', async () => {
  const b1 = bundles.get(1)!;
  const t = performance.now();
  const ps = await openCursors(m, 1, REAL_CURSORS);
  console.log(`# ${REAL_CURSORS} cursor proofs in 2 processes: ${Math.round((performance.now() - t) / 1000)} s; ${N - REAL_CURSORS} cursors written straight into the store`);
  // the same member's second cursor in the epoch: the nullifier is spent
  await unchanged(() => op.client.openCursor(c, 1, m[0]!.cursor!.key.publicKey, ps[0]!), rejects(409, 'nullifier used'));
  // a cursor record says nothing of its member
  for (const kv of await snapshot(op)) if (kv.startsWith('!Q!')) for (const k of m) assert.ok(!kv.includes(commitmentOf(k).toString()) && !kv.includes(b64(k.identity.publicKey)));

  firstPosts = [await post(m[1]!, b1, 'first'), await post(m[2]!, b1, 'second'), await post(m[1]!, b1, 'third')];
  const needles = Object.fromEntries(firstPosts.map((p, i) => [`post ${i}`, p.needle]));
  // a non-member signs with a key of its own: refused; a post to another epoch: refused
  const forged = sealPost(b1, { name: stranger.name, identity: stranger.identity }, { text: 'spam' });
  await unchanged(() => op.client.post(c, 1, forged.blob, deleteHashOf(forged.deleteSecret!), new KeyPair().privateKey), rejects(401, 'bad signature'));
  await unchanged(() => op.client.post(c, 2, forged.blob, deleteHashOf(forged.deleteSecret!), postingKey(b1)), rejects(409, 'not the current epoch'));
  const beforeOdd = await snapshot(op);
  assert.equal((await raw(op.url, 'POST', `/collectives/${c}/posts`, { epoch: 1, blob: b64(randomBytes(1000)), deleteHash: deleteHashOf(randomBytes(32)), sig: signPosting(postingKey(b1), utf8('x')) })).status, 400, 'not an envelope size');
  assert.deepEqual(await snapshot(op), beforeOdd);
  // a replayed post request is refused; the same blob signed afresh is a second post
  const replay = { epoch: 1, blob: b64(firstPosts[0]!.blob), deleteHash: deleteHashOf(firstPosts[0]!.deleteSecret), sig: signPosting(postingKey(b1), postStatement(c, 1, firstPosts[0]!.blob, deleteHashOf(firstPosts[0]!.deleteSecret))) };
  assert.equal((await raw(op.url, 'POST', `/collectives/${c}/posts`, replay)).status, 201);
  const beforeReplay = await snapshot(op);
  assert.equal((await raw(op.url, 'POST', `/collectives/${c}/posts`, replay)).status, 409);
  assert.deepEqual(await snapshot(op), beforeReplay);
  const again = await raw(op.url, 'POST', `/collectives/${c}/posts`, { epoch: 1, blob: b64(firstPosts[0]!.blob), deleteHash: deleteHashOf(firstPosts[0]!.deleteSecret), sig: signPosting(postingKey(b1), postStatement(c, 1, firstPosts[0]!.blob, deleteHashOf(firstPosts[0]!.deleteSecret))) });
  assert.equal(again.status, 201, 'a fresh signature is a new request');
  const seqs = [...firstPosts.map((p) => p.seq), (again.body as { seq: number }).seq];

  // every member reads each post exactly once, and a read after the ack yields nothing
  for (const [i, k] of m.entries()) {
    const got = await readAll(k, b1);
    assert.deepEqual(got.map((p) => p.text), ['first', 'second', 'third', 'first', 'first'], k.name);
    if (i === 0 || i === N - 1) assert.equal(findOnDisk(op.dataDir, needles).length, 3, 'pending until every cursor has acknowledged');
    await op.client.ackCursor(c, k.cursor!.id, Math.max(...seqs), k.cursor!.key.privateKey);
    assert.deepEqual(await readAll(k, b1), [], 'never twice');
    if (i === 0 || i === N - 2) assert.equal((await snapshot(op)).filter((kv) => kv.startsWith('!P!')).length, 5, `still pending after ${i + 1} acks`);
  }
  assert.equal((await snapshot(op)).filter((kv) => kv.startsWith('!P!')).length, 0, 'the 50th ack deletes');
  assert.ok(findOnDisk(op.dataDir, needles).length > 0, 'a delete alone leaves the bytes');
  await op.sweep();
  assert.deepEqual(findOnDisk(op.dataDir, needles), [], 'no byte of an acknowledged post survives the sweep');
});

test('no member can post as another: the reader checks the signing key against the directory', async () => {
  const b1 = bundles.get(1)!;
  const forged = sealPost(b1, { name: m[2]!.name, identity: m[1]!.identity }, { text: 'I am m02x' });
  const { payload, authorKey } = openPost(b1, forged.blob);
  assert.equal(payload.author, m[2]!.name);
  assert.deepEqual(Uint8Array.from(authorKey), Uint8Array.from(m[1]!.identity.publicKey), 'openPost returns the key that signed');
  assert.throws(() => openPostFrom(b1, forged.blob, directory), (e) => e instanceof PostError && /directory/.test(e.message));
  const honest = sealPost(b1, { name: m[2]!.name, identity: m[2]!.identity }, { text: 'I am m02x' });
  assert.equal(openPostFrom(b1, honest.blob, directory).author, m[2]!.name);
});

test('a post deleted by its secret is gone from the Operator and the disk; a tombstone tells members to drop it', async () => {
  const b1 = bundles.get(1)!, author = m[5]!;
  const p = await post(author, b1, 'regret');
  await unchanged(() => op.client.deletePost(c, p.seq, randomBytes(32)), rejects(403, 'wrong secret'));
  await unchanged(() => op.client.deletePost(c, p.seq + 100, p.deleteSecret), rejects(404));
  assert.deepEqual(await op.client.deletePost(c, p.seq, p.deleteSecret), { deleted: true });
  await unchanged(() => op.client.deletePost(c, p.seq, p.deleteSecret), rejects(404));
  const tomb = sealPost(b1, { name: author.name, identity: author.identity }, { target: p.id });
  await op.client.post(c, 1, tomb.blob, deleteHashOf(randomBytes(32)), postingKey(b1));
  // a member sees only the tombstone, signed by the post's author
  assert.deepEqual((await readAll(m[7]!, b1)).map((x) => [x.kind, x.target]), [['tombstone', p.id]]);
  const opened = openPost(b1, tomb.blob);
  assert.equal(opened.payload.kind, 'tombstone');
  assert.deepEqual(Uint8Array.from(opened.authorKey), Uint8Array.from(author.identity.publicKey));
  await op.sweep();
  assert.deepEqual(findOnDisk(op.dataDir, { deleted: p.needle }), []);
});

test('a leaver is sealed no bundle for the next epoch and reads nothing of it; two concurrent rotations do not fork', async () => {
  const leaver = m[N - 1]!, stay = m.slice(0, N - 1), b1 = bundles.get(1)!;
  const oldLeaves = (await op.client.tree(c)).leaves;
  await op.client.leave(c, leaver.name, leaver.identity.privateKey, commitmentOf(leaver).toString());
  const info = await op.client.getCollective(c), leaves = (await op.client.tree(c)).leaves;
  const [r1, r2] = [newEpochBundle(c, 2, info.root), newEpochBundle(c, 2, info.root)];
  const [p1, p2, pl] = await proveMany([
    job(m[1]!, 'epoch', 2, epochBinding(r1.posting.pub, r1.root), leaves), job(m[2]!, 'epoch', 2, epochBinding(r2.posting.pub, r2.root), leaves),
    job(leaver, 'cursor', 2, cursorBinding(b64(leaver.prekey.publicKey)), oldLeaves),
  ]);
  // the epoch-1 root is no longer current: a rotation against it is refused
  await unchanged(() => op.client.openEpoch(c, { epoch: 2, postingKey: r1.posting.pub, root: b1.root, proof: p1! }), rejects(403));
  const results = await Promise.allSettled([
    op.client.openEpoch(c, { epoch: 2, postingKey: r1.posting.pub, root: r1.root, proof: p1! }),
    op.client.openEpoch(c, { epoch: 2, postingKey: r2.posting.pub, root: r2.root, proof: p2! }),
  ]);
  assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.ok(rejects(409, 'epoch taken')(lost.reason));
  const won = results[0]!.status === 'fulfilled' ? r1 : r2;
  const current = await op.client.currentEpoch(c);
  assert.deepEqual(current, { epoch: 2, postingKey: won.posting.pub, root: info.root, members: N - 1 });
  // the loser adopts the winner's epoch: only the winner's posting key signs its key batch
  await assert.rejects(deliver(won === r1 ? r2 : r1, m[1]!, stay), rejects(401));
  await deliver(won, won === r1 ? m[1]! : m[2]!, stay);
  bundles.set(2, won);
  assert.deepEqual(await fetchBundle(leaver, 2), [], 'no bundle sealed to the leaver');
  assert.deepEqual(await fetchBundle(m[4]!, 2), [won]);

  // the leaver's epoch-1 bundle opens nothing of epoch 2; it cannot post with it either
  const p = await post(m[4]!, won, 'after the leave');
  assert.throws(() => openPost(b1, p.blob), PostError);
  const own = sealPost(b1, { name: leaver.name, identity: leaver.identity }, { text: 'still here?' });
  await unchanged(() => op.client.post(c, 1, own.blob, deleteHashOf(own.deleteSecret!), postingKey(b1)), rejects(409));
  await unchanged(() => op.client.post(c, 2, own.blob, deleteHashOf(own.deleteSecret!), postingKey(b1)), rejects(401));
  // nor open a cursor: its proof is against a root from before the leave
  await unchanged(() => op.client.openCursor(c, 2, leaver.prekey.publicKey, pl!), rejects(403, 'unknown root'));
  // a member still in reads it through a cursor of epoch 2
  await openCursors([m[4]!], 2);
  assert.deepEqual((await readAll(m[4]!, won)).map((x) => x.text), ['after the leave']);
  // every cursor of epoch 2 (one) has acknowledged it, but 48 members have not opened theirs: it stays
  await op.client.ackCursor(c, m[4]!.cursor!.id, p.seq, m[4]!.cursor!.key.privateKey);
  assert.ok((await snapshot(op)).some((kv) => kv.startsWith(`!P!${c}!${p.seq.toString(16).padStart(12, '0')}=`)), 'pending until as many cursors as members');
  assert.deepEqual((await readAll(m[6]!, b1)).map((x) => x.kind), ['tombstone'], 'an epoch-1 cursor reads nothing of epoch 2');
});

test('the sweep expires posts, key envelopes and idle cursors after the TTL, off the disk', async () => {
  const won = bundles.get(2)!;
  const p = await post(m[8]!, won, 'never read by all');
  const env = (await op.client.fetchKeys(c, 2, m[8]!.prekeyId))[0]!;
  assert.equal(findOnDisk(op.dataDir, { post: p.needle, env: env.slice(200, 232) }).length, 2);
  clock.skew += 15 * 86_400_000;
  await op.sweep();
  assert.deepEqual(findOnDisk(op.dataDir, { post: p.needle, env: env.slice(200, 232) }), []);
  const rest = await snapshot(op);
  assert.equal(rest.filter((kv) => kv.startsWith('!P!') || kv.startsWith('!Y!') || kv.startsWith('!Q!')).length, 0);
  await assert.rejects(op.client.readCursor(c, m[4]!.cursor!.id, m[4]!.cursor!.key.privateKey), rejects(404));
});
