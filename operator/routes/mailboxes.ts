/**
 * Mailbox routes (PROTOCOL.md §5.2–§5.6): create, deposit, fetch, ack, delete. Every route on
 * one mailbox runs under that mailbox's lock (`store.mailboxes.with`), so a blob is never served
 * after its ack has completed.
 */
import { b64, unb64 } from '../../protocol/bytes.ts';
import { checkWork, depositPowPrefix, mailboxPowPrefix } from '../../protocol/identity.ts';
import { fetchResponseBucket } from '../../protocol/padding.ts';
import * as W from '../../protocol/wire.ts';
import { heldRead } from '../holds.ts';
import { fail, type Deps, type Handlers } from '../http.ts';
import { spendOnce } from './shared.ts';

/** An intro mailbox's deposit must carry fresh work bound to it and to this blob, spent once (§5.3). */
async function checkDepositWork(deps: Deps, id: string, blob: Uint8Array, pow: W.DepositPow | undefined) {
  const { config, now } = deps;
  if (!pow) fail(403, 'proof of work required for an intro mailbox');
  if (Math.abs(now() - pow.ts) > W.LIMITS.replayWindowMs) fail(403, 'stale proof of work');
  const prefix = depositPowPrefix(id, pow.ts, blob);
  if (!checkWork(prefix, pow.counter, config.depositPowBits)) fail(403, 'insufficient proof of work');
  await spendOnce(deps, prefix + pow.counter, pow.ts + W.LIMITS.replayWindowMs, 403, 'replayed proof of work');
}

/** A fetch response with `pad` (zeros) making its JSON body exactly a FETCH_BUCKETS size (§5.4): none or one short blob look alike. */
export function padFetch(body: { blobs: { id: string; blob: string }[]; more: boolean }): W.FetchResponse {
  const bare = JSON.stringify({ ...body, pad: '' }).length;
  return { ...body, pad: '0'.repeat(fetchResponseBucket(bare) - bare) };
}

/** The mailbox routes. */
export const mailboxRoutes: Handlers<'create-mailbox' | 'deposit' | 'fetch' | 'ack' | 'delete-mailbox'> = {
  'create-mailbox': async ({ body }, { store, config, spends, authorize }) => {
    if (!checkWork(mailboxPowPrefix(body.id, body.key), body.pow, config.mailboxPowBits)) fail(403, 'insufficient proof of work');
    await store.lock.run(body.id, async () => {
      if (await store.mailboxes.get(body.id)) fail(409, 'mailbox id taken');
      await authorize(body.key, body.auth, 'create-mailbox', body.id, body.key);
      // a deleted id stays taken for the TTL, except for the key that owned it (§5.6)
      if ((await store.mailboxes.create(body.id, body.key, spends)) === 'taken') fail(409, 'mailbox id taken');
    });
    return { status: 201, body: { ok: true } };
  },

  deposit: async ({ params: { id }, body }, deps) => {
    const data = unb64(body.blob);
    const result = await deps.store.mailboxes.with(id, async (meta) => {
      if (meta.intro) await checkDepositWork(deps, id, data, body.pow);
      const r = await deps.store.mailboxes.deposit(id, data, deps.spends);
      // a deposit refused for room did not use its work: it stays unspent (a refusal changes nothing)
      if (r !== 'stored') deps.store.unspend(deps.spends);
      return r;
    });
    if (result === 'unknown') fail(404, 'no such mailbox');
    if (result === 'quota') fail(429, 'mailbox full');
    if (result === 'full') fail(507, 'operator storage full');
    return { status: 201, body: { ok: true } };
  },

  // with a wait, an empty mailbox holds the answer until a deposit or the wait's end (§5.4; holds.ts)
  fetch: async ({ params: { id }, body }, deps) => {
    const { store, spends, authorize } = deps;
    const read = async (s?: typeof spends) => {
      const { blobs, more } = await store.mailboxes.fetch(id, W.LIMITS.fetchBatch, s);
      return { blobs: blobs.map((b) => ({ id: b.id, blob: b64(b.data) })), more };
    };
    const first = await store.mailboxes.with(id, async (meta) => {
      await authorize(meta.key, body.auth, 'fetch', id, W.fetchPayload(body.wait));
      return read(spends);
    });
    if (!body.wait || first.blobs.length) return { body: padFetch(first) };
    await store.settle(spends); // the nonce is on disk before the request is held
    // a mailbox deleted meanwhile answers empty (its blobs are gone with it)
    const again = () => store.mailboxes.with(id, () => read()).catch(() => ({ blobs: [], more: false }));
    const held = await heldRead(deps.holds, deps.signal, `mailbox:${id}`, body.wait, true, first, again, (r) => !r.blobs.length);
    // a held fetch that ends empty ended because its wait ran out (or it was replaced): when it ends tells that already, so it is not padded (§5.4)
    return { body: held.blobs.length ? padFetch(held) : held };
  },

  ack: async ({ params: { id }, body }, { store, spends, authorize }) => store.mailboxes.with(id, async (meta) => {
    await authorize(meta.key, body.auth, 'ack', id, W.ackPayload(body.ids));
    return { body: { deleted: await store.mailboxes.ack(id, body.ids, true, spends) } };
  }),

  'delete-mailbox': async ({ params: { id }, body }, { store, spends, authorize }) => store.mailboxes.with(id, async (meta) => {
    await authorize(meta.key, body.auth, 'delete-mailbox', id);
    if (meta.intro) fail(403, 'this is a name\'s intro mailbox: delete the name with it');
    await store.mailboxes.delete(id, spends);
    return { body: { ok: true as const } };
  }),
};
