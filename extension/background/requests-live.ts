/**
 * New join requests arrive live (issue #19 item 3; COLLECTIVES.md §10, "Held requests read"):
 * as live.ts holds every read all the time, one held read of the open requests per collective we are a member
 * of, held by the Operator while the list is what we last saw. When it changes (a new request,
 * a vouch counted) the held read returns true, Live reads that collective (its counts, the
 * badge, the notice) and the popup is told; the list's digest is kept in the collective's
 * record (`asked`), so the open collective page reads itself again. Each rides the collective's
 * circuit (circuits.ts, from the route), as the held log read does.
 */
import { collectiveHandle } from './collective-state.ts';
import { foldName } from '../../protocol/names.ts';
import { requestsDigest } from '../../protocol/requests-wait.ts';
import type { OperatorClient } from '../../protocol/client.ts';
import type { Ctx } from './core/ctx.ts';

/** One held read for Live (live.ts's Target): `hold` is true when something changed, which `file` then takes in. */
export interface HeldTarget { key: string; hold(signal: AbortSignal): Promise<boolean>; file(): Promise<void> }

/** Keep the digest of the requests we saw in the collective's record (the popup's open page watches it). */
async function remember(ctx: Ctx, c: string, digest: string): Promise<void> {
  await ctx.serial(async () => {
    const store = await ctx.store();
    const rec = await store.collective(c);
    if (rec && rec.asked !== digest) await store.putCollective({ ...rec, asked: digest });
  });
}

/** The held requests reads of the collectives we are a member of (`wait`: seconds each may be held; `read` reads a collective by its handle). */
export async function requestTargets(ctx: Ctx, client: OperatorClient, wait: number, read: (handle: string) => Promise<void>): Promise<HeldTarget[]> {
  const store = await ctx.store();
  return (await store.collectives()).filter((rec) => rec.status === 'member').map((rec) => {
    const c = foldName(rec.name), h = collectiveHandle(rec), at = rec.operator ? ctx.client(rec.operator) : client; // the collective's Operator (COLLECTIVES.md §15)
    let seen: string | undefined;
    return {
      key: `requests:${h}`,
      hold: async (signal) => {
        if (seen === undefined) {
          // the first read is a plain one (what we saw last is never sent: it would tell when we were last online); if the
          // list changed since we last took it in (none: the empty list), that is an arrival now, not after the next change
          seen = requestsDigest((await at.listRequests(c)).requests);
          if (seen !== (rec.asked ?? requestsDigest([]))) { await remember(ctx, h, seen); return true; }
        }
        const now = requestsDigest((await at.waitRequests(c, seen, wait, signal)).requests);
        if (now === seen) return false;
        seen = now;
        await remember(ctx, h, now);
        return true;
      },
      file: () => read(h), // what changed is counted by that collective's read (the badge, the notice)
    };
  });
}
