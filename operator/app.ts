/**
 * The Operator's HTTP API (protocol v2, PROTOCOL.md §5) as a Koa app: validates size, shape and signature
 * of every request before touching storage, answers errors as 4xx `{ error }`, and counts
 * requests without recording anything that identifies anyone.
 */
import { createHash } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { z } from 'zod';
import { b64, unb64 } from '../protocol/bytes.ts';
import { checkPow, checkWork, depositPowPrefix, mailboxPowPrefix, verifyAuth, verifyRecord } from '../protocol/identity.ts';
import { skeleton } from '../protocol/names.ts';
import * as W from '../protocol/wire.ts';
import type { Store } from './store.ts';

/** Operator settings the API needs. */
export interface AppConfig {
  /** Proof-of-work bits to register a name (§5.7), create a mailbox (§5.2), deposit into an intro mailbox (§5.3). */
  powBits: number; mailboxPowBits: number; depositPowBits: number;
  ttlMs: number; maxBlobsPerMailbox: number; maxBytesPerMailbox: number;
}

/** Per-kind request counters: the only thing the Operator records about traffic. */
export type Counters = Record<string, number>;

type Ctx = { params: Record<string, string> };

function fail(status: number, reason: string): never {
  throw Object.assign(new Error(reason), { status, expose: true });
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    fail(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return r.data;
}

/** Build the Koa app over a store. `counters` is filled in as requests arrive. */
export function createApp(store: Store, config: AppConfig, counters: Counters = {}): Koa {
  const app = new Koa();
  app.silent = true; // Koa's default error log would print request details
  const router = new Router({ prefix: W.PREFIX });
  const now = () => store.opts.now();
  const count = (k: string) => { counters[k] = (counters[k] ?? 0) + 1; };

  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) fail(404, 'no such endpoint');
    } catch (err) {
      const e = err as { status?: number; expose?: boolean; message?: string; type?: string };
      // 4xx for refusals; 507 when the Operator's storage budget is spent (§5.3); anything else is a bug
      const status = typeof e.status === 'number' && ((e.status >= 400 && e.status < 500) || e.status === 507) ? e.status : 500;
      ctx.status = status;
      ctx.body = { error: status === 500 ? 'internal error' : e.type === 'entity.too.large' ? 'body too large' : e.expose ? e.message : 'bad request' };
      // the unread rest of a refused body would stall a keep-alive connection: close it
      if (status === 413) ctx.set('Connection', 'close');
      count(status === 500 ? 'error' : 'refused');
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
  });
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: W.LIMITS.bodyBytes, encoding: 'utf-8', onError: (err) => {
    const status = (err as { status?: number }).status;
    fail(status === 413 ? 413 : 400, status === 413 ? 'body too large' : 'malformed JSON');
  } }));

  /** Check a signed request: fresh, signed by `key`, nonce never seen before. */
  async function authorize(key: string, auth: W.Auth, action: W.Action, target: string, payload = '') {
    if (!verifyAuth(key, auth, action, target, payload)) fail(401, 'bad signature');
    if (Math.abs(now() - auth.ts) > W.LIMITS.replayWindowMs) fail(403, 'stale request time');
    if (!(await store.spendNonce(auth.nonce, auth.ts + W.LIMITS.replayWindowMs))) fail(403, 'replayed request');
  }
  /** An intro mailbox's deposit must carry fresh work bound to it and to this blob, spent once (§5.3). */
  async function checkDepositWork(id: string, blob: Uint8Array, pow: W.DepositPow | undefined) {
    if (!pow) fail(403, 'proof of work required for an intro mailbox');
    if (Math.abs(now() - pow.ts) > W.LIMITS.replayWindowMs) fail(403, 'stale proof of work');
    const prefix = depositPowPrefix(id, pow.ts, blob);
    if (!checkWork(prefix, pow.counter, config.depositPowBits)) fail(403, 'insufficient proof of work');
    const spent = createHash('sha256').update(prefix + pow.counter).digest('base64url');
    if (!(await store.spendNonce(spent, pow.ts + W.LIMITS.replayWindowMs))) fail(403, 'replayed proof of work');
  }
  const mailboxId = (ctx: Ctx) => parse(W.MailboxId, ctx.params.id);
  const lowerName = (ctx: Ctx) => parse(W.Name, ctx.params.name).toLowerCase();

  router.get('/info', (ctx) => {
    count('info');
    ctx.body = {
      v: W.VERSION, powBits: config.powBits, mailboxPowBits: config.mailboxPowBits, depositPowBits: config.depositPowBits, ttlDays: config.ttlMs / 86_400_000, blobSizes: [...W.BLOB_SIZES],
      maxBlobsPerMailbox: config.maxBlobsPerMailbox, maxBytesPerMailbox: config.maxBytesPerMailbox,
    } satisfies W.InfoResponse;
  });

  router.post('/mailboxes', async (ctx) => {
    const req = parse(W.CreateMailbox, ctx.request.body);
    if (!checkWork(mailboxPowPrefix(req.id, req.key), req.pow, config.mailboxPowBits)) fail(403, 'insufficient proof of work');
    await store.lock.run(req.id, async () => {
      if (await store.getMailbox(req.id)) fail(409, 'mailbox id taken');
      await authorize(req.key, req.auth, 'create-mailbox', req.id, req.key);
      // a deleted id stays taken for the TTL, except for the key that owned it (§5.6)
      if ((await store.createMailbox(req.id, req.key)) === 'taken') fail(409, 'mailbox id taken');
    });
    count('create-mailbox');
    ctx.status = 201;
    ctx.body = { ok: true };
  });

  router.post('/mailboxes/:id/deposit', async (ctx) => {
    const id = mailboxId(ctx);
    const req = parse(W.Deposit, ctx.request.body);
    const data = unb64(req.blob);
    const result = await store.lock.run(id, async () => {
      const meta = await store.getMailbox(id);
      if (!meta) fail(404, 'no such mailbox');
      if (meta.intro) await checkDepositWork(id, data, req.pow);
      return store.deposit(id, data);
    });
    if (result === 'unknown') fail(404, 'no such mailbox');
    if (result === 'quota') fail(429, 'mailbox full');
    if (result === 'full') fail(507, 'operator storage full');
    count('deposit');
    ctx.status = 201;
    ctx.body = { ok: true };
  });

  router.post('/mailboxes/:id/fetch', async (ctx) => {
    const id = mailboxId(ctx);
    const req = parse(W.Fetch, ctx.request.body);
    ctx.body = await store.lock.run(id, async () => {
      const meta = await store.getMailbox(id);
      if (!meta) fail(404, 'no such mailbox');
      await authorize(meta.key, req.auth, 'fetch', id);
      const { blobs, more } = await store.fetch(id, W.LIMITS.fetchBatch);
      return { blobs: blobs.map((b) => ({ id: b.id, blob: b64(b.data) })), more } satisfies W.FetchResponse;
    });
    count('fetch');
  });

  router.post('/mailboxes/:id/ack', async (ctx) => {
    const id = mailboxId(ctx);
    const req = parse(W.Ack, ctx.request.body);
    ctx.body = await store.lock.run(id, async () => {
      const meta = await store.getMailbox(id);
      if (!meta) fail(404, 'no such mailbox');
      await authorize(meta.key, req.auth, 'ack', id, W.ackPayload(req.ids));
      return { deleted: await store.ack(id, req.ids) };
    });
    count('ack');
  });

  router.post('/mailboxes/:id/delete', async (ctx) => {
    const id = mailboxId(ctx);
    const req = parse(W.DeleteMailbox, ctx.request.body);
    await store.lock.run(id, async () => {
      const meta = await store.getMailbox(id);
      if (!meta) fail(404, 'no such mailbox');
      await authorize(meta.key, req.auth, 'delete-mailbox', id);
      if (meta.intro) fail(403, 'this is a name\'s intro mailbox: delete the name with it');
      await store.deleteMailbox(id);
    });
    count('delete-mailbox');
    ctx.body = { ok: true };
  });

  router.post('/names', async (ctx) => {
    const req = parse(W.Register, ctx.request.body);
    const lower = req.record.name.toLowerCase(), skel = skeleton(lower), intro = req.record.intro;
    if (Math.abs(now() - req.record.ts) > W.LIMITS.replayWindowMs) fail(403, 'stale record time');
    if (!checkPow(lower, req.record.identityKey, req.pow, config.powBits)) fail(403, 'insufficient proof of work');
    if (!verifyRecord(req)) fail(401, 'bad signature');
    // lock order everywhere: the name's skeleton, then the mailbox
    await store.lock.run(`name:${skel}`, () => store.lock.run(intro, async () => {
      if (await store.getName(lower)) fail(409, 'name taken');
      if (await store.nameBySkeleton(skel)) fail(409, 'too similar to an existing name');
      const meta = await store.getMailbox(intro);
      if (!meta) fail(404, 'intro mailbox not found');
      await authorize(meta.key, req.introAuth, 'claim-intro', intro, lower);
      if (meta.intro) fail(409, 'that mailbox is already an intro');
      await store.registerName(lower, skel, { record: req.record, sig: req.sig });
    }));
    count('register');
    ctx.status = 201;
    ctx.body = { ok: true };
  });

  router.get('/names/:name', async (ctx) => {
    const rec = await store.getName(lowerName(ctx));
    if (!rec) fail(404, 'no such name');
    count('lookup');
    ctx.body = rec;
  });

  router.put('/names/:name', async (ctx) => {
    const lower = lowerName(ctx);
    const req = parse(W.Replace, ctx.request.body);
    if (req.record.name.toLowerCase() !== lower) fail(400, 'record.name: does not match the path');
    if (!verifyRecord(req)) fail(401, 'bad signature');
    await store.lock.run(`name:${skeleton(lower)}`, async () => {
      const old = await store.getName(lower);
      if (!old) fail(404, 'no such name');
      if (old.record.identityKey !== req.record.identityKey || old.record.intro !== req.record.intro || old.record.name !== req.record.name) {
        fail(403, 'record must keep its name, identity key and intro mailbox');
      }
      if (req.record.ts <= old.record.ts) fail(409, 'record is not newer than the current one');
      await store.replaceName(lower, req);
    });
    count('replace');
    ctx.body = { ok: true };
  });

  router.post('/names/:name/delete', async (ctx) => {
    const lower = lowerName(ctx), skel = skeleton(lower);
    const req = parse(W.DeleteName, ctx.request.body);
    await store.lock.run(`name:${skel}`, async () => {
      const old = await store.getName(lower);
      if (!old) fail(404, 'no such name');
      const intro = old.record.intro;
      await store.lock.run(intro, async () => {
        const meta = await store.getMailbox(intro);
        // the intro goes too only if this request also proves its key (§5.10); checked before anything is spent
        if (req.introAuth && meta && !verifyAuth(meta.key, req.introAuth, 'delete-mailbox', intro)) fail(401, 'bad signature');
        await authorize(old.record.identityKey, req.auth, 'delete-name', lower);
        if (req.introAuth && meta) await authorize(meta.key, req.introAuth, 'delete-mailbox', intro);
        await store.deleteName(lower, skel, intro, !!(req.introAuth && meta));
      });
    });
    count('delete-name');
    ctx.body = { ok: true };
  });

  app.use(router.routes());
  // a wrong method is an error like any other: JSON `{ error }`
  app.use(router.allowedMethods({
    throw: true,
    methodNotAllowed: () => Object.assign(new Error('method not allowed'), { status: 405, expose: true }),
    notImplemented: () => Object.assign(new Error('method not allowed'), { status: 405, expose: true }),
  }));
  return app;
}
