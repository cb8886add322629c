// Key transparency in the add-on (PROTOCOL.md §5.11) against real Operators that lie: bob's own
// monitor catches a key entered under his name within one poll; alice's add-on refuses a
// look-up whose proof does not hold, and catches a forked log through the checkpoint it kept;
// each failure is a specific alarm, shown in the status, and no contact is added.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64 } from '../../../protocol/bytes.ts';
import { signRecord } from '../../../protocol/identity.ts';
import { KeyPair, loadThemis } from '../../../protocol/themis.ts';
import { account, userError } from '../../../test/support/addon.ts';
import { forgeLeaf, forkedOperators, splitProxy } from '../../../test/support/equivocate.ts';
import { startTestOperator } from '../../../test/support/operator.ts';

before(() => loadThemis());

test("bob's monitor alarms within one poll when the Operator enters another key under his name", async () => {
  const op = await startTestOperator();
  try {
    const bob = await account(op.url, 'bob');
    await bob.k.poll();
    assert.deepEqual((await bob.k.status()).logAlarms, [], 'an honest log raises nothing');
    await forgeLeaf(op, 'bob', b64(new KeyPair().publicKey));
    await bob.k.poll();
    const alarms = (await bob.k.status()).logAlarms!;
    assert.equal(alarms.length, 1);
    assert.equal(alarms[0]!.kind, 'monitor');
    assert.match(alarms[0]!.message, /someone else's key was entered in the log under your name @bob/);
  } finally { await op.close(); }
});

test("alice refuses bob's record when the key is not the one in the log (inclusion proof fails)", async () => {
  const op = await startTestOperator();
  const mallory = new KeyPair();
  // a proxy that swaps bob's key in alice's look-ups for one the Operator holds, keeping bob's log proof
  const swap = await startSwapper(op.url, mallory);
  try {
    await account(op.url, 'bob');
    const alice = await account(swap.url, 'alice');
    await assert.rejects(alice.k.addContact({ name: 'bob' }), userError(/Key transparency: @bob: the key of @bob is not in the Operator's log/));
    const alarms = (await alice.k.status()).logAlarms!;
    assert.equal(alarms.at(-1)!.kind, 'inclusion');
    assert.equal((await alice.k.contacts()).contacts.length, 0, 'no contact added');
  } finally { await swap.close(); await op.close(); }
});

test('alice catches a forked log: a look-up proved in a checkpoint that does not extend the one she kept', async () => {
  const first = await startTestOperator();
  await account(first.url, 'carol');
  const { honest, fork } = await forkedOperators(first);
  // from here the two logs diverge: bob registers at the honest Operator, a "bob" of the Operator's making in the fork
  let target = honest.url;
  const proxy = await splitProxy(() => target);
  try {
    const alice = await account(proxy.url, 'alice');
    await alice.k.addContact({ name: 'carol' }); // alice keeps the honest checkpoint
    await account(fork.url, 'bob');
    await account(honest.url, 'dave');
    target = fork.url; // the Operator now answers alice from its fork
    await assert.rejects(alice.k.addContact({ name: 'bob' }), userError(/Key transparency: .*does not extend the one seen at/));
    const alarm = (await alice.k.status()).logAlarms!.at(-1)!;
    assert.equal(alarm.kind, 'consistency');
    assert.equal(alarm.evidence?.length, 2, 'both signed checkpoints are kept as proof');
    assert.equal((await alice.k.contacts()).contacts.some((c) => c.name === 'bob'), false);
  } finally { await proxy.close(); await honest.close(); await fork.close(); }
});

/** A proxy whose look-ups answer bob's record re-signed with `mallory`'s key (the log proof untouched). */
async function startSwapper(upstream: string, mallory: KeyPair) {
  const { createServer } = await import('node:http');
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const r = await fetch(upstream + req.url, { method: req.method, headers: { 'content-type': 'application/json' }, body: chunks.length ? Buffer.concat(chunks) : undefined });
    let body = await r.text();
    if (req.method === 'GET' && req.url === '/v2/names/bob' && r.status === 200) {
      const rec = JSON.parse(body);
      const forged = signRecord(mallory.privateKey, { ...rec.record, identityKey: b64(mallory.publicKey) });
      body = JSON.stringify({ ...forged, log: rec.log });
    }
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((ok) => { server.close(() => ok()); server.closeAllConnections(); }) };
}

test('alice catches a forked log through gossip: the checkpoint in bob\'s message does not chain with hers', async () => {
  const first = await startTestOperator();
  await account(first.url, 'carol');
  const { honest, fork } = await forkedOperators(first);
  // alice reads the directory and the log from the fork, everything else (mail) from the honest Operator
  const proxy = await splitProxy((method, path) => (method === 'GET' && (path.startsWith('/v2/names/bob') || path.startsWith('/v2/log/')) ? fork.url : honest.url));
  try {
    await account(fork.url, 'bob'); // the Operator's own "bob", in the fork only
    const bob = await account(honest.url, 'bob');
    const alice = await account(proxy.url, 'alice');
    await alice.k.addContact({ name: 'bob' }); // proved in the fork: alice cannot tell yet
    assert.deepEqual((await alice.k.status()).logAlarms, []);
    await bob.k.addContact({ name: 'alice' });
    await bob.k.send({ name: 'alice', text: 'is this really you?' });
    await alice.k.poll();
    // (alice's own monitor also finds her name missing from the fork's index: an 'index' alarm beside this one)
    const alarm = (await alice.k.status()).logAlarms!.find((a) => a.name === '@bob');
    assert.equal(alarm?.kind, 'consistency', 'the checkpoint bob carried does not chain with the fork alice was shown');
    assert.equal(alarm?.name, '@bob');
    assert.equal(alarm?.evidence?.length, 2, 'both signed checkpoints are kept as proof');
  } finally { await proxy.close(); await honest.close(); await fork.close(); }
});

test("alice catches a forked log through a witness her settings name: its cosigned checkpoint does not chain with hers", async () => {
  const first = await startTestOperator();
  await account(first.url, 'carol');
  const { honest, fork } = await forkedOperators(first);
  const proxy = await splitProxy((method, path) => (method === 'GET' && (path.startsWith('/v2/names/') || path.startsWith('/v2/log/')) ? fork.url : honest.url));
  await account(honest.url, 'bob');
  const w = await startWitness(honest.url);
  try {
    await account(fork.url, 'mallory'); // the fork goes its own way
    const alice = await account(proxy.url, 'alice');
    await alice.k.addContact({ name: 'carol' }); // alice keeps the fork's checkpoint
    await assert.rejects(alice.k.saveSettings({ ...(await alice.k.settings()), witnesses: [{ url: w.url, vkey: 'not a key' }] }), userError(/not a witness key/));
    await alice.k.saveSettings({ ...(await alice.k.settings()), witnesses: [{ url: w.url, vkey: w.vkey }] });
    await alice.k.poll();
    const alarm = (await alice.k.status()).logAlarms!.at(-1);
    assert.equal(alarm?.kind, 'consistency');
    assert.equal(alarm?.name, 'witness komrade-witness');
    assert.equal(alarm?.evidence?.length, 2);
  } finally { w.stop(); await proxy.close(); await honest.close(); await fork.close(); }
});

/** The witness command, serving on a free port; resolves once it has cosigned and listens. */
async function startWitness(operator: string) {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const main = new URL('../../../operator/witness/main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', main, '--operator', operator, '--data', mkdtempSync(join(tmpdir(), 'komrade-w-')), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; }); child.stderr!.on('data', (d) => { out += d; });
  for (let i = 0; !/serving on (\S+)/.test(out); i++) { assert.ok(i < 3000 && child.exitCode === null, `witness did not start: ${out}`); await new Promise((r) => setTimeout(r, 10)); }
  return { url: /serving on (\S+)/.exec(out)![1]!, vkey: /witness (\S+)/.exec(out)![1]!, stop: () => child.kill() };
}
