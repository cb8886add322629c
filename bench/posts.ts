/**
 * Posts (POSTS.md §8): one blob per post, so the poster's cost and the Operator's storage do not
 * grow with the collective. A real Operator over HTTP on loopback; the collectives' epochs and
 * cursors are written straight into its store (an epoch or cursor proof is seconds each, and the
 * post routes never look at the tree — only at the epoch's posting key and member count), so a
 * collective "of 1,000" here is an epoch opened with 1,000 members.
 */
import { performance } from 'node:perf_hooks';
import { b64, randomBytes, unb64 } from '../protocol/bytes.ts';
import { seal } from '../protocol/envelope.ts';
import { foldName } from '../protocol/names.ts';
import { keysStatement, postStatement, signPosting } from '../protocol/posts-wire.ts';
import { deleteHashOf, newEpochBundle, openPost, sealPost, type EpochBundle } from '../protocol/posts.ts';
import { KeyPair, privateKey } from '../protocol/themis.ts';
import { snapshot, startTestOperator } from '../test/support/operator.ts';
import { median, ratio, row, section } from './lib.ts';

type Op = Awaited<ReturnType<typeof startTestOperator>>;
const author = { name: 'poster', identity: new KeyPair() };

/** A collective with epoch 1 opened for `members` members, straight into the store. */
async function collective(op: Op, name: string, members: number): Promise<EpochBundle> {
  const charter = { v: 2, name, description: '', quorum: 'open', created: Date.now(), founder: 'poster', founderKey: b64(author.identity.publicKey), founderCommitment: '1' } as const;
  const { root } = await op.store.collectives.create(foldName(name), name, foldName('poster'), { charter, sig: b64(randomBytes(100)) });
  const bundle = newEpochBundle(name, 1, root);
  await op.store.posts.openEpoch(foldName(name), 1, { postingKey: bundle.posting.pub, root, members }, '1');
  return bundle;
}

/** One post as a member's add-on makes it: seal, sign with the posting key, send. Returns the bytes sent. */
async function post(op: Op, bundle: EpochBundle, text: string): Promise<number> {
  const { blob, deleteSecret } = sealPost(bundle, author, { text });
  const deleteHash = deleteHashOf(deleteSecret!);
  const body = { epoch: bundle.epoch, blob: b64(blob), deleteHash, sig: signPosting(privateKey(unb64(bundle.posting.priv)), postStatement(bundle.collective, bundle.epoch, blob, deleteHash)) };
  const json = JSON.stringify(body);
  const res = await fetch(`${op.url}/v2/collectives/${bundle.collective}/posts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
  if (res.status !== 201) throw new Error(`post: ${res.status}`);
  await res.arrayBuffer();
  return json.length;
}

/** Bytes the store holds for a collective's pending posts (keys and values). */
async function postBytes(op: Op, c: string): Promise<{ bytes: number; posts: number }> {
  const rows = (await snapshot(op)).filter((kv) => kv.startsWith(`!P!${c}!`));
  return { bytes: rows.reduce((n, kv) => n + kv.indexOf('=') + (kv.length - kv.indexOf('=') - 1) / 2, 0), posts: rows.length };
}

export async function benchPosts() {
  section('posts: one blob per post (POSTS.md §8)');
  const op = await startTestOperator();
  try {
    const small = await collective(op, 'tenfold', 10), large = await collective(op, 'thousand', 1000);
    const text = 'a post of ordinary length, '.repeat(10);
    let sentSmall = 0, sentLarge = 0;
    const tSmall = await median(30, async () => { sentSmall = await post(op, small, text); });
    const tLarge = await median(30, async () => { sentLarge = await post(op, large, text); });
    ratio('poster: time to seal and send a post, 1,000 vs 10 members', { name: '1,000 members', value: tLarge, unit: 'ms' }, { name: '10 members', value: tSmall, unit: 'ms' }, { max: 1.2 });
    ratio('poster: bytes sent for a post, 1,000 vs 10 members', { name: '1,000 members', value: sentLarge, unit: 'B' }, { name: '10 members', value: sentSmall, unit: 'B' }, { max: 1.2 });
    const s = await postBytes(op, 'tenfold'), l = await postBytes(op, 'thousand');
    ratio('Operator: bytes stored per post, 1,000 vs 10 members', { name: '1,000 members', value: l.bytes / l.posts, unit: 'B' }, { name: '10 members', value: s.bytes / s.posts, unit: 'B' }, { max: 1.1 });

    // a member reads 100 posts: cursor reads (50 a batch) and opening each post
    const reader = new KeyPair();
    const id = await op.store.posts.openCursor(foldName('thousand'), 1, b64(reader.publicKey), '2');
    for (let i = 0; i < 80; i++) await post(op, large, text); // 30 + 80 = 110 pending
    const { OperatorClient } = await import('../protocol/client.ts');
    const client = new OperatorClient(op.url);
    const t0 = performance.now();
    let read = 0;
    while (read < 100) {
      const { posts } = await client.readCursor('thousand', id, reader.privateKey);
      let last = 0;
      for (const p of posts.slice(0, 100 - read)) { openPost(large, p.blob); read++; last = p.seq; }
      await client.ackCursor('thousand', id, last, reader.privateKey);
    }
    row('member: time to read and open 100 posts (cursor reads and acks over HTTP)', performance.now() - t0, 'ms');

    // a key rotation for 1,000 members: seal the bundle to each prekey, upload in one batch
    const members = Array.from({ length: 1000 }, () => ({ identity: new KeyPair(), prekey: new KeyPair(), id: b64(randomBytes(8)) }));
    const rotator = { privateKey: author.identity.privateKey, publicKey: author.identity.publicKey };
    const next = newEpochBundle('thousand', 2, large.root);
    await op.store.posts.openEpoch(foldName('thousand'), 2, { postingKey: next.posting.pub, root: large.root, members: 1000 }, '3');
    const t1 = performance.now();
    const blobs = members.map((m) => seal({ senderIdentity: rotator, recipientIdentityKey: m.identity.publicKey, prekey: { id: m.id, key: m.prekey.publicKey }, body: next }).blob);
    const tSeal = performance.now() - t1;
    const body = JSON.stringify({ blobs: blobs.map(b64), sig: signPosting(privateKey(unb64(next.posting.priv)), keysStatement('thousand', 2, blobs)) });
    const t2 = performance.now();
    const res = await fetch(`${op.url}/v2/collectives/thousand/epochs/2/keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (res.status !== 201) throw new Error(`keys: ${res.status} ${await res.text()}`);
    const tUpload = performance.now() - t2;
    row('rotation, 1,000 members: seal 1,000 envelopes', tSeal, 'ms');
    row('rotation, 1,000 members: upload the batch (one request)', tUpload, 'ms');
    row('rotation, 1,000 members: bytes uploaded', body.length, 'B', { text: '≤ 2 MiB', met: body.length <= 2 * 1024 * 1024 });
  } finally { await op.close(); }
}
