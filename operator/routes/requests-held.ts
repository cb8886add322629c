/**
 * The open join requests of a collective, read at once (`list-requests`) or held (`wait-requests`,
 * COLLECTIVES.md §10 "Held requests read"): held while the list still has the digest the reader
 * last saw (protocol/requests-wait.ts), until a join request or a vouch on this collective is
 * committed (`requestWakes`, key `requests:<collective>`) or the wait ends. Public, as the list.
 */
import { foldName, type FoldedName } from '../../protocol/names.ts';
import { quorum } from '../../protocol/quorum.ts';
import { requestsDigest } from '../../protocol/requests-wait.ts';
import { heldRead } from '../holds.ts';
import type { Deps, Handlers } from '../http.ts';
import { collectiveOr404 } from './shared.ts';

/** The open requests with their epochs and counts (what `list-requests` answers). */
async function openRequests(deps: Deps, c: FoldedName) {
  const meta = await collectiveOr404(deps, c), { collectives } = deps.store;
  const needed = quorum(meta.charter.quorum, meta.members);
  const requests = await Promise.all((await collectives.openRequests(c)).map(async (r) => ({
    request: r.request, sig: r.sig, epoch: await collectives.epoch(c, 'vouch', foldName(r.request.name)), vouches: r.vouches, needed,
  })));
  return { requests };
}

/** The requests routes. */
export const requestRoutes: Handlers<'list-requests' | 'wait-requests'> = {
  'list-requests': async ({ params: { collective: c } }, deps) => ({ body: await openRequests(deps, c) }),

  // held while the list is what the reader saw; many may wait on one collective (holds.ts)
  'wait-requests': async ({ params: { collective: c }, body }, deps) => {
    const read = () => openRequests(deps, c);
    return { body: await heldRead(deps.holds, deps.signal, `requests:${c}`, body.wait, false, await read(), read, (r) => requestsDigest(r.requests) === body.seen) };
  },
};

/** The held requests reads a successful request of route `name` may have changed: a join request's or a vouch's collective. */
export function requestWakes(name: string, params: Record<string, string>): string[] {
  return (name === 'join' || name === 'vouch') && params.collective ? [`requests:${params.collective}`] : [];
}
