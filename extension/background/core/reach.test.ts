// Every Operator call goes through the reachability wrapper, so the status dot tells the truth;
// errors meant for a person say themselves, and "Something went wrong" is kept for bugs.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { UserError } from '../../api.ts';
import { checkOperatorAddress } from '../address.ts';
import { explain } from '../komrade.ts';
import { PASS, account, device, gate } from '../../../test/support/addon.ts';
import { PREKEY_ROTATE_MS } from './prekeys.ts';

before(() => loadThemis());

test('a network failure of any Operator call marks the Operator unreachable: send, poll (fetch, ack), addContact, deleteAccount, prekey rotation', { timeout: 90_000 }, async () => {
  const op = await startTestOperator();
  const g = await gate(op.port, () => true);
  try {
    const clock = { t: Date.now() };
    const alice = await account(g.url, 'alice_u', () => clock.t), bob = await account(op.url, 'bob_u');
    await account(op.url, 'carol_u');
    await alice.k.addContact({ name: 'bob_u' });
    const reachable = async () => (await alice.k.status()).operator!.reachable;
    const cut = async (match: (m: string, u: string) => boolean, what: string, fn: () => Promise<unknown>, prepare?: () => Promise<unknown>) => {
      g.mode = 'up';
      await alice.k.checkNow();
      assert.equal(await reachable(), true, `${what}: reachable before`);
      await prepare?.();
      g.match = match; g.mode = 'reset';
      await fn().catch(() => undefined);
      assert.equal(await reachable(), false, `${what}: unreachable after a network failure`);
      g.mode = 'up'; g.match = () => true;
    };
    await cut(() => true, 'send', () => alice.k.send({ name: 'bob_u', text: 'hello' }));
    await cut(() => true, 'poll', () => alice.k.poll());
    await cut(() => true, 'addContact', () => alice.k.addContact({ name: 'carol_u' }));
    await bob.k.poll();
    await bob.k.acceptRequest({ name: 'alice_u' });
    await cut((m, u) => u.endsWith('/ack'), 'ack', () => alice.k.poll(), () => bob.k.send({ name: 'alice_u', text: 'to be acknowledged' }));
    await cut((m, u) => m === 'PUT' && u.startsWith('/v2/names/'), 'prekey rotation', () => alice.k.poll(), async () => { clock.t += PREKEY_ROTATE_MS + 1000; });
    await cut(() => true, 'deleteAccount', () => alice.k.deleteAccount({ passphrase: PASS }));
    assert.equal((await alice.k.status()).phase, 'unlocked', 'nothing was deleted');
  } finally { await g.close(); await op.close(); }
});

test('errors meant for a person are UserErrors and read as themselves; anything else is a bug', async () => {
  const d = device();
  const said = async (p: Promise<unknown>) => { try { await p; } catch (e) { assert.ok(e instanceof UserError, String(e)); return explain(e); } assert.fail('did not throw'); };
  assert.equal(await said(d.k.create({ operator: 'https://example.com', name: 'alice', passphrase: PASS })), 'Only onion addresses: Komrade never talks to the Operator outside Tor.');
  assert.equal(await said(d.k.create({ operator: 'http://127.0.0.1:7657', name: 'alice', passphrase: PASS })), 'Loopback addresses need the developer option.');
  assert.equal(await said(d.k.unlock({ passphrase: 'anything at all' })), 'No account on this device.');
  assert.equal(await said(d.k.restore({ backup: '{}', passphrase: PASS })), 'That file is not a Komrade backup.');
  assert.equal(await said(d.k.inbox()), 'Komrade is locked.');
  for (const bad of ['not a url at all ::', 'http://x.onion', 'http://example.com/path']) {
    assert.throws(() => checkOperatorAddress(bad, false), (e) => e instanceof UserError && !explain(e).startsWith('Something went wrong'));
  }
  assert.match(explain(new TypeError('x is undefined')), /^Something went wrong: x is undefined$/);
});
