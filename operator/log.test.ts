// The key-transparency log over HTTP on a real LevelDB (PROTOCOL.md §5.11): every register,
// delete and re-register appends a leaf; a look-up carries an inclusion proof in a checkpoint
// signed by the key /v2/info announces; checkpoints chain by consistency proofs; the entries
// route opens live leaves only; bad sizes are refused; the log survives a restart.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { unb64 } from '../protocol/bytes.ts';
import { OperatorError } from '../protocol/client.ts';
import { loadThemis } from '../protocol/themis.ts';
import { openCheckpoint, parseVkey } from '../protocol/transparency/checkpoint.ts';
import { charterKey, logLeaf, LogProofError, verifyExtends, verifyLookup } from '../protocol/transparency/verify.ts';
import { startTestOperator, komrade, raw } from '../test/support/operator.ts';

before(() => loadThemis());

test('register, look up with proof, delete, re-register: each change a leaf, every checkpoint extends the last', async () => {
  let op = await startTestOperator();
  try {
    const info = await op.client.info();
    const key = parseVkey(info.checkpointKey);
    const empty = await openCheckpoint(await op.client.checkpoint(), key);
    assert.equal(empty.size, 0);

    const alice = komrade('Alice_k'), bob = komrade('bob_k');
    await alice.register(op.client); await bob.register(op.client);
    const a = await op.client.lookupWithProof('alice_k');
    const cp2 = await verifyLookup(a, key);
    assert.equal(cp2.size, 2); assert.equal(a.log.index, 0);
    const b = await op.client.lookupWithProof('BOB_K');
    assert.equal(b.log.index, 1);
    await verifyLookup(b, key);

    // a swapped key, another index or another opening does not verify
    await assert.rejects(verifyLookup({ ...b, record: { ...b.record, identityKey: a.record.identityKey } }, key), (e) => e instanceof LogProofError && e.kind === 'inclusion');
    await assert.rejects(verifyLookup({ ...b, log: { ...b.log, index: 0 } }, key), LogProofError);
    await assert.rejects(verifyLookup({ ...b, log: { ...b.log, opening: a.log.opening } }, key), LogProofError);
    await assert.rejects(verifyLookup({ ...b, log: { ...b.log, checkpoint: b.log.checkpoint.replace('\n2\n', '\n3\n') } }, key), (e) => e instanceof LogProofError && e.kind === 'checkpoint');

    // delete bob, re-register the name with a new key: two more leaves
    await op.client.deleteName('bob_k', bob.identity.privateKey);
    await assert.rejects(op.client.lookupWithProof('bob_k'), (e) => e instanceof OperatorError && e.status === 404);
    const bob2 = komrade('bob_k');
    await bob2.register(op.client);
    const b2 = await op.client.lookupWithProof('bob_k');
    const cp4 = await verifyLookup(b2, key);
    assert.equal(cp4.size, 4); assert.equal(b2.log.index, 3);
    verifyExtends(empty, cp2, []);
    verifyExtends(cp2, cp4, await op.client.consistency(2, 4));
    const wrong = await op.client.consistency(1, 4);
    assert.throws(() => verifyExtends(cp2, cp4, wrong), LogProofError);

    // entries: live leaves open, the deleted and the deletion leaf are opaque hashes
    const { entries, checkpoint } = await op.client.logEntries(0);
    assert.equal((await openCheckpoint(checkpoint, key)).size, 4);
    assert.deepEqual(entries.map((e) => e.live?.name), ['alice_k', undefined, undefined, 'bob_k']);
    for (const e of entries.filter((x) => x.live)) {
      assert.deepEqual(logLeaf(unb64(e.live!.opening), e.live!.name, e.live!.key, e.index), unb64(e.leaf));
    }
    assert.equal((await op.client.logEntries(4)).entries.length, 0);

    // refused: sizes out of range, a malformed size
    for (const path of ['/log/consistency/0/4', '/log/consistency/3/2', '/log/consistency/2/5', '/log/entries/5', '/log/entries/x', '/log/consistency/01/2']) {
      const r = await raw(op.url, 'GET', path);
      assert.ok(r.status >= 400 && r.status < 500 && typeof r.body?.error === 'string', path);
    }

    // a restart keeps the log, its key and its newest checkpoint
    const dataDir = op.dataDir;
    await op.close();
    op = await startTestOperator({ dataDir });
    assert.equal((await op.client.info()).checkpointKey, info.checkpointKey);
    verifyExtends(cp4, await openCheckpoint(await op.client.checkpoint(), key), []);
    await verifyLookup(await op.client.lookupWithProof('alice_k'), key);
  } finally { await op.close(); }
});

test('founding a collective appends its charter\'s leaf, opened while the collective lives', async () => {
  const op = await startTestOperator();
  try {
    const founder = komrade('founder_f');
    await founder.register(op.client);
    const charter = { v: 2 as const, name: 'KtCollective', description: 'a collective', quorum: 'open' as const, created: Date.now(), founder: 'founder_f', founderKey: founder.record().identityKey, founderCommitment: '12345' };
    await op.client.createCollective(founder.identity.privateKey, charter);
    const signed = await op.client.getCollective('ktcollective');
    const { entries } = await op.client.logEntries(0);
    assert.equal(entries.length, 2);
    assert.deepEqual(entries[1]!.live && { name: entries[1]!.live.name, key: entries[1]!.live.key }, { name: 'ktcollective', key: charterKey({ charter: signed.charter, sig: signed.sig }) });
    assert.deepEqual(logLeaf(unb64(entries[1]!.live!.opening), 'ktcollective', entries[1]!.live!.key, 1), unb64(entries[1]!.leaf));
  } finally { await op.close(); }
});

test('names registered before the log existed get their leaves when the store opens', async () => {
  let op = await startTestOperator();
  try {
    const old = komrade('old_timer');
    await old.register(op.client);
    // as a data directory from before the log: the name without its log rows
    for (const sub of ['O', 'I']) await op.store.db.sublevel(sub).clear();
    await assert.rejects(op.client.lookupWithProof('old_timer'), (e) => e instanceof OperatorError && e.status === 404);
    const dataDir = op.dataDir;
    await op.close();
    op = await startTestOperator({ dataDir });
    const rec = await op.client.lookupWithProof('old_timer');
    await verifyLookup(rec, parseVkey((await op.client.info()).checkpointKey));
    assert.equal(rec.log.index, 1, 'a new leaf after the one whose opening was lost');
  } finally { await op.close(); }
});
