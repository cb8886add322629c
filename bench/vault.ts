/**
 * The add-on's vault (`npm run bench -- vault`): the add-on's
 * requests with 10 and with 10,000 stored messages over 100 contacts, and their ratio (goal:
 * ≤ 1.3, the cost of a request does not grow with history), and 10,000 vs 1,000 (a thread
 * page holds up to 50 messages: with 10 messages in all it is necessarily smaller). Real wasm-themis, a real Operator
 * over loopback; the history is written as records directly (test/support/addon.ts, fillHistory).
 */
import { startTestOperator } from '../test/support/operator.ts';
import { Komrade } from '../extension/background/komrade.ts';
import { account, fillHistory, introduce } from '../test/support/addon.ts';

import { interleavedMedians, ratio, section } from './lib.ts';

/** An add-on with `messages` stored over 100 contacts, one live conversation with bob, and its requests to measure. */
async function world(messages: number) {
  const op = await startTestOperator();
  const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob');
  await introduce(alice, bob, { from: 'alice', to: 'bob' });
  await bob.k.send({ name: 'alice', text: 'hi back' });
  await alice.k.poll();
  await fillHistory(alice, { contacts: 99, messages: messages - 2 });
  const requests = {
    status: { fn: () => alice.k.status() },
    statusCold: { fn: () => new Komrade({ local: alice.local, session: alice.session }).status() },
    thread: { fn: () => alice.k.thread({ name: 'bob' }) },
    send: { fn: () => alice.k.send({ name: 'bob', text: 'one more message' }) },
    receive: { fn: () => alice.k.poll(), setup: () => bob.k.send({ name: 'alice', text: 'and one back' }) },
  };
  return { requests, close: () => op.close() };
}

const SAMPLES = { status: 200, statusCold: 30, thread: 50, send: 30, receive: 30 } as const;

/** Run the section. */
export async function benchVault(): Promise<void> {
  section('The add-on: cost of a request with 10 vs 10,000 stored messages (100 contacts)');
  const worlds = [await world(10), await world(1000), await world(10_000)];
  const m: Record<string, number[]> = {};
  try {
    // the three worlds are measured in turns, so that the machine's other work weighs on each alike
    for (const k of Object.keys(SAMPLES) as (keyof typeof SAMPLES)[]) m[k] = await interleavedMedians(SAMPLES[k], worlds.map((w) => w.requests[k]));
  } finally { for (const w of worlds) await w.close(); }
  const [small, mid, large] = [0, 1, 2].map((i) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v[i]!])) as Record<keyof typeof SAMPLES, number>) as [Record<keyof typeof SAMPLES, number>, Record<keyof typeof SAMPLES, number>, Record<keyof typeof SAMPLES, number>];
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
