/**
 * Directory routes (PROTOCOL.md §5.7–§5.10): register, look up, replace, delete a name. Lock
 * order everywhere: the name's confusable skeleton, then the intro mailbox.
 */
import { b64 } from '../../protocol/bytes.ts';
import { checkPow, verifyRecord } from '../../protocol/identity.ts';
import { foldName, skeleton } from '../../protocol/names.ts';
import * as W from '../../protocol/wire.ts';
import { fail, type Handlers } from '../http.ts';
import { nameLock } from '../lock-keys.ts';
import { checkAuth } from '../verify.ts';

/** The directory routes. */
export const nameRoutes: Handlers<'register' | 'lookup' | 'available' | 'replace' | 'delete-name'> = {
  register: async ({ body }, { store, config, now, spends, authorize }) => {
    const lower = foldName(body.record.name), skel = skeleton(lower), intro = body.record.intro;
    if (Math.abs(now() - body.record.ts) > W.LIMITS.replayWindowMs) fail(403, 'stale record time');
    if (!checkPow(lower, body.record.identityKey, body.pow, config.powBits)) fail(403, 'insufficient proof of work');
    if (!verifyRecord(body)) fail(401, 'bad signature');
    await store.lock.run(nameLock(lower), () => store.lock.run(intro, async () => {
      if (await store.names.get(lower)) fail(409, 'name taken');
      if (await store.names.bySkeleton(skel)) fail(409, 'too similar to an existing name');
      const meta = await store.mailboxes.get(intro);
      if (!meta) fail(404, 'intro mailbox not found');
      await authorize(meta.key, body.introAuth, 'claim-intro', intro, lower);
      if (meta.intro) fail(409, 'that mailbox is already an intro');
      await store.names.register(lower, skel, { record: body.record, sig: body.sig }, spends);
    }));
    return { status: 201, body: { ok: true } };
  },

  lookup: async ({ params }, { store }) => {
    const rec = await store.names.get(params.name);
    if (!rec) fail(404, 'no such name');
    // the record and its log proof (§5.11); a name registered before the log has no leaf: it is refused
    const log = await store.log.lookup(params.name);
    if (!log) fail(404, 'no such name');
    return { body: { ...rec, log: { index: log.leaf.index, opening: log.leaf.opening, proof: log.proof.map(b64), checkpoint: log.head.note, names: log.names } } };
  },

  // the same checks, in the same order, as register and create-collective make before they write
  available: async ({ params: { name } }, { store }) => {
    if ((await store.names.get(name)) || (await store.collectives.get(name))) return { body: { available: false, reason: 'taken' } };
    if (await store.names.bySkeleton(skeleton(name))) return { body: { available: false, reason: 'look-alike' } };
    return { body: { available: true } };
  },

  replace: async ({ params, body }, { store }) => {
    const lower = params.name;
    if (foldName(body.record.name) !== lower) fail(400, 'record.name: does not match the path');
    if (!verifyRecord(body)) fail(401, 'bad signature');
    await store.lock.run(nameLock(lower), async () => {
      const old = await store.names.get(lower);
      if (!old) fail(404, 'no such name');
      if (old.record.identityKey !== body.record.identityKey || old.record.intro !== body.record.intro || old.record.name !== body.record.name) {
        fail(403, 'record must keep its name, identity key and intro mailbox');
      }
      if (body.record.ts <= old.record.ts) fail(409, 'record is not newer than the current one');
      await store.names.replace(lower, body);
    });
    return { body: { ok: true } };
  },

  'delete-name': async ({ params, body }, { store, spends, authorize }) => {
    const lower = params.name;
    await store.lock.run(nameLock(lower), async () => {
      const old = await store.names.get(lower);
      if (!old) fail(404, 'no such name');
      const intro = old.record.intro;
      await store.lock.run(intro, async () => {
        const meta = await store.mailboxes.get(intro);
        // the intro goes too only if this request also proves its key (§5.10); checked before any nonce is spent
        if (body.introAuth && meta && !checkAuth(meta.key, body.introAuth, 'delete-mailbox', intro)) fail(401, 'bad signature');
        await authorize(old.record.identityKey, body.auth, 'delete-name', lower);
        if (body.introAuth && meta) await authorize(meta.key, body.introAuth, 'delete-mailbox', intro);
        await store.names.delete(lower, skeleton(lower), intro, !!(body.introAuth && meta), spends);
      });
    });
    return { body: { ok: true } };
  },
};
