// The Operator's command line as a real process: help, port 0, refusing a public bind,
// clean SIGTERM, and an acknowledged deposit surviving kill -9.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorClient } from '../protocol/client.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { spawnOperator as run } from '../test/support/operator.ts';

before(() => loadThemis());

const tmp = () => mkdtempSync(join(tmpdir(), 'komrade-main-'));

test('--help lists the flags', async () => {
  const p = run(['--help']);
  assert.equal(await p.exited, 0);
  for (const flag of ['--data', '--port', '--host', '--allow-public-bind', '--ttl-days', '--pow-bits']) assert.ok(p.out().includes(flag), flag);
});

test('a non-loopback bind is refused without --allow-public-bind', async () => {
  const p = run(['--host', '0.0.0.0', '--port', '0', '--data', tmp()]);
  assert.equal(await p.exited, 1);
  assert.match(p.out(), /refusing to bind 0\.0\.0\.0.*--allow-public-bind/);
  const q = run(['--host', '0.0.0.0', '--allow-public-bind', '--port', '0', '--data', tmp(), '--tor', 'off']);
  assert.match(await q.url, /^http:\/\/0\.0\.0\.0:\d+$/);
  q.child.kill('SIGTERM');
  assert.equal(await q.exited, 0);
});

test('an acknowledged deposit survives kill -9; SIGTERM closes cleanly', async () => {
  const data = tmp();
  const a = run(['--port', '0', '--data', data, '--tor', 'off']);
  const client = new OperatorClient(await a.url);
  const id = b64(randomBytes(16)), key = new KeyPair(), blob = randomBytes(BLOB_SIZES[0]!);
  await client.createMailbox(id, key);
  await client.deposit(id, blob);
  a.child.kill('SIGKILL');
  await a.exited;
  const b = run(['--port', '0', '--data', data, '--tor', 'off']);
  const client2 = new OperatorClient(await b.url);
  assert.deepEqual((await client2.fetchBlobs(id, key.privateKey)).blobs.map((x) => x.blob), [blob]);
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0);
  assert.match(b.out(), /database closed/);
  assert.ok(!b.out().includes(id), 'the mailbox id is not printed');
});
