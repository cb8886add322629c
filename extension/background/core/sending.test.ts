// Sending against an Operator that hangs (a loopback TCP server that accepts and does not answer until released): send answers at once, the message stays queued, then goes out.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account, introduce } from '../../../test/support/addon.ts';

before(() => loadThemis());

/**
 * A TCP front for the Operator: while `hold`, what clients send is accepted and left unanswered
 * (kept connections too); `release()` passes it on, so the Operator answers late.
 */
async function hanging(port: number) {
  const held: (() => void)[] = [], sockets = new Set<Socket>();
  const server = createServer((s) => {
    const up = createConnection({ host: '127.0.0.1', port });
    sockets.add(s); sockets.add(up);
    s.on('data', (d) => { if (h.hold) held.push(() => up.write(d)); else up.write(d); });
    up.pipe(s);
    up.on('error', () => s.destroy()); s.on('error', () => up.destroy());
    s.on('close', () => up.destroy()); up.on('close', () => s.destroy());
  });
  const h = {
    hold: false, held,
    release: () => { h.hold = false; for (const go of held.splice(0)) go(); },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
    url: '',
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return h;
}

test('a hanging Operator: send answers with the message queued, the thread and the next send are not held up, both go out when it answers', { timeout: 120_000 }, async () => {
  const op = await startTestOperator();
  const h = await hanging(op.port);
  try {
    const alice = await account(h.url, 'alice_h', undefined, { sendWaitMs: 200 }), bob = await account(op.url, 'bob_h');
    await introduce(alice, bob, { from: 'alice_h', to: 'bob_h' });
    h.hold = true;
    const t = await alice.k.send({ name: 'bob_h', text: 'into the void' });
    assert.ok(h.held.length > 0, 'the deposit is hanging');
    assert.equal(t.messages.at(-1)!.text, 'into the void');
    assert.equal(t.messages.at(-1)!.state, 'sending', 'send answered while its deposit hangs');
    // the state lock is free: the thread opens, and the next message is queued behind the first
    const next = await alice.k.send({ name: 'bob_h', text: 'still there?' });
    assert.deepEqual(next.messages.slice(-2).map((m) => m.state), ['sending', 'queued']);
    assert.equal((await alice.k.status()).queued, 2);
    h.release();
    await alice.k.flushOutbox();
    const after = await alice.k.thread({ name: 'bob_h' });
    assert.deepEqual(after.messages.slice(-2).map((m) => [m.text, m.state]), [['into the void', 'sent'], ['still there?', 'sent']]);
    assert.equal((await alice.k.status()).queued, 0);
    assert.equal((await bob.k.poll()).received, 2);
  } finally { h.release(); await h.close(); await op.close(); }
});
