// The onion root (PROTOCOL.md §10) over HTTP from a real Operator: a page without script,
// under a CSP of default-src 'none' that allows its one inline style by hash, showing the
// Operator's own invite for the onion the browser asked for; any other Host gets no address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { parseInvite } from '../protocol/invite.ts';
import { startTestOperator } from '../test/support/operator.ts';

const onion = `${'k'.repeat(50)}234567.onion`;

/** One request with a chosen Host header (fetch would not let us set it). */
function get(url: string, host: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

test('GET / is a plain page: no script, a strict CSP with the style allowed by its hash, and this onion\'s invite', async () => {
  const op = await startTestOperator();
  try {
    const r = await get(`${op.url}/`, onion);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/html; charset=utf-8/);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /^default-src 'none';/);
    assert.doesNotMatch(csp, /script-src|unsafe-inline|unsafe-eval/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.doesNotMatch(r.body, /<script|javascript:|\son[a-z]+=/i, 'no script of any kind');
    const styles = [...r.body.matchAll(/<style>([^<]*)<\/style>/g)].map((m) => m[1]!);
    assert.equal(styles.length, 1);
    assert.ok(csp.includes(`style-src 'sha256-${createHash('sha256').update(styles[0]!).digest('base64')}'`), 'the inline style is the one the CSP allows');
    assert.match(r.body, /Komrade is a private social network/);
    const shown = /<code id="invite">([^<]*)<\/code>/.exec(r.body)?.[1];
    assert.deepEqual(parseInvite(shown ?? ''), { v: 1, operator: `http://${onion}` }, 'the Operator\'s own invite, naming nobody');
    assert.equal((await get(`${op.url}/`, onion, 'HEAD')).status, 200);
  } finally { await op.close(); }
});

test('a Host that is not an onion (or loopback) is never echoed; other methods on / are JSON errors', async () => {
  const op = await startTestOperator();
  try {
    for (const host of ['example.com', `${onion}.example.com`, 'x"><script>alert(1)</script>']) {
      const r = await get(`${op.url}/`, host).catch(() => undefined);
      if (!r) continue; // a Host Node itself refuses
      assert.equal(r.status, 200);
      assert.ok(!r.body.includes('example.com') && !r.body.includes('alert'), `host ${host} not echoed`);
      assert.match(r.body, /id="no-invite"/);
    }
    const post = await get(`${op.url}/`, onion, 'POST');
    assert.ok(post.status >= 400 && post.status < 500);
    assert.ok(typeof JSON.parse(post.body).error === 'string');
  } finally { await op.close(); }
});
