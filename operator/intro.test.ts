// Nothing changes or deletes a mailbox without that mailbox's key (PROTOCOL.md §5.2, §5.6,
// §5.7, §5.10): the intro-mailbox takeover that v1 allowed, path by path.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../protocol/bytes.ts';
import { OperatorError } from '../protocol/client.ts';
import { mailboxPowPrefix, signAuth, signRecord, solvePow, solveWork } from '../protocol/identity.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import { BLOB_SIZES } from '../protocol/wire.ts';
import { komrade, raw, snapshot, startTestOperator, testClock } from '../test/support/operator.ts';

before(() => loadThemis());

/** Create a mailbox with a request signed at the test clock's time `t`; returns the status. */
async function createAt(url: string, id: string, key: KeyPair, t: number) {
  const k = b64(key.publicKey);
  return (await raw(url, 'POST', '/mailboxes', { id, key: k, pow: await solveWork(mailboxPowPrefix(id, k), 4), auth: signAuth(key.privateKey, 'create-mailbox', id, k, t) })).status;
}

const blob = () => randomBytes(BLOB_SIZES[0]!);
const rejects = (status: number, reason?: RegExp) => (e: unknown) =>
  e instanceof OperatorError && e.status === status && (!reason || reason.test(e.reason));

test("v1's takeover fails at every step: claim someone's intro, delete it, re-create it", async () => {
  const op = await startTestOperator();
  try {
    const victim = komrade('victim');
    await victim.register(op.client);
    await op.client.deposit(victim.intro, blob(), { intro: true });
    const before = await snapshot(op);

    // 1. Mallory registers @mal_x with the victim's intro: she cannot prove its key
    const mallory = new KeyPair(), malIntroKey = new KeyPair();
    const record = { v: 1 as const, name: 'mal_x', identityKey: b64(mallory.publicKey), intro: victim.intro, prekey: { id: b64(randomBytes(8)), key: b64(new KeyPair().publicKey) }, ts: Date.now() };
    const signed = signRecord(mallory.privateKey, record);
    const pow = await solvePow('mal_x', record.identityKey, 8);
    await assert.rejects(op.client.register(signed, pow, malIntroKey.privateKey), rejects(401));
    // ... nor with the victim's own claim replayed for another name (the claim binds the name)
    const claim = signAuth(victim.mailbox.privateKey, 'claim-intro', victim.intro, 'victim');
    assert.equal((await raw(op.url, 'POST', '/names', { ...signed, pow, introAuth: claim })).status, 401);
    assert.deepEqual(await snapshot(op), before, 'refused claims change nothing');

    // 2. an intro mailbox cannot be the intro of a second name, even its owner's
    const second = komrade('victim_two');
    const rec2 = signRecord(second.identity.privateKey, { ...second.record(), intro: victim.intro });
    await assert.rejects(op.client.register(rec2, await solvePow('victim_two', rec2.record.identityKey, 8), victim.mailbox.privateKey), rejects(409));

    // 3. an intro mailbox cannot be deleted on its own (only with its name)
    await assert.rejects(op.client.deleteMailbox(victim.intro, victim.mailbox.privateKey), rejects(403));
    assert.equal((await op.client.fetchBlobs(victim.intro, victim.mailbox.privateKey)).blobs.length, 1, "the victim's mail is still there");
  } finally { await op.close(); }
});

test('delete-name removes the intro only when the request also proves its key', async () => {
  const op = await startTestOperator();
  try {
    const a = komrade('keeps_intro');
    await a.register(op.client);
    await op.client.deposit(a.intro, blob(), { intro: true });
    // a wrong intro proof refuses the whole request: the name stays too
    await assert.rejects(op.client.deleteName('keeps_intro', a.identity.privateKey, { id: a.intro, key: new KeyPair().privateKey }), rejects(401));
    assert.ok(await op.client.lookup('keeps_intro'));
    // without the intro proof: the name goes, the mailbox stays (an ordinary mailbox now, its mail intact)
    await op.client.deleteName('keeps_intro', a.identity.privateKey);
    await assert.rejects(op.client.lookup('keeps_intro'), rejects(404));
    assert.equal((await op.client.fetchBlobs(a.intro, a.mailbox.privateKey)).blobs.length, 1);
    // with it: both go
    const b = komrade('drops_intro');
    await b.register(op.client);
    await op.client.deleteName('drops_intro', b.identity.privateKey, { id: b.intro, key: b.mailbox.privateKey });
    await assert.rejects(op.client.fetchBlobs(b.intro, b.mailbox.privateKey), rejects(404));
  } finally { await op.close(); }
});

test('a deleted mailbox id cannot be re-created by anyone else within the TTL; its owner may', async () => {
  const clock = testClock();
  const op = await startTestOperator({ now: clock.now });
  try {
    const victim = komrade('grave_victim');
    await victim.register(op.client);
    await op.client.deleteName('grave_victim', victim.identity.privateKey, { id: victim.intro, key: victim.mailbox.privateKey });
    // Mallory re-creates the id with her own key: refused, now and just before the TTL ends
    await assert.rejects(op.client.createMailbox(victim.intro, new KeyPair()), rejects(409));
    clock.t += 13 * 86_400_000;
    await op.sweep();
    assert.equal(await createAt(op.url, victim.intro, new KeyPair(), clock.t), 409, 'still taken on day 13');
    // the owner's own key may make it again (an add-on back from a long absence)
    assert.equal(await createAt(op.url, victim.intro, victim.mailbox, clock.t), 201);

    // the same for a mailbox that idled out
    const box = { id: b64(randomBytes(16)), key: new KeyPair() };
    assert.equal(await createAt(op.url, box.id, box.key, clock.t), 201);
    clock.t += 15 * 86_400_000;
    await op.sweep();
    assert.equal(await op.store.mailboxes.get(box.id), undefined, 'idled out');
    assert.equal(await createAt(op.url, box.id, new KeyPair(), clock.t), 409);
    // after the TTL the grave itself is forgotten
    clock.t += 15 * 86_400_000;
    await op.sweep();
    assert.equal(await createAt(op.url, box.id, new KeyPair(), clock.t), 201);
  } finally { await op.close(); }
});

test("an intro mailbox lives as long as its name: it never idles out", async () => {
  const clock = testClock();
  const op = await startTestOperator({ now: clock.now });
  try {
    const away = komrade('long_away');
    await away.register(op.client);
    clock.t += 60 * 86_400_000;
    await op.sweep();
    assert.ok(await op.store.mailboxes.get(away.intro), 'still there after 60 idle days');
  } finally { await op.close(); }
});
