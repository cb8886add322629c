/**
 * The add-on's vault (`npm run bench -- vault`): the add-on's
 * requests with 10 and with 10,000 stored messages over 100 contacts, and their ratio (goal:
 * ≤ 1.3, the cost of a request does not grow with history), and 10,000 vs 1,000 (a thread
 * page holds up to 50 messages: with 10 messages in all it is necessarily smaller). Real wasm-themis, a real Operator
 * over loopback; the history is written as records directly (testkit.fillHistory).
 */
import { startTestOperator } from '../operator/testing.ts';
import { Komrade } from '../extension/background/komrade.ts';
import { account, fillHistory } from '../extension/background/testkit.ts';

import { median, ratio, section } from './lib.ts';

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

/** Run the section. */
export async function benchVault(): Promise<void> {
  section('The add-on: cost of a request with 10 vs 10,000 stored messages (100 contacts)');
  const small = await world(10), mid = await world(1000), large = await world(10_000);
  const what = {
    status: 'status() (the popup asks every 2 s)',
    statusCold: 'status() after the background was suspended (nothing cached)',
    thread: 'opening a thread',
    send: 'send (seal, queue, deposit, thread)',
    receive: 'receive (poll: fetch, open, file, ack one message)',
  } as const;
  for (const k of Object.keys(what) as (keyof typeof what)[]) {
    ratio(`vault: ${what[k]}, 10,000 ÷ 10 messages`, { name: '10,000 messages', value: large[k], unit: 'ms' }, { name: '10 messages', value: small[k], unit: 'ms' }, { max: 1.3 });
    ratio(`  ${what[k]}, 10,000 ÷ 1,000 messages`, { name: '10,000 messages', value: large[k], unit: 'ms' }, { name: '1,000 messages', value: mid[k], unit: 'ms' });
  }
}
