/**
 * Key-transparency routes (PROTOCOL.md §5.11): the newest signed checkpoint, a consistency proof
 * between two tree sizes, the log's entries from an index (for monitors and witnesses), and a
 * name's proof in the name index (for its owner's monitor).
 * The look-up's own proof is answered by the directory route (names.ts).
 */
import { b64 } from '../../protocol/bytes.ts';
import { MAX_ENTRIES } from '../../protocol/transparency/wire.ts';
import { fail, type Handlers } from '../http.ts';

/** The log routes. */
export const logRoutes: Handlers<'log-checkpoint' | 'log-consistency' | 'log-entries' | 'log-index'> = {
  'log-checkpoint': async (_req, { store }) => ({ body: { checkpoint: store.log.head.note } }),

  'log-consistency': async ({ params }, { store }) => {
    const from = Number(params.from), to = Number(params.to), size = store.log.head.size;
    if (from < 1 || from > to) fail(400, 'from: must be at least 1 and at most to');
    if (to > size) fail(404, 'to: the log is not that large');
    return { body: { proof: (await store.log.consistency(from, to)).map(b64) } };
  },

  'log-entries': async ({ params }, { store }) => {
    const head = store.log.head, from = Number(params.from);
    if (from > head.size) fail(404, 'from: the log is not that large');
    const entries = await store.log.entries(from, Math.min(MAX_ENTRIES, head.size - from));
    return { body: { entries: entries.map((e) => ({ index: e.index, leaf: b64(e.leaf), ...(e.live ? { live: e.live } : {}), ...(e.removes !== undefined ? { removes: e.removes } : {}) })), checkpoint: head.note } };
  },

  // any name has a proof: a live one's value, or its absence (§5.11.6)
  'log-index': async ({ params }, { store }) => {
    const { proof, head } = await store.log.indexProof(params.name);
    return { body: { proof, checkpoint: head.note } };
  },
};
