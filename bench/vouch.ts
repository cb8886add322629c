/**
 * Anonymous vouching (COLLECTIVES.md): a depth-16 Semaphore proof made in Node, the Operator's
 * verification of it, and how many vouches one Operator process verifies per second. Goals:
 * verify ≤ 50 ms; proof ≤ 3 s in Firefox 140 (a row of the `browser` section, bench/browser.ts).
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from '../protocol/bytes.ts';
import { memberIdentity, proveVouch, rootOf, shutdownCurve, useSingleThreadedCurve, verifyVouch } from '../protocol/vouch.ts';
import { percentile, row, section } from './lib.ts';

/** Run the section. */
export async function benchVouch(): Promise<void> {
  section('Anonymous vouching (Semaphore v4, depth 16)');
  const me = memberIdentity(randomBytes(32), 'portland');
  // the other 199 leaves: random field elements (a tree of commitments looks like that to the circuit)
  const members = [me.commitment, ...Array.from({ length: 199 }, () => BigInt(`0x${Buffer.from(randomBytes(31)).toString('hex')}`))];
  const subject = { kind: 'vouch' as const, collective: 'portland', subject: 'carol', epoch: 0 };
  const proveTimes: number[] = [];
  let proof;
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    proof = await proveVouch({ identity: me, members, ...subject });
    proveTimes.push(performance.now() - s);
  }
  row('prove a vouch in Node (200 members, median of 3)', percentile(proveTimes, 50), 'ms');
  await useSingleThreadedCurve();
  const roots = new Set([rootOf(members)]);
  await verifyVouch(proof, { ...subject, roots }); // builds the curve
  const verifyTimes: number[] = [];
  for (let i = 0; i < 20; i++) {
    const s = performance.now();
    const v = await verifyVouch(proof, { ...subject, roots });
    verifyTimes.push(performance.now() - s);
    if (!v.ok) throw new Error(`the proof did not verify: ${v.reason}`);
  }
  const verify = percentile(verifyTimes, 50);
  row('the Operator verifies a vouch (median of 20)', verify, 'ms', { text: '≤ 50 ms', met: verify <= 50 });
  row('vouches verified per second by one Operator process', 1000 / verify, 'vouches/s');
  await shutdownCurve();
}
