/**
 * Post routes (POSTS.md §6): open a key epoch (compare-and-swap), upload and fetch the sealed
 * epoch bundles, post (signed by the epoch's posting key), delete a post by its secret, and
 * anonymous cursors that read and acknowledge. Every route runs under the collective's lock
 * (`collectiveLock`, taken before the store's gate, via `withCollective`). Epoch and cursor proofs carry no Auth;
 * the Operator stores their nullifiers apart from anything else, so a cursor is tied to no member.
 */
import { createHash } from 'node:crypto';
import { b64, unb64 } from '../../protocol/bytes.ts';
import type { FoldedName } from '../../protocol/names.ts';
import {
  EPOCH_SUBJECT, READ_BATCH, ackPostsPayload, cursorBinding, epochBinding, keysStatement, postStatement, prekeyOfEnvelope, verifyPosting,
} from '../../protocol/posts-wire.ts';
import type { VouchProof } from '../../protocol/vouch-wire.ts';
import { fail, type Deps, type Handlers } from '../http.ts';
import { MAX_PENDING_POSTS } from '../store/index.ts';
import { checkProof, spendOnce, withCollective } from './shared.ts';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

/** An epoch or cursor proof for this epoch and binding, against `roots`; its nullifier unused in the epoch. Call under the collective's lock. */
function checkEpochProof({ store }: Deps, c: FoldedName, kind: 'epoch' | 'cursor', epoch: number, binding: bigint, proof: VouchProof, roots: Set<string>) {
  return checkProof(proof, { kind, collective: c, subject: EPOCH_SUBJECT, epoch, commitment: binding, roots },
    () => store.posts.nullifierUsed(c, epoch, kind, proof.nullifier));
}

/** The post routes. */
export const postRoutes: Handlers<'open-epoch' | 'current-epoch' | 'upload-keys' | 'fetch-keys' | 'post' | 'delete-post' | 'open-cursor' | 'read-cursor' | 'ack-cursor'> = {
  'open-epoch': async ({ params, body }, deps) => {
    const { store } = deps, c = params.collective;
    await withCollective(deps, c, async (meta) => {
      const feed = await store.posts.feed(c);
      if (body.epoch !== feed.epoch + 1) fail(409, 'epoch taken');
      if (body.root !== meta.root) fail(403, 'root is not the current root');
      await checkEpochProof(deps, c, 'epoch', body.epoch, epochBinding(body.postingKey, body.root), body.proof, new Set(await store.collectives.acceptedRoots(c)));
      await store.posts.openEpoch(c, body.epoch, { postingKey: body.postingKey, root: body.root, members: meta.members }, body.proof.nullifier);
    });
    return { status: 201, body: { epoch: body.epoch } };
  },

  'current-epoch': async ({ params }, deps) => {
    const c = params.collective;
    return withCollective(deps, c, async () => {
      const { epoch } = await deps.store.posts.feed(c);
      if (!epoch) fail(404, 'no epoch yet');
      const rec = (await deps.store.posts.epoch(c, epoch))!;
      return { body: { epoch, postingKey: rec.postingKey, root: rec.root, members: rec.members } };
    });
  },

  'upload-keys': async ({ params, body }, deps) => {
    const c = params.collective, epoch = Number(params.epoch);
    const blobs = body.blobs.map(unb64);
    const stored = await withCollective(deps, c, async () => {
      const rec = await deps.store.posts.epoch(c, epoch);
      if (!rec) fail(404, 'no such epoch');
      if (!verifyPosting(rec.postingKey, body.sig, keysStatement(c, epoch, blobs))) fail(401, 'bad signature');
      const n = await deps.store.posts.storeKeys(c, epoch, blobs, prekeyOfEnvelope);
      if (n === 'quota') fail(429, 'too many key envelopes for this epoch');
      return n;
    });
    return { status: 201, body: { stored } };
  },

  'fetch-keys': async ({ params }, deps) => {
    const c = params.collective, epoch = Number(params.epoch);
    return withCollective(deps, c, async () => {
      if (!(await deps.store.posts.epoch(c, epoch))) fail(404, 'no such epoch');
      return { body: { blobs: (await deps.store.posts.fetchKeys(c, epoch, params.prekey)).map(b64) } };
    });
  },

  post: async ({ params, body }, deps) => {
    const { store, config, now } = deps, c = params.collective;
    const blob = unb64(body.blob);
    const seq = await withCollective(deps, c, async () => {
      const { epoch, posts } = await store.posts.feed(c);
      if (!epoch || body.epoch !== epoch) fail(409, 'not the current epoch');
      const rec = (await store.posts.epoch(c, epoch))!;
      if (!verifyPosting(rec.postingKey, body.sig, postStatement(c, epoch, blob, body.deleteHash))) fail(401, 'bad signature');
      if (posts >= MAX_PENDING_POSTS) fail(429, 'too many pending posts');
      // a replayed post request (same blob) is refused for as long as the post could be pending
      await spendOnce(deps, `komrade/v2 post\n${c}\n${body.sig}`, now() + config.ttlMs, 409, 'post already made');
      return store.posts.add(c, epoch, blob, unb64(body.deleteHash), deps.spends);
    });
    return { status: 201, body: { seq } };
  },

  'delete-post': async ({ params, body }, deps) => {
    const c = params.collective;
    const r = await withCollective(deps, c, () => deps.store.posts.delete(c, Number(params.seq), sha(unb64(body.secret))));
    if (r === 'missing') fail(404, 'no such post');
    if (r === 'wrong') fail(403, 'wrong secret');
    return { body: { deleted: true as const } };
  },

  'open-cursor': async ({ params, body }, deps) => {
    const { store } = deps, c = params.collective;
    const id = await withCollective(deps, c, async () => {
      const rec = await store.posts.epoch(c, body.epoch);
      if (!rec) fail(404, 'no such epoch');
      const { epoch } = await store.posts.feed(c);
      // the current epoch's members prove against any accepted root; an earlier epoch's only against the root it was opened with
      const roots = new Set(body.epoch === epoch ? await store.collectives.acceptedRoots(c) : [rec.root]);
      await checkEpochProof(deps, c, 'cursor', body.epoch, cursorBinding(body.key), body.proof, roots);
      return store.posts.openCursor(c, body.epoch, body.key, body.proof.nullifier);
    });
    return { status: 201, body: { id } };
  },

  'read-cursor': async ({ params, body }, deps) => {
    const c = params.collective;
    return withCollective(deps, c, async () => {
      const cur = await deps.store.posts.cursor(c, params.id);
      if (!cur) fail(404, 'no such cursor');
      await deps.authorize(cur.key, body.auth, 'read-posts', params.id);
      const { posts, more } = await deps.store.posts.readCursor(c, params.id, READ_BATCH, deps.spends);
      return { body: { posts: posts.map((p) => ({ seq: p.seq, blob: b64(p.blob) })), more } };
    });
  },

  'ack-cursor': async ({ params, body }, deps) => {
    const c = params.collective;
    return withCollective(deps, c, async () => {
      const cur = await deps.store.posts.cursor(c, params.id);
      if (!cur) fail(404, 'no such cursor');
      await deps.authorize(cur.key, body.auth, 'ack-posts', params.id, ackPostsPayload(body.upTo));
      await deps.store.posts.ackCursor(c, params.id, body.upTo, deps.spends);
      return { body: { ok: true as const } };
    });
  },
};

