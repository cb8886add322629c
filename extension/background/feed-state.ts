/**
 * The records of the feed (POSTS.md §9; records.ts reserves `feed/…` for them):
 * `feed/~index` (segment numbers, unread counts, the read marks), `feed/<n>` (a segment: up to
 * 50 posts from all collectives, in the order they arrived) and `feed/c/<name>` (per collective:
 * our anonymous cursors, how far each epoch was read, refused posts, tombstones waiting).
 * A poll reads the index, the newest segment and the collectives' records: never the history.
 */
import { z } from 'zod';
import { Handle } from '../../protocol/address.ts';
import { foldName } from '../../protocol/names.ts';

const Count = z.number().int().nonnegative();
const Id = z.string().regex(/^[A-Za-z0-9_-]{22}$/);
/** Posts per segment. */
export const SEGMENT = 50;

/** A post as kept: `n` its arrival number (unread while above the read mark); `mine` for our own (the delete secret while it may be pending). */
export const FeedPost = z.strictObject({
  n: Count, id: Id, collective: Handle, author: Handle, text: z.string(), t: z.number(),
  mine: z.strictObject({ seq: Count.optional(), secret: z.string().optional() }).optional(),
});
export type FeedPost = z.infer<typeof FeedPost>;

/** Record `feed/<n>`. */
export const FeedSegment = z.strictObject({ posts: z.array(FeedPost) });
export type FeedSegment = z.infer<typeof FeedSegment>;

/** Record `feed/~index`: segments `first` … `next - 1`, the next arrival number, unread per collective, read marks (arrival numbers). */
export const FeedIndex = z.strictObject({
  first: Count, next: Count, arrivals: Count,
  unread: z.record(z.string(), Count),
  readUpTo: z.record(z.string(), Count),
});
export type FeedIndex = z.infer<typeof FeedIndex>;

/** Record `feed/c/<name>`: cursors by epoch (id and key), the last seq read per epoch, refusals, tombstones that came before their post. */
export const FeedCollective = z.strictObject({
  cursors: z.record(z.string(), z.strictObject({ id: Id, priv: z.string(), pub: z.string() })),
  read: z.record(z.string(), Count),
  refused: Count,
  tombs: z.array(z.strictObject({ target: Id, author: Handle })),
  /** Epochs we cannot read: not in their tree (admitted later), or our cursor was lost. */
  gone: z.array(Count).optional(),
});
export type FeedCollective = z.infer<typeof FeedCollective>;

/** Logical keys of the feed's records. */
export const FK = {
  index: 'feed/~index',
  segment: (n: number) => `feed/${n}`,
  collective: (name: string) => `feed/c/${foldName(name)}`,
} as const;
