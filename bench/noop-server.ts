/**
 * The floor's first part for `npm run bench -- cost` (issue #15 §5): a no-op Koa route over HTTP
 * in its own process, with the same body parser as the Operator (operator/app.ts) and nothing
 * else. Prints "listening on <url>" like the Operator's command line.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';

const app = new Koa(), router = new Router();
router.post('/noop/:id', (ctx) => { ctx.body = { ok: true }; });
app.use(bodyParser({ jsonLimit: '1mb' })).use(router.routes());
const server = app.listen(0, '127.0.0.1', () => {
  server.keepAliveTimeout = 65_000;
  console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); });
