/**
 * Pending join requests (COLLECTIVES.md §4) where we can vouch: the open requests counted in
 * each collective we are a member of, as of the last poll. The status line, the badge and the
 * Collectives tab show this count; a notice (no names) says when it grew.
 */
import type { Store } from './store.ts';

/** Open join requests summed over the collectives I am a member of (counts as last seen). */
export async function joinRequests(store: Store): Promise<number> {
  return (await store.collectives()).reduce((n, c) => n + (c.status === 'member' ? c.info?.requests ?? 0 : 0), 0);
}
