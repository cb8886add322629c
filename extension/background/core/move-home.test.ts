// Moving home (PROTOCOL.md §11.5), in Node against three real Operators on loopback: carol on C,
// with contacts alice (A) and bob (B), moves to A. Mail sent before, during (one deposited to her
// old mailbox after she moved) and after arrives exactly once; her replies reach both; they see
// her at A with the same safety words (alice's verified mark kept); C forgets her (no byte of her
// name or key in its files); a forged `moved` is refused with an alarm; an interrupted move resumes.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorClient } from '../../../protocol/client.ts';
import { unb64 } from '../../../protocol/bytes.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { findOnDisk, komrade, startTestOperator } from '../../../test/support/operator.ts';
import { account } from '../../../test/support/addon.ts';
import type { Komrade } from '../komrade.ts';
import { sealBodyAndQueue } from './common.ts';
import { prekeyToOffer } from './fresh-prekeys.ts';

before(() => loadThemis());

type Op = Awaited<ReturnType<typeof startTestOperator>>;
const host = (op: { url: string }) => op.url.replace('http://', '');
const texts = async (k: Komrade, name: string) => (await k.thread({ name })).messages.filter((m) => !m.notice).map((m) => m.text);
const view = async (k: Komrade, name: string) => (await k.contacts()).contacts.find((c) => c.name === name);

/** alice on A, bob on B, carol on C; carol is a contact of both (alice has verified her). */
async function setup(ops: Op[], more: { client?: (base: string) => OperatorClient } = {}) {
  const [A, B, C] = ops as [Op, Op, Op];
  const alice = await account(A.url, 'alice_of_a'), bob = await account(B.url, 'bob_of_b'), carol = await account(C.url, 'carol_of_c', undefined, more);
  for (const [d, op, name] of [[alice, A, 'alice_of_a'], [bob, B, 'bob_of_b']] as const) {
    await d.k.addContact({ name: `@carol_of_c@${host(C)}` });
    await d.k.send({ name: `carol_of_c@${host(C)}`, text: `hi carol, ${name} here` });
    await carol.k.poll();
    await carol.k.acceptRequest({ name: `${name}@${host(op)}` });
  }
  await alice.k.setVerified({ name: `carol_of_c@${host(C)}`, verified: true });
  return { alice, bob, carol };
}

test('carol moves from C to A: no mail lost or doubled, replies reach her contacts, who see her at A with the same words; C forgets her', { timeout: 180_000 }, async () => {
  const ops = [await startTestOperator(), await startTestOperator(), await startTestOperator()];
  const [A, B, C] = ops as [Op, Op, Op];
  try {
    const { alice, bob, carol } = await setup(ops);
    const words = (await carol.k.contacts()).me.safetyWords;
    const key = (await C.client.lookup('carol_of_c')).record.identityKey;
    await alice.k.send({ name: `carol_of_c@${host(C)}`, text: 'before, from alice' });

    const move = await carol.k.moveHome({ operator: A.url });
    assert.deepEqual([move?.step, move?.waiting], ['drain', 2], 'registered at A, new mailboxes, contacts told; the old mailboxes are being drained');
    assert.equal((await A.client.lookup('carol_of_c')).record.identityKey, key, 'A lists her with the same identity key');
    // bob has not read carol's `moved` yet: his message goes to her old mailbox at C, after she moved
    await bob.k.send({ name: `carol_of_c@${host(C)}`, text: 'during, from bob' });
    assert.equal((await carol.k.poll()).received, 2, 'both read from the old mailboxes at C');

    await alice.k.poll(); await bob.k.poll();
    const atA = `carol_of_c@${host(A)}`;
    const seenByAlice = await view(alice.k, 'carol_of_c'), seenByBob = await view(bob.k, atA);
    assert.ok(seenByAlice && seenByBob, 'alice sees carol as a komrade of her own Operator, bob as carol at A');
    assert.equal(await view(alice.k, `carol_of_c@${host(C)}`), undefined, 'the old handle is gone');
    assert.deepEqual([seenByAlice.safetyWords, seenByAlice.verified], [words, true], 'same safety words, still verified');
    assert.deepEqual(seenByBob.safetyWords, words);
    assert.deepEqual(await texts(alice.k, 'carol_of_c'), ['hi carol, alice_of_a here', 'before, from alice'], 'the thread moved with her');

    await alice.k.send({ name: 'carol_of_c', text: 'after, from alice' });
    await bob.k.send({ name: atA, text: 'after, from bob' });
    assert.equal((await carol.k.poll()).received, 2, 'read from the new mailboxes at A');
    assert.equal(await carol.k.moveStatus(), null, 'every contact wrote to the new home: the old mailboxes and record are deleted, the move done');
    assert.equal((await carol.k.poll()).received, 0, 'nothing twice');
    assert.deepEqual(await texts(carol.k, 'alice_of_a'), ['hi carol, alice_of_a here', 'before, from alice', 'after, from alice'], 'exactly once, in order');
    assert.deepEqual(await texts(carol.k, `bob_of_b@${host(B)}`), ['hi carol, bob_of_b here', 'during, from bob', 'after, from bob']);
    assert.equal((await carol.k.contacts()).me.address, `@carol_of_c@${host(A)}`);

    await carol.k.send({ name: 'alice_of_a', text: 'reply to alice from A' });
    await carol.k.send({ name: `bob_of_b@${host(B)}`, text: 'reply to bob from A' });
    assert.equal((await alice.k.poll()).received, 1);
    assert.equal((await bob.k.poll()).received, 1);
    assert.equal((await texts(alice.k, 'carol_of_c')).at(-1), 'reply to alice from A');
    assert.equal((await texts(bob.k, atA)).at(-1), 'reply to bob from A');

    await assert.rejects(C.client.lookup('carol_of_c'), /404/, 'C no longer lists her');
    await C.sweep();
    await C.close();
    assert.deepEqual(findOnDisk(C.dataDir, { name: 'carol_of_c', 'key b64': key, 'key raw': unb64(key) }), [], 'no byte of her name or key in C\'s files');
  } finally { for (const op of ops) await op.close().catch(() => undefined); }
});

