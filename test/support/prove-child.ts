/**
 * Test helper (not part of the Operator): proves a list of Semaphore proofs in a process of its
 * own, so tests can prove on every core. Reads JSON jobs on stdin, writes JSON proofs on stdout.
 */
import { unb64 } from '../../protocol/bytes.ts';
import { memberIdentity, proveVouch, type ProofKind } from '../../protocol/vouch.ts';

/** One proof to make: the member's vault secret (b64), the tree, and what the proof is about. */
export interface ProveJob { secret: string; collective: string; members: string[]; kind: ProofKind; subject: string; epoch: number; binding: string }

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', async () => {
  const jobs = JSON.parse(input) as ProveJob[];
  const out = [];
  for (const j of jobs) {
    out.push(await proveVouch({
      identity: memberIdentity(unb64(j.secret), j.collective), members: j.members.map(BigInt), kind: j.kind,
      collective: j.collective, subject: j.subject, epoch: j.epoch, commitment: BigInt(j.binding),
    }));
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
});
