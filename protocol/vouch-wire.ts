/**
 * The wire shape of a Semaphore vouch/expel proof and the constants it depends on, apart from
 * vouch.ts so that the route table (and so the add-on's background script) can check proofs'
 * shape without pulling in snarkjs and the Semaphore libraries.
 */
import { z } from 'zod';

/** Depth of every collective's tree: the circuit serves up to 2^16 = 65,536 members. */
export const DEPTH = 16;

/** Most members a collective's tree can hold. */
export const MAX_MEMBERS = 2 ** DEPTH;

/** Order of the BN254 scalar field: every public signal of the circuit is below it. */
export const SNARK_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Order of the BN254 base field: the coordinates of the proof's curve points are below it. */
const BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

const CANONICAL_DECIMAL = /^(0|[1-9][0-9]{0,76})$/;
/**
 * A decimal field element as JSON carries it: canonical (no sign, no leading zero), below `max`.
 * One check, so `BigInt` only ever sees a string the pattern accepted (zod 4 runs a `.refine`
 * even after a failed `.regex`, and `BigInt('x')` would throw out of `safeParse`).
 */
export const decimalBelow = (max: bigint) => z.string().check((ctx) => {
  if (!CANONICAL_DECIMAL.test(ctx.value)) ctx.issues.push({ code: 'custom', message: 'not a canonical decimal', input: ctx.value });
  else if (BigInt(ctx.value) >= max) ctx.issues.push({ code: 'custom', message: 'out of the field', input: ctx.value });
});

/** The wire shape of a vouch/expel proof (a Semaphore v4 proof, ~890 bytes of JSON), checked before verifying. */
export const VouchProof = z.strictObject({
  merkleTreeDepth: z.literal(DEPTH),
  merkleTreeRoot: decimalBelow(SNARK_FIELD),
  nullifier: decimalBelow(SNARK_FIELD),
  message: decimalBelow(SNARK_FIELD),
  scope: decimalBelow(SNARK_FIELD),
  points: z.array(decimalBelow(BASE_FIELD)).length(8),
});
export type VouchProof = z.infer<typeof VouchProof>;