test('a forged moved (the named Operator shows another key) is refused with an alarm and changes nothing', { timeout: 120_000 }, async () => {
  const ops = [await startTestOperator(), await startTestOperator(), await startTestOperator()];
  const [A, B, C] = ops as [Op, Op, Op];
  try {
    const { alice, carol } = await setup(ops);
    // someone else holds carol's name at B
    await komrade('carol_of_c').register(B.client);
    const store = await carol.k.ctx.store();
    const c = (await store.contact(`alice_of_a@${host(A)}`))!;
    await sealBodyAndQueue(store, c, { kind: 'moved', from: 'carol_of_c', name: 'carol_of_c', home: B.url, replyTo: c.inbox, prekey: await prekeyToOffer(store, c.name, Date.now()) }, Date.now());
    await carol.k.retry();
    const old = `carol_of_c@${host(C)}`, before = await view(alice.k, old);
    await alice.k.poll();
    assert.deepEqual(await view(alice.k, old), before, 'the contact is unchanged, still at C, still verified');
    assert.equal(await view(alice.k, `carol_of_c@${host(B)}`), undefined);
    const notice = (await alice.k.thread({ name: old })).messages.at(-1)!;
    assert.deepEqual([notice.notice, notice.text], ['move-refused', `@carol_of_c@${host(B)}`], 'the thread shows the refused move');
    await carol.k.send({ name: `alice_of_a@${host(A)}`, text: 'still at C' });
    assert.equal((await alice.k.poll()).received, 1);
    assert.equal((await texts(alice.k, old)).at(-1), 'still at C');
  } finally { for (const op of ops) await op.close().catch(() => undefined); }
});

test('a move interrupted between steps, then with its old home down, resumes and completes', { timeout: 180_000 }, async () => {
  const ops = [await startTestOperator(), await startTestOperator(), await startTestOperator()];
  let [A, B, C] = ops as [Op, Op, Op];
  let fail = '', skip = 0;
  // carol's device: the call named in `fail` to A breaks once, after `skip` good ones (a crash or a dropped connection between steps)
  const client = (base: string) => new Proxy(new OperatorClient(base), {
    get: (t, p, r) => {
      const v: unknown = Reflect.get(t, p, r);
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => { if (p === fail && base === A.url && skip-- <= 0) { fail = ''; throw new Error('interrupted'); } return (v as (...x: unknown[]) => unknown).apply(t, a); };
    },
  });
  try {
    const { alice, bob, carol } = await setup(ops, { client });
    fail = 'register';
    await assert.rejects(carol.k.moveHome({ operator: A.url }), /interrupted/);
    assert.equal((await carol.k.moveStatus())?.step, 'register', 'the registration at A failed: still at the first step');
    fail = 'createMailbox'; skip = 1; // the intro mailbox again (already there), then the first new pairwise mailbox breaks
    await assert.rejects(carol.k.moveHome({ operator: A.url }), /interrupted/);
    assert.equal((await carol.k.moveStatus())?.step, 'mailboxes', 'registered and switched; stopped while making the new mailboxes');
    await carol.k.poll(); // the poll resumes it from where it stopped
    assert.equal((await carol.k.moveStatus())?.step, 'drain');
    await alice.k.poll(); await bob.k.poll();
    // C goes down: polls go on at A, the move waits at its last step
    const { port, dataDir } = C;
    await C.close();
    await alice.k.send({ name: 'carol_of_c', text: 'to A' });
    await bob.k.send({ name: `carol_of_c@${host(A)}`, text: 'to A too' });
    assert.equal((await carol.k.poll()).received, 2, 'the new home is read while the old one is down');
    assert.equal((await carol.k.moveStatus())?.step, 'delete', 'the old record cannot be deleted yet');
    C = await startTestOperator({ port, dataDir });
    ops[2] = C;
    await carol.k.poll();
    assert.equal(await carol.k.moveStatus(), null, 'done once C is back');
    await assert.rejects(C.client.lookup('carol_of_c'), /404/);
    assert.deepEqual(await texts(carol.k, 'alice_of_a'), ['hi carol, alice_of_a here', 'to A']);
  } finally { for (const op of ops) await op.close().catch(() => undefined); }
});
