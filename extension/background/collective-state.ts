/**
 * The records of the collectives feature (store.ts keeps them under `collective/…`):
 * `collective/<name>` per collective we belong to or asked to join, `collective/~keys` for
 * group-key hand-overs received and not yet checked, `collective/~counts` for the vouch counts
 * shown on contact cards.
 */
import { z } from 'zod';
import { Handle, OperatorOrigin, operatorHost } from '../../protocol/address.ts';
import { CollectiveKey, EpochBundle } from '../../protocol/message.ts';
import { foldName } from '../../protocol/names.ts';
import { Name } from '../../protocol/wire.ts';

const Count = z.number().int().nonnegative();

/** Record `collective/<handle>` (`collectiveHandle`: the name lower-cased, `name@<host>` for another Operator's). */
export const CollectiveRecord = z.strictObject({
  /** As the charter spells it (the name at its own Operator). */
  name: Name,
  /** The Operator that holds the collective, when it is not ours (COLLECTIVES.md §15); records from before have none. */
  operator: OperatorOrigin.optional(),
  status: z.enum(['member', 'requested']),
  /** The collective's group keys (epoch bundles), oldest first; an ended epoch's is kept while its posts may be pending (POSTS.md §9). */
  bundles: z.array(EpochBundle),
  /** Epoch number → when we saw it end (a newer epoch arrived): its bundle is dropped 14 days later. */
  ended: z.record(z.string(), z.number()).optional(),
  /** When we got (or opened) the newest epoch: the weekly rotation counts from here. */
  epochAt: z.number().optional(),
  /** A bundle we made and are opening at the Operator (not handed to anyone before it is open). */
  opening: EpochBundle.optional(),
  /** An epoch of ours whose bundle is not yet sealed to every member and uploaded. */
  delivering: z.number().int().positive().optional(),
  /** A rotation is due: when (a random delay after we noticed it). */
  rotateAt: z.number().optional(),
  /** The due rotation follows a leave or an expulsion: posting waits for it (the removed member could read the old epoch). */
  rotateForRemoval: z.literal(true).optional(),
  /** The log sequence number at which we got (or made) the key: newcomers admitted after it get it from us. */
  keyedAt: Count.optional(),
  /** Members we sealed the group key to (each once), by their handle in the collective (`name@<host>` for another Operator's). */
  handed: z.array(Handle),
  /** Our own vouches and expel votes: subject → epoch (never shown, never sent: only to refuse a second one). */
  vouched: z.record(z.string(), Count),
  voted: z.record(z.string(), Count),
  /** Our handle in this collective since we moved home (COLLECTIVES.md §15.1), when it is not the one our account's home gives. */
  me: Handle.optional(),
  /** Hand-overs refused because their signer was not a current member. */
  refusedKeys: Count,
  /** The log's last entry as last replayed: a held log read starts after it (live.ts), so an entry that came before the hold is not missed. */
  seq: Count.optional(),
  /** The digest of the open requests as last seen by a held requests read (requests-live.ts): the open page re-reads when it changes. */
  asked: z.string().optional(),
  /** What the popup lists, as last seen (at a poll or a look-up). */
  info: z.strictObject({ description: z.string(), rule: z.string(), members: Count, needed: Count, requests: Count, t: z.number() }).optional(),
});
export type CollectiveRecord = z.infer<typeof CollectiveRecord>;

/** The handle a collective is kept and shown under: `portland` on our Operator, `portland@<host>` on another (its record's `operator`). */
export const collectiveHandle = (c: { name: string; operator?: string }): string =>
  c.operator === undefined ? foldName(c.name) : `${foldName(c.name)}@${operatorHost(c.operator)}`;

/** Record `collective/~keys`: hand-overs received, checked at the end of the poll. */
export const KeysIn = z.strictObject({ items: z.array(z.strictObject({ from: z.string(), t: z.number(), body: CollectiveKey })) });
export type KeysIn = z.infer<typeof KeysIn>;

/** Record `collective/~counts`: vouch counts per komrade (public data), with when they were fetched. */
export const Counts = z.record(z.string(), z.strictObject({ total: Count, collectives: z.record(z.string(), Count), t: z.number() }));
export type Counts = z.infer<typeof Counts>;
