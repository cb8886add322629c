/**
 * Quorum rules for collectives: how many anonymous vouches a candidate needs before the
 * Operator admits them, as a function of how many members the collective has right now.
 * The rule is part of the founder's signed charter; COLLECTIVES.md explains the choice.
 */
import { z } from 'zod';

/** Largest k a `fixed:k` rule may name. */
export const MAX_FIXED_QUORUM = 64;

/** A quorum rule: `one`, `log2`, `sqrt`, `fixed:k` (1 <= k <= 64) or `open` (no vouch needed). */
export type QuorumRule = 'one' | 'log2' | 'sqrt' | 'open' | `fixed:${number}`;

const FIXED = /^fixed:([1-9]|[1-5][0-9]|6[0-4])$/;

/** Wire schema of a quorum rule; `fixed:k` must be written canonically (no sign, no leading zero). */
export const QuorumRule = z.union([
  z.enum(['one', 'log2', 'sqrt', 'open']),
  z.custom<`fixed:${number}`>((v) => typeof v === 'string' && FIXED.test(v), `fixed:k needs 1 <= k <= ${MAX_FIXED_QUORUM}`),
]);

/** Smallest r with r*r >= n (exact for any safe integer, no floating-point rounding surprises). */
function ceilSqrt(n: number): number {
  let r = Math.floor(Math.sqrt(n));
  while (r * r < n) r++;
  while (r > 0 && (r - 1) * (r - 1) >= n) r--;
  return r;
}

/**
 * Vouches needed to admit a candidate into a collective of `members` members:
 * - `one`: 1;
 * - `log2`: ceil(log2(members + 1)) — 1, 2, 2, 3, 3, 3, 3, 4, … for 1, 2, 3, 4, … members;
 * - `sqrt`: ceil(sqrt(members));
 * - `fixed:k`: min(k, members) — capped at the group's size so a young collective can still grow
 *   (a 3-member collective with `fixed:5` needs its 3 members, not 5 it does not have);
 * - `open`: 0 — anyone who asks is admitted.
 * Every rule except `open` needs at least 1 (also for 0 members, which a founded collective never has:
 * the founder is its first member).
 */
export function quorum(rule: QuorumRule, members: number): number {
  if (!Number.isSafeInteger(members) || members < 0) throw new RangeError('members must be a non-negative integer');
  const n = Math.max(members, 1);
  switch (rule) {
    case 'open': return 0;
    case 'one': return 1;
    case 'log2': return n.toString(2).length; // bit length of n == ceil(log2(n + 1))
    case 'sqrt': return ceilSqrt(n);
    default: {
      const m = FIXED.exec(rule);
      if (!m) throw new RangeError(`unknown quorum rule: ${rule}`);
      return Math.min(Number(m[1]), n);
    }
  }
}

/** Votes needed to expel a member (COLLECTIVES.md §7): the charter's rule, except `log2` for an `open` collective (expelling is never free). */
export const expelQuorum = (rule: QuorumRule, members: number): number => quorum(rule === 'open' ? 'log2' : rule, members);
