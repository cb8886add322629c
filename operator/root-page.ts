/**
 * The Operator's onion root, `GET /` (PROTOCOL.md §10): a plain HTML page with no script that
 * says what Komrade is and how to join here, showing this Operator's own invite (its address,
 * no inviter). Its address is the Host the browser asked for, shown only if it is an onion (or
 * loopback, for development); the style is inline and allowed by its hash alone, under a CSP of
 * `default-src 'none'`.
 */
import { createHash } from 'node:crypto';
import type Koa from 'koa';
import { INVITE_VERSION, formatInvite } from '../protocol/invite.ts';

const STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em;color:#1b1b1b;background:#fff}'
  + 'code{display:block;padding:.5em;background:#f0f0f0;border:1px solid #999;overflow-wrap:anywhere;user-select:all}'
  + '@media (prefers-color-scheme:dark){body{color:#eee;background:#161616}code{background:#262626;border-color:#777}}';

/** The page's Content-Security-Policy: nothing but this one inline style. */
export const ROOT_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** The origin a Host header names, if it is one an invite may carry (an onion, or loopback). */
function originOf(host: string | undefined): string | undefined {
  const h = (host ?? '').toLowerCase();
  return /^([a-z2-7]{56}\.onion|127\.0\.0\.1:\d{1,5}|localhost:\d{1,5})$/.test(h) ? `http://${h}` : undefined;
}

/** The page for an Operator reached at `origin` (unknown: no invite is shown). Only fixed text and the checked origin go in. */
export function rootPage(origin: string | undefined): string {
  const invite = origin ? formatInvite({ v: INVITE_VERSION, operator: origin }) : undefined;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Komrade Operator</title><style>${STYLE}</style></head>
<body><main>
<h1>Komrade</h1>
<p>Komrade is a private social network for people who need to talk without platforms or states reading along:
messages between komrades, collectives that grow by anonymous vouching, and their posts. It is a Tor Browser add-on;
everything is sealed in the add-on before it leaves it.</p>
<p>This is an <strong>Operator</strong>: a server reached only through Tor that holds sealed messages until they are
fetched, and then forgets them. It cannot read them.</p>
<h2>Join here</h2>
<ol>
<li>Install the Komrade add-on in Tor Browser.</li>
<li>Open it, choose <em>New identity</em>, and paste this Operator's invite where it asks for an Operator address or an invite:</li>
</ol>
${invite ? `<code id="invite">${invite}</code>` : '<p id="no-invite">Ask the person who gave you this address for an invite.</p>'}
<p>An invite from a komrade also names them, so that your add-on can offer to add them as a contact once your account exists.</p>
</main></body></html>
`;
}

/** Koa middleware: `GET /` (and HEAD) answer the page; anything else goes on. */
export const rootRoute: Koa.Middleware = async (ctx, next) => {
  if (ctx.path !== '/' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
  ctx.set('Content-Security-Policy', ROOT_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = rootPage(originOf(ctx.get('host')));
};
