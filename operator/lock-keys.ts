/**
 * The keys of the Operator's per-key lock (`store.lock`), one home each: what a request
 * serialises on, taken before the store's gate (operator/gate.ts). A mailbox's key is its id;
 * a name's is its confusable skeleton (PROTOCOL.md §5.7), so look-alikes serialise together;
 * a collective's covers its tree, log and feed (COLLECTIVES.md §12, POSTS.md §7).
 */
import { skeleton, type FoldedName } from '../protocol/names.ts';

/** The lock of a name (and of a collective's name while it is being founded). */
export const nameLock = (name: FoldedName) => `name:${skeleton(name)}`;

/** The lock of a collective: its tree, log, requests, votes and feed. */
export const collectiveLock = (c: FoldedName) => `collective:${c}`;
