// HTTP framing errors on a real Operator over raw sockets (PROTOCOL.md §5): requests Node's
// parser refuses get a 4xx JSON { error } with Connection: close, the socket is closed, and the
// Operator goes on serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { loadThemis } from '../protocol/themis.ts';
import { startTestOperator } from '../test/support/operator.ts';

before(() => loadThemis());
const op = await startTestOperator();
after(() => op.close());

/** Send `bytes` on a fresh connection; everything the Operator answers until it closes. */
function exchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(op.port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => { got += d.toString('latin1'); }).on('end', () => resolve(got)).on('error', reject);
    s.write(bytes);
  });
}

/** Status, lower-cased headers and body of one HTTP/1.1 answer. */
function parse(answer: string) {
  const [head, body] = [answer.slice(0, answer.indexOf('\r\n\r\n')), answer.slice(answer.indexOf('\r\n\r\n') + 4)];
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}

const post = 'POST /v2/mailboxes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n';
const cases: [string, string, number][] = [
  ['a bad chunk size', `${post}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, 400],
  ['Content-Length with chunked', `${post}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, 400],
  ['two Content-Lengths', `${post}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} `, 400],
  ['a 40 KiB header', `GET /v2/info HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`, 431],
  ['a bad method token', 'G(T /v2/info HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['not HTTP at all', '\x00\x01\x02 hello\r\n\r\n', 400],
];
for (const [what, bytes, status] of cases) {
  test(`${what}: ${status} JSON { error }, Connection: close`, async () => {
    const r = parse(await exchange(bytes));
    assert.equal(r.status, status);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(r.headers.connection, 'close');
    const json = JSON.parse(r.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['error']);
    assert.equal(typeof json.error, 'string');
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
  });
}

test('a framing error after a served keep-alive request still gets its JSON answer; the Operator serves on', async () => {
  const answer = await exchange('GET /v2/info HTTP/1.1\r\nHost: x\r\n\r\nG(T /v2/info HTTP/1.1\r\nHost: x\r\n\r\n');
  const second = answer.slice(answer.indexOf('HTTP/1.1', 1));
  assert.match(answer, /^HTTP\/1\.1 200/);
  assert.equal(parse(second).status, 400);
  assert.deepEqual(Object.keys(JSON.parse(parse(second).body) as object), ['error']);
  assert.equal((await fetch(`${op.url}/v2/info`)).status, 200);
});
