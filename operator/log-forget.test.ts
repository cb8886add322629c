// The key-transparency log does not defeat forgetting (PROTOCOL.md §5.11, §6.1): after a name is
// deleted and one sweep runs, no file of the data directory holds its name, its identity key
// (raw or base64url), its leaf's opening (raw or base64url) or its name index position (raw or
// base64url, §5.11.6); its leaf stays as an opaque hash,
// and the log still proves the names that live.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, unb64 } from '../protocol/bytes.ts';
import { position } from '../protocol/transparency/name-index.ts';
import { loadThemis } from '../protocol/themis.ts';
import { parseVkey } from '../protocol/transparency/checkpoint.ts';
import { verifyLookup } from '../protocol/transparency/verify.ts';
import { findOnDisk, komrade, startTestOperator } from '../test/support/operator.ts';

before(() => loadThemis());

test('a deleted name leaves no name, key or opening in any file; its leaf is an opaque hash', async () => {
  const op = await startTestOperator();
  try {
    const key = parseVkey((await op.client.info()).checkpointKey);
    const victim = komrade('vanishing_vera'), keeper = komrade('staying_stan');
    await victim.register(op.client); await keeper.register(op.client);
    const v = await op.client.lookupWithProof('vanishing_vera');
    await verifyLookup(v, key);
    const secrets = (who: typeof v, label: string) => ({
      [`${label} name`]: who.record.name.toLowerCase(), [`${label} key b64`]: who.record.identityKey,
      [`${label} key raw`]: unb64(who.record.identityKey), [`${label} opening b64`]: who.log.opening, [`${label} opening raw`]: unb64(who.log.opening),
      [`${label} position raw`]: position(who.record.name.toLowerCase()), [`${label} position b64`]: b64(position(who.record.name.toLowerCase())),
    });
    const gone = secrets(v, 'deleted');
    await op.sweep();
    assert.deepEqual(findOnDisk(op.dataDir, gone).map((f) => f.split(' in ')[0]).sort(), ['deleted key b64', 'deleted name', 'deleted opening b64', 'deleted position raw'],
      'precondition: the live name, key and opening are on disk (as text), its index position (as bytes)');

    await op.client.deleteName('vanishing_vera', victim.identity.privateKey, { id: victim.intro, key: victim.mailbox.privateKey });
    assert.ok(findOnDisk(op.dataDir, gone).length > 0, 'a delete alone leaves the bytes (a LevelDB delete is a tombstone)');
    await op.sweep();
    assert.deepEqual(findOnDisk(op.dataDir, gone), [], 'nothing of the deleted name survives one sweep');

    const entries = (await op.client.logEntries(0)).entries;
    assert.deepEqual(entries.map((e) => e.live?.name), [undefined, 'staying_stan', undefined], 'the deleted name\'s leaf and its deletion are opaque');
    assert.equal(findOnDisk(op.dataDir, { 'the opaque leaf': unb64(entries[0]!.leaf) }).length, 1, 'the leaf hash itself stays');
    const k = await op.client.lookupWithProof('staying_stan');
    await verifyLookup(k, key);
    assert.equal(findOnDisk(op.dataDir, secrets(k, 'kept')).length, 4, 'the living name is untouched');
  } finally { await op.close(); }
});
