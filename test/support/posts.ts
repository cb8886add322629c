/**
 * Test support for the Operator's posts routes (POSTS.md): a fresh Operator holding one `open`
 * collective of `n` registered members (each test makes its own, so tests depend on no other),
 * optionally with epoch 1 opened and its bundle delivered, and what members and rotators do:
 * seal and upload bundles, fetch them, post, read through cursors. Proofs come from a recording
 * (test/support/proofs.ts); member secrets and the keys proofs bind are seeded, so they reproduce.
 */
import assert from 'node:assert/strict';
import { b64, randomBytes, unb64 } from '../../protocol/bytes.ts';
import { OperatorError } from '../../protocol/client.ts';
import { open as openEnvelope, seal } from '../../protocol/envelope.ts';
import { EPOCH_SUBJECT, cursorBinding, epochBinding } from '../../protocol/posts-wire.ts';
import { EpochBundle, deleteHashOf, newEpochBundle, openPostFrom, sealPost } from '../../protocol/posts.ts';
import { KeyPair, privateKey } from '../../protocol/themis.ts';
import { memberIdentity, type VouchProof } from '../../protocol/vouch.ts';
import { komrade, snapshot, startTestOperator } from './operator.ts';
import type { ProveJob, recordedProofs } from './proofs.ts';
import { seededSecret } from './proofs.ts';
import { foldName } from '../../protocol/names.ts';
import { collectiveLock } from '../../operator/lock-keys.ts';

/** A member: a registered komrade with its collective secret, prekey id and (once opened) cursor. */
export type Member = ReturnType<typeof komrade> & { secret: Uint8Array; prekeyId: string; cursor?: { id: string; key: KeyPair } };
type Proofs = ReturnType<typeof recordedProofs>;

/** A refusal with this status (and reason, if given). */
export const rejects = (status: number, reason?: string) => (e: unknown) =>
  e instanceof OperatorError && e.status === status && (reason === undefined || e.reason === reason);
export const postingKey = (b: EpochBundle) => privateKey(unb64(b.posting.priv));

/**
 * A new Operator (clock: real time plus `clock.skew`) with collective `c` of `n` members and a
 * stranger; with `epoch1`, epoch 1 is opened by the first member and sealed to all.
 */
