/**
 * Komrades across Operators (`npm run bench -- federation`, PROTOCOL.md §11): a send to a
 * komrade of another Operator against one to a komrade of the same Operator, in the same run
 * (goal: ≤ 1.1×). Two real Operators over loopback; alice on A writes to bob on A and to dan on
 * B, both already contacts with pairwise mailboxes; the sends are taken in turns.
 */
import { startTestOperator } from '../test/support/operator.ts';
import { account, introduce } from '../test/support/addon.ts';
import { interleavedMedians, ratio, section } from './lib.ts';

const SAMPLES = 60;

/** Run the section. */
export async function benchFederation(): Promise<void> {
  section('Across Operators: a send to a komrade of another Operator vs of the same one');
  const A = await startTestOperator(), B = await startTestOperator();
  try {
    const alice = await account(A.url, 'alice'), bob = await account(A.url, 'bob'), dan = await account(B.url, 'dan');
    const danAt = `dan@${B.url.replace('http://', '')}`, aliceAt = `alice@${A.url.replace('http://', '')}`;
    await introduce(alice, bob, { from: 'alice', to: 'bob' });
    await introduce(alice, dan, { from: aliceAt, to: danAt });
    // both answer once, so alice writes to their pairwise mailboxes (not their intros) from now on
    await bob.k.send({ name: 'alice', text: 'hi' });
    await dan.k.send({ name: aliceAt, text: 'hi' });
    await alice.k.poll();
    const [same, other] = await interleavedMedians(SAMPLES, [
      { fn: () => alice.k.send({ name: 'bob', text: 'one more message' }) },
      { fn: () => alice.k.send({ name: danAt, text: 'one more message' }) },
    ]);
    ratio('federation: send to another Operator\'s komrade ÷ to the same Operator\'s', { name: 'other Operator', value: other!, unit: 'ms' }, { name: 'same Operator', value: same!, unit: 'ms' }, { max: 1.1 });
  } finally { await A.close(); await B.close(); }
}
