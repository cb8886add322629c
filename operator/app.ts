/**
 * The Operator's HTTP API (protocol v2, PROTOCOL.md §5) as a Koa app, derived from the route
 * table (protocol/routes.ts): validates size, shape and signature of every request before
 * touching storage, answers errors as 4xx `{ error }`, and counts requests without recording
 * anything that identifies anyone.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { z } from 'zod';
import { ROUTES, matchRoute, type Route, type RouteName } from '../protocol/routes.ts';
import * as W from '../protocol/wire.ts';
import { Holds, wakes } from './holds.ts';
import { authorizer, fail, type AppConfig, type Deps, type Handlers } from './http.ts';
import { collectiveRoutes } from './routes/collectives.ts';
import { requestRoutes, requestWakes } from './routes/requests-held.ts';
import { infoRoutes } from './routes/info.ts';
import { logRoutes } from './routes/log.ts';
import { mailboxRoutes } from './routes/mailboxes.ts';
import { nameRoutes } from './routes/names.ts';
import { rootRoute } from './root-page.ts';
import { postRoutes } from './routes/posts.ts';
import { Missing, Spends, type Store } from './store/index.ts';

export type { AppConfig } from './http.ts';

/** Per-kind request counters: the only thing the Operator records about traffic. */
export type Counters = Record<string, number>;

/** Every route's handler, one file per resource. */
const HANDLERS: Handlers<RouteName> = { ...infoRoutes, ...mailboxRoutes, ...nameRoutes, ...logRoutes, ...collectiveRoutes, ...requestRoutes, ...postRoutes };

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    fail(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return r.data;
}

const methodNotAllowed = () => Object.assign(new Error('method not allowed'), { status: 405, expose: true });

/** Build the Koa app over a store. `counters` is filled in as requests arrive; `holds` keeps its held reads (§5.4). */
export function createApp(store: Store, config: AppConfig, counters: Counters = {}, holds = new Holds()): Koa {
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
      const missing = err instanceof Missing;
      // 4xx for refusals; 507 when the Operator's storage budget is spent (§5.3); anything else is a bug
      const status = missing ? 404 : typeof e.status === 'number' && ((e.status >= 400 && e.status < 500) || e.status === 507) ? e.status : 500;
      ctx.status = status;
      ctx.body = { error: status === 500 ? 'internal error' : e.type === 'entity.too.large' ? 'body too large' : e.expose || missing ? e.message : 'bad request' };
      // the unread rest of a refused body would stall a keep-alive connection: close it
      if (status === 413) ctx.set('Connection', 'close');
      count(status === 500 ? 'error' : 'refused');
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
  });
  // the onion root: a page without script saying what this is and how to join (PROTOCOL.md §10)
  app.use(rootRoute);
  // the body limit is the route's own (protocol/routes.ts `bodyLimit`), else the global one
  const parser = (limit: number) => bodyParser({ enableTypes: ['json'], jsonLimit: limit, encoding: 'utf-8', onError: (err) => {
    const status = (err as { status?: number }).status;
    fail(status === 413 ? 413 : 400, status === 413 ? 'body too large' : 'malformed JSON');
  } }) as unknown as Koa.Middleware;
  const parsers = new Map<number, Koa.Middleware>([[W.LIMITS.bodyBytes, parser(W.LIMITS.bodyBytes)]]);
  for (const r of Object.values(ROUTES) as Route[]) if (r.bodyLimit && !parsers.has(r.bodyLimit)) parsers.set(r.bodyLimit, parser(r.bodyLimit));
  app.use((ctx, next) => parsers.get(matchRoute(ctx.path, ctx.method)?.route.bodyLimit ?? W.LIMITS.bodyBytes)!(ctx, next));

  for (const [name, route] of Object.entries(ROUTES) as [RouteName, (typeof ROUTES)[RouteName]][]) {
    const handler = HANDLERS[name] as (req: { params: unknown; body: unknown }, deps: Deps) => Promise<{ status?: number; body: unknown }>;
    router.register(route.path, [route.method], async (ctx) => {
      const params = parse(route.params, ctx.params);
      const body = 'request' in route ? parse(route.request, ctx.request.body) : undefined;
      // one request's nonces ride with its own write; whatever none carried is written before the answer
      const spends = new Spends();
      // a client that goes away before its answer ends its held read at once
      const left = new AbortController();
      const gone = () => { if (!ctx.res.writableFinished) left.abort(); };
      ctx.res.once('close', gone);
      let res;
      try {
        res = await handler({ params, body }, { store, config, now, spends, authorize: authorizer(store, now, spends), holds, signal: left.signal });
      } finally { await store.settle(spends); ctx.res.off('close', gone); }
      // what this request committed wakes the reads held on it (after its batch is written)
      const woken = wakes(name, params as Record<string, string>);
      if (woken) holds.notify(woken);
      for (const k of requestWakes(name, params as Record<string, string>)) holds.notify(k);
      count(name);
      ctx.status = res.status ?? 200;
      ctx.body = res.body;
    });
  }

  app.use(router.routes());
  // a wrong method is an error like any other: JSON `{ error }`
  app.use(router.allowedMethods({ throw: true, methodNotAllowed, notImplemented: methodNotAllowed }));
  return app;
}
