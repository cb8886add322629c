// The witness (PROTOCOL.md §5.11.4): `npm run witness -- --operator <url> --once` replays a real
// Operator's log, cosigns its checkpoint (a valid C2SP cosignature under the vkey it prints),
// replays on from where it stopped, and when the Operator forks its log the witness refuses to
// cosign, exits 2 and keeps both signed checkpoints as proof.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unb64 } from '../protocol/bytes.ts';
import { loadThemis } from '../protocol/themis.ts';
import { openCheckpoint, parseVkey } from '../protocol/transparency/checkpoint.ts';
import { parseWitnessVkey, verifyCosignature } from '../protocol/transparency/cosignature.ts';
import { forkedOperators } from '../test/support/equivocate.ts';
import { komrade, startTestOperator } from '../test/support/operator.ts';
import { extendRange, rangeRoot } from './witness/replay.ts';
import { leafHash, rootOf } from '../protocol/transparency/merkle.ts';

before(() => loadThemis());

const MAIN = new URL('./witness/main.ts', import.meta.url).pathname;
function witness(operator: string, data: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, '--operator', operator, '--data', data, '--once'], (err, stdout, stderr) => {
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, out: stdout + stderr });
    });
  });
}

test('a compact range hashes to the tree hash for every size', async () => {
  const leaves = Array.from({ length: 40 }, (_, i) => leafHash(new Uint8Array([i])));
  const range: { level: number; hash: Uint8Array }[] = [];
  for (let n = 0; n <= 40; n++) {
    assert.deepEqual(rangeRoot(range), await rootOf(leaves.slice(0, n)), `size ${n}`);
    if (n < 40) extendRange(range, leaves[n]!);
  }
});

test('the witness replays and cosigns, replays on, and refuses a forked log with the proof', async () => {
  const first = await startTestOperator();
  const data = mkdtempSync(join(tmpdir(), 'komrade-witness-'));
  await komrade('carol_w').register(first.client);
  await komrade('dave_w').register(first.client);
  const { honest, fork } = await forkedOperators(first);
  try {
    const key = parseVkey((await honest.client.info()).checkpointKey);
    let run = await witness(honest.url, data);
    assert.equal(run.code, 0, run.out);
    const wkey = parseWitnessVkey(/witness (\S+)/.exec(run.out)![1]!);
    let note = readFileSync(join(data, 'cosigned'), 'utf8');
    assert.equal((await openCheckpoint(note, key)).size, 2);
    assert.ok((await verifyCosignature(note, wkey)) > 0);
    await assert.rejects(verifyCosignature(note.replace('\n2\n', '\n3\n'), wkey), /invalid/);

    await komrade('erin_w').register(honest.client);
    run = await witness(honest.url, data);
    assert.equal(run.code, 0, run.out);
    note = readFileSync(join(data, 'cosigned'), 'utf8');
    assert.equal((await openCheckpoint(note, key)).size, 3);
    await verifyCosignature(note, wkey);

    // the fork: the same key, another third entry
    await komrade('mallory_w').register(fork.client);
    run = await witness(fork.url, data);
    assert.equal(run.code, 2, run.out);
    const alarm = JSON.parse(readFileSync(join(data, 'alarm'), 'utf8')) as { message: string; evidence: string[] };
    assert.match(alarm.message, /does not extend|rewritten/);
    assert.equal(alarm.evidence.length, 2);
    const [a, b] = await Promise.all(alarm.evidence.map((n) => openCheckpoint(n, key)));
    assert.equal(a!.size, b!.size, 'two signed checkpoints of one size with two roots: proof of a fork');
    assert.notDeepEqual(a!.root, b!.root);
    assert.equal(readFileSync(join(data, 'cosigned'), 'utf8'), note, 'nothing more was cosigned');
  } finally { await honest.close(); await fork.close(); }
});

test('the witness refuses to cosign a log whose entries do not hash to its signed root', async () => {
  const op = await startTestOperator();
  const data = mkdtempSync(join(tmpdir(), 'komrade-witness-'));
  try {
    await komrade('carol_x').register(op.client);
    const dave = komrade('dave_x');
    await dave.register(op.client);
    await op.client.deleteName('dave_x', dave.identity.privateKey); // leaf 1 is now opaque: only the root can show a change
    // the Operator serves another leaf at index 1 than the one its checkpoint signed
    await op.store.db.sublevel<string, Uint8Array>('H', { valueEncoding: 'view' }).put('00!000000000001', new Uint8Array(32).fill(9));
    const run = await witness(op.url, data);
    assert.equal(run.code, 2, run.out);
    assert.match(JSON.parse(readFileSync(join(data, 'alarm'), 'utf8')).message, /do not hash to its checkpoint's root/);
  } finally { await op.close(); }
});

test('the witness refuses a checkpoint whose name index moved a name without an entry (a rollback)', async () => {
  const op = await startTestOperator();
  const data = mkdtempSync(join(tmpdir(), 'komrade-witness-'));
  try {
    const bob = komrade('bob_y');
    await bob.register(op.client);
    await op.client.deleteName('bob_y', bob.identity.privateKey);
    await komrade('bob_y').register(op.client); // bob's name now points at leaf 2
    let run = await witness(op.url, data);
    assert.equal(run.code, 0, run.out);
    // the Operator points bob's position back at his old leaf 0, then signs on with a new entry
    const old = (await op.client.logEntries(0)).entries[0]!;
    const core = (op.store as unknown as { core: { write(ops: unknown[]): Promise<void> } }).core;
    await core.write((await op.store.log.names.set('bob_y', { index: 0, leaf: unb64(old.leaf) })).ops);
    await komrade('zoe_y').register(op.client);
    run = await witness(op.url, data);
    assert.equal(run.code, 2, run.out);
    const alarm = JSON.parse(readFileSync(join(data, 'alarm'), 'utf8')) as { message: string; evidence: string[] };
    assert.match(alarm.message, /name index in the checkpoint at 4 entries is not the one its entries give/);
    assert.equal(alarm.evidence.length, 1, 'the signed checkpoint with the rewritten index is kept');
  } finally { await op.close(); }
});