export async function postsWorld(proofs: Proofs, c: string, o: { n: number; epoch1: boolean }) {
  const clock = { skew: 0, now: () => Date.now() + clock.skew };
  const op = await startTestOperator({ now: clock.now });
  op.server.keepAliveTimeout = 10 * 60_000; // proving in this process would otherwise race keep-alive closes
  const m: Member[] = [];
  let stranger!: Member;
  for (let i = 0; i < o.n + 1; i++) {
    const k = Object.assign(komrade(`${c.slice(0, 8)}${String(i).padStart(2, '0')}x`), { secret: seededSecret(`${c}/${i}`), prekeyId: '' });
    k.prekeyId = (await k.register(op.client)).record.prekey.id;
    if (i < o.n) m.push(k); else stranger = k;
  }
  const commitments = new Map<Member, bigint>(); // deriving one takes ~40 ms: once per member
  const commitmentOf = (k: Member) => commitments.get(k) ?? commitments.set(k, memberIdentity(k.secret, c).commitment).get(k)!;
  const f = m[0]!;
  await op.client.createCollective(f.identity.privateKey, { v: 2, name: c, description: 'posts', quorum: 'open', created: Date.now(), founder: f.name, founderKey: b64(f.identity.publicKey), founderCommitment: commitmentOf(f).toString() });
  for (const k of m.slice(1)) {
    const r = await op.client.requestJoin(k.identity.privateKey, { v: 2, collective: c, name: k.name, identityKey: b64(k.identity.publicKey), commitment: commitmentOf(k).toString(), prekey: { id: k.prekeyId, key: b64(k.prekey.publicKey) }, ts: Date.now() });
    assert.equal(r.admitted, true);
  }
  const directory = (name: string) => { const k = [...m, stranger].find((x) => x.name === name); return k && k.identity.publicKey; };

  const w = {
    op, clock, c, m, stranger, commitmentOf,
    /** A proof job for member `k`. */
    job: (k: Member, kind: 'epoch' | 'cursor', epoch: number, binding: bigint, members: string[]): ProveJob =>
      ({ secret: b64(k.secret), collective: c, members, kind, subject: EPOCH_SUBJECT, epoch, binding: binding.toString() }),
    /** A new epoch's bundle whose posting key is recorded under `label` (the epoch proof binds it). */
    bundle(epoch: number, root: string, label: string): EpochBundle {
      const p = proofs.keyPair(`${c}/posting/${label}`);
      return { ...newEpochBundle(c, epoch, root), posting: { priv: b64(p.privateKey), pub: b64(p.publicKey) } };
    },
    /** Open `b` with a proof by `k` against the current tree. */
    async openEpoch(k: Member, b: EpochBundle) {
      const [proof] = await proofs.prove([w.job(k, 'epoch', b.epoch, epochBinding(b.posting.pub, b.root), (await op.client.tree(c)).leaves)]);
      return op.client.openEpoch(c, { epoch: b.epoch, postingKey: b.posting.pub, root: b.root, proof: proof! });
    },
    /** Assert that `what` is refused as `check` says and changes nothing in the store. */
    async unchanged<T>(what: () => Promise<T>, check: (e: unknown) => boolean) {
      const before = await snapshot(op);
      await assert.rejects(what, check);
      assert.deepEqual(await snapshot(op), before, 'a refusal changes nothing');
    },
    /** Seal the bundle to each member (their prekey, signed by the rotator) and upload in one batch. */
    deliver(bundle: EpochBundle, rotator: Member, to: Member[]) {
      const blobs = to.map((k) => seal({ senderIdentity: rotator.identity, recipientIdentityKey: k.identity.publicKey, prekey: { id: k.prekeyId, key: k.prekey.publicKey }, body: bundle }).blob);
      return op.client.uploadKeys(c, bundle.epoch, blobs, postingKey(bundle));
    },
    /** What a member's add-on does: fetch its envelopes of an epoch and open the bundle. */
    async fetchBundle(k: Member, epoch: number): Promise<EpochBundle[]> {
      const blobs = await op.client.fetchKeys(c, epoch, k.prekeyId);
      return blobs.map((blob) => EpochBundle.parse(openEnvelope(blob, { prekey: (id) => (id === k.prekeyId ? k.prekey.privateKey : undefined), myIdentityKey: k.identity.publicKey, seen: () => false }).body));
    },
    /** A member posts `text`; returns seq, id, delete secret and a needle from the middle of the blob. */
    async post(k: Member, bundle: EpochBundle, text: string) {
      const { blob, id, deleteSecret } = sealPost(bundle, { name: k.name, identity: k.identity }, { text });
      const { seq } = await op.client.post(c, bundle.epoch, blob, deleteHashOf(deleteSecret!), postingKey(bundle));
      return { seq, id, deleteSecret: deleteSecret!, blob, needle: blob.slice(500, 532) };
    },
    /** Everything a member's cursor yields now, opened and checked as a reader does. */
    async readAll(k: Member, bundle: EpochBundle) {
      const out: { seq: number; text: string; kind: string; target?: string }[] = [];
      for (;;) {
        const { posts, more } = await op.client.readCursor(c, k.cursor!.id, k.cursor!.key.privateKey);
        for (const p of posts) {
          const payload = openPostFrom(bundle, p.blob, directory);
          out.push({ seq: p.seq, kind: payload.kind, text: payload.kind === 'post' ? payload.text : '', target: payload.kind === 'tombstone' ? payload.target : undefined });
        }
        if (!more) return out;
      }
    },
    /**
     * Open cursors: the first `real` with real proofs over HTTP, the rest straight into the store
     * (the same `openCursor` the route calls once a proof has verified, with a random nullifier).
     */
    async openCursors(who: Member[], epoch: number, real = who.length): Promise<VouchProof[]> {
      const members = (await op.client.tree(c)).leaves;
      for (const k of who) k.cursor = { id: '', key: proofs.keyPair(`${c}/cursor/${k.name}/${epoch}`) };
      const proven = who.slice(0, real);
      const ps = await proofs.prove(proven.map((k) => w.job(k, 'cursor', epoch, cursorBinding(b64(k.cursor!.key.publicKey)), members)));
      for (const [i, k] of proven.entries()) k.cursor!.id = (await op.client.openCursor(c, epoch, k.cursor!.key.publicKey, ps[i]!)).id;
      for (const k of who.slice(real)) k.cursor!.id = await op.store.lock.run(collectiveLock(foldName(c)), () => op.store.posts.openCursor(foldName(c), epoch, b64(k.cursor!.key.publicKey), BigInt(`0x${Buffer.from(randomBytes(30)).toString('hex')}`).toString()));
      return ps;
    },
    epoch1: undefined as EpochBundle | undefined,
  };
  if (o.epoch1) {
    try {
      const b1 = w.bundle(1, (await op.client.getCollective(c)).root, '1');
      assert.deepEqual(await w.openEpoch(f, b1), { epoch: 1 });
      assert.deepEqual(await w.deliver(b1, f, m), { stored: o.n });
      w.epoch1 = b1;
    } catch (e) { await op.close(); throw e; } // a failed setup must not keep the process alive
  }
  return w;
}
