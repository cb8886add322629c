// The name index over HTTP on a real LevelDB (PROTOCOL.md §5.11.6): after registers, a delete,
// a re-register and a collective's founding, every checkpoint's index root is the one replaying
// the entries gives (live entries move a name, deletions name the leaf they remove); the index
// route proves a live name's current leaf and a deleted name's absence; a bad name is a 400
// JSON error; the index survives a restart.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, unb64 } from '../protocol/bytes.ts';
import { OperatorError } from '../protocol/client.ts';
import { loadThemis } from '../protocol/themis.ts';
import { openCheckpoint, parseVkey } from '../protocol/transparency/checkpoint.ts';
import { EMPTY_INDEX, IndexReplay } from '../protocol/transparency/name-index.ts';
import { indexValue } from '../protocol/transparency/verify.ts';
import { komrade, raw, startTestOperator } from '../test/support/operator.ts';

before(() => loadThemis());

test("each checkpoint's index root is the entries' replay; the route proves presence and absence", async () => {
  let op = await startTestOperator();
  try {
    const key = parseVkey((await op.client.info()).checkpointKey);
    const replayed = async () => {
      const { entries, checkpoint } = await op.client.logEntries(0), r = new IndexReplay();
      for (const e of entries) r.apply({ index: e.index, leaf: unb64(e.leaf), live: e.live, removes: e.removes });
      return { root: r.root(), cp: await openCheckpoint(checkpoint, key), entries };
    };
    assert.deepEqual((await replayed()).cp.index, EMPTY_INDEX, 'the empty log carries the empty index');
    const ann = komrade('ann_i'), ben = komrade('ben_i');
    await ann.register(op.client); await ben.register(op.client);
    let now = await replayed();
    assert.deepEqual(now.cp.index, now.root);
    await op.client.deleteName('ben_i', ben.identity.privateKey);
    now = await replayed();
    assert.equal(now.entries[2]!.removes, 1, 'the deletion names the leaf it removes');
    assert.deepEqual(now.cp.index, now.root);
    const gone = await op.client.logIndex('ben_i');
    assert.equal(indexValue(await openCheckpoint(gone.checkpoint, key), 'ben_i', gone.proof), undefined, 'a deleted name is absent');
    const ben2 = komrade('ben_i');
    await ben2.register(op.client);
    await op.client.createCollective(ann.identity.privateKey, { v: 2, name: 'Club_i', description: 'a collective', quorum: 'open', created: Date.now(), founder: 'ann_i', founderKey: ann.record().identityKey, founderCommitment: '12345' });
    now = await replayed();
    assert.deepEqual(now.cp.index, now.root);
    assert.equal(now.entries[4]!.live?.name, 'club_i', "a collective's charter moves its position too");
    const live = await op.client.logIndex('ben_i'), at = indexValue(await openCheckpoint(live.checkpoint, key), 'ben_i', live.proof)!;
    assert.equal(at.index, 3, 'the re-registered name points at its new leaf');
    assert.equal(b64(at.leaf), now.entries[3]!.leaf);

    const bad = await raw(op.url, 'GET', '/log/index/No%20Such!');
    assert.equal(bad.status, 400); assert.equal(typeof bad.body?.error, 'string');
    await assert.rejects(op.client.logIndex('x'), (e) => e instanceof OperatorError && e.status === 400);

    const dataDir = op.dataDir, before = now.cp.index;
    await op.close();
    op = await startTestOperator({ dataDir });
    assert.deepEqual((await openCheckpoint(await op.client.checkpoint(), key)).index, before, 'the index survives a restart');
    await komrade('cy_i').register(op.client);
    now = await replayed();
    assert.deepEqual(now.cp.index, now.root);
  } finally { await op.close(); }
});
