/**
 * A collectives wait that can be cancelled while it is safe (issue #19 item 5): founding (the
 * name's proof of work), asking to join, vouching or voting to expel (a Semaphore proof). Until
 * `sent()` nothing has reached the Operator that changes anything, so Cancel abandons the step
 * at once (a proof still being computed is discarded, never sent). From `sent()` on the request
 * is on its way and cannot be called back: Cancel then answers false and the popup says why.
 */
import { UserError } from '../../api.ts';
import type { Ctx } from './ctx.ts';

/** What a cancelled step rejects with (the popup shows it as a notice, not a failure). */
export const STEP_CANCELLED = 'Cancelled: nothing was sent to the Operator.';

/** One cancellable step, begun by `beginStep`. */
export interface Step {
  /** `p`, or a rejection with STEP_CANCELLED as soon as Cancel is pressed. */
  wait<T>(p: Promise<T>): Promise<T>;
  /** Throws STEP_CANCELLED if Cancel was pressed (a long computation calls it as it goes). */
  check(): void;
  /** The point of no return: what follows reaches the Operator, Cancel can no longer stop it. */
  sent(): void;
  /** The step is over (succeeded or failed): nothing is left to cancel. */
  end(): void;
}

/** Begin a cancellable step (a newer step replaces an older one's Cancel). */
export function beginStep(ctx: Ctx): Step {
  const ac = new AbortController();
  ctx.stepping = ac;
  const cancelled = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(new UserError(STEP_CANCELLED)), { once: true }));
  cancelled.catch(() => undefined);
  const check = () => { if (ac.signal.aborted) throw new UserError(STEP_CANCELLED); };
  const end = () => { if (ctx.stepping === ac) ctx.stepping = undefined; };
  return { wait: (p) => Promise.race([p, cancelled]), check, sent: () => { check(); end(); }, end };
}

/** Cancel the step under way; false if there is none, or it already reached the Operator. */
export function cancelStep(ctx: Ctx): boolean {
  const ac = ctx.stepping;
  if (!ac) return false;
  ctx.stepping = undefined;
  ac.abort();
  return true;
}

/** Begin a step now and run `fn` with it under the state lock: Cancel works from the moment it is asked for, even while the step still waits for the lock behind other work. */
export function stepped<T>(ctx: Ctx, fn: (step: Step) => Promise<T>): Promise<T> {
  const step = beginStep(ctx);
  // Cancel answers at once even while the lock is held by other work; the step, when it gets the lock, then sends nothing
  return step.wait(ctx.serial(() => fn(step))).finally(() => step.end());
}
