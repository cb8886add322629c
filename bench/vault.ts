/**
 * `npm run bench`, section 6 (also alone: `node --import tsx bench/vault.ts`): the add-on's
 * requests with 10 and with 10,000 stored messages over 100 contacts, and their ratio (goal:
 * ≤ 1.3, the cost of a request does not grow with history), and 10,000 vs 1,000 (a thread
 * page holds up to 50 messages: with 10 messages in all it is necessarily smaller). Real wasm-themis, a real Operator
 * over loopback; the history is written as records directly (testkit.fillHistory).
 */
import { performance } from 'node:perf_hooks';
import { loadThemis } from '../protocol/themis.ts';
import { startTestOperator } from '../operator/testing.ts';
import { Komrade } from '../extension/background/komrade.ts';
import { account, fillHistory } from '../extension/background/testkit.ts';

await loadThemis();

async function median(n: number, fn: () => unknown, setup?: () => unknown): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) { await setup?.(); const s = performance.now(); await fn(); t.push(performance.now() - s); }
  return t.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}
const row = (what: string, value: string) => console.log(`${what.padEnd(64)} ${value}`);

async function world(messages: number) {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob');
    await alice.k.addContact({ name: 'bob' });
    await alice.k.send({ name: 'bob', text: 'hi' });
    await bob.k.poll();
    await bob.k.send({ name: 'alice', text: 'hi back' });
    await alice.k.poll();
    await fillHistory(alice, { contacts: 99, messages: messages - 2 });
    return {
      status: await median(200, () => alice.k.status()),
      statusCold: await median(30, () => new Komrade({ local: alice.local, session: alice.session }).status()),
      thread: await median(50, () => alice.k.thread({ name: 'bob' })),
      send: await median(30, () => alice.k.send({ name: 'bob', text: 'one more message' })),
      receive: await median(30, () => alice.k.poll(), () => bob.k.send({ name: 'alice', text: 'and one back' })),
    };
  } finally { await op.close(); }
}

const small = await world(10), mid = await world(1000), large = await world(10_000);
const what = {
  status: 'status() (the popup asks every 2 s)',
  statusCold: 'status() after the background was suspended (nothing cached)',
  thread: 'opening a thread',
  send: 'send (seal, queue, deposit, thread)',
  receive: 'receive (poll: fetch, open, file, ack one message)',
} as const;
for (const k of Object.keys(what) as (keyof typeof what)[]) {
  row(`vault: ${what[k]}, ms with 10 → 10,000 messages`, `${small[k].toFixed(2)} → ${large[k].toFixed(2)}`);
  row('  ratio 10,000 ÷ 10 messages (100 contacts; goal ≤ 1.3)', (large[k] / small[k]).toFixed(2));
  row('  ratio 10,000 ÷ 1,000 messages', (large[k] / mid[k]).toFixed(2));
}
