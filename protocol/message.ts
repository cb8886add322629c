/**
 * Messages between add-ons (v1): the `body` inside a sealed envelope. The Operator never sees
 * these; they are here so that every add-on version reads and writes the same shape.
 */
import { z } from 'zod';
import { OperatorOrigin } from './address.ts';
import { MailboxId, Name, PrekeyId, PublicKeyB64 } from './wire.ts';

/** Longest message text, in characters (fits the largest envelope in UTF-8). */
export const MAX_TEXT = 10_000;

/**
 * A private message. `from` is the sender's name (checked against the directory on first
 * contact, and against the stored key afterwards); `replyTo` the mailbox the sender made for
 * this recipient; `prekey` a fresh prekey of the sender's made for this recipient (END-TO-END.md
 * §6; an older sender gives its weekly prekey), to seal the reply to. `expire` (seconds, added
 * after v1, optional): the sender's disappearing-messages timer for this conversation; the
 * receiver adopts it and both erase the message that long after it was sent. Absent means off.
 */
export const TextMessage = z.strictObject({
  kind: z.literal('msg'),
  from: Name,
  text: z.string().max(MAX_TEXT),
  replyTo: MailboxId,
  prekey: z.strictObject({ id: PrekeyId, key: PublicKeyB64 }),
  expire: z.number().int().min(1).max(365 * 86_400).optional(),
  /** Gossip (PROTOCOL.md §5.11.5, added after v1, optional): the newest signed checkpoint of the Operator's log the sender has seen; the receiver checks it extends (or is extended by) its own. */
  checkpoint: z.string().max(1000).optional(),
  /**
   * Across Operators (PROTOCOL.md §11, added after v1, optional): the sender's home Operator (an
   * origin), where `from` is looked up and where `replyTo` is, when it is not the recipient's.
   * Absent: the recipient's own Operator.
   */
  home: OperatorOrigin.optional(),
});
export type TextMessage = z.infer<typeof TextMessage>;

/**
 * A delivery receipt (END-TO-END.md, "Delivery receipts"): `from` filed the messages whose
 * envelope ids are `delivered` (ids that travel only inside envelopes, never seen by the
 * Operator). Sent only to a contact, under the key stored for them; a receiver that does not
 * know this kind drops it. `prekey` (added later, optional): a fresh prekey of the sender's for
 * the receiver, as in a message (END-TO-END.md §6).
 */
export const Receipt = z.strictObject({
  kind: z.literal('receipt'),
  from: Name,
  delivered: z.array(z.string().regex(/^[A-Za-z0-9_-]{22}$/)).min(1).max(100),
  prekey: z.strictObject({ id: PrekeyId, key: PublicKeyB64 }).optional(),
  /** The sender's home Operator when it is not the recipient's (as in a message; PROTOCOL.md §11). */
  home: OperatorOrigin.optional(),
});
export type Receipt = z.infer<typeof Receipt>;

const B64 = /^[A-Za-z0-9_-]*$/;
const Seq = z.number().int().nonnegative();

/** What every member of an epoch holds (POSTS.md §1): the group key and the posting key pair. */
export const EpochBundle = z.strictObject({
  kind: z.literal('epoch-key'),
  collective: Name,
  epoch: z.number().int().positive(),
  key: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte key'),
  posting: z.strictObject({ priv: z.string().regex(B64).max(200), pub: PublicKeyB64 }),
  root: z.string().regex(/^[0-9]{1,78}$/),
});
export type EpochBundle = z.infer<typeof EpochBundle>;

/**
 * A collective's group key handed to a newcomer (COLLECTIVES.md §8), sealed by a member to the
 * prekey of the newcomer's signed join request and deposited to their intro mailbox. The
 * newcomer accepts it only if the envelope's signer is a current member in the log it replayed
 * (up to `logSeq`, whose hash is `logHead`).
 */
export const CollectiveKey = z.strictObject({
  kind: z.literal('collective-key'),
  collective: Name,
  epoch: z.number().int().positive(),
  bundle: EpochBundle,
  logSeq: Seq,
  logHead: z.string().max(64),
});
export type CollectiveKey = z.infer<typeof CollectiveKey>;

/**
 * "I moved home" (END-TO-END.md §7, PROTOCOL.md §11.5; sent by core/move-home.ts, handled by core/moved.ts):
 * `from` is the sender as the receiver knows it, `name` its name at the new home `home`, where
 * the receiver MUST find the same identity key (with that Operator's log proof) before it moves
 * the contact; `replyTo` a mailbox at the new home for this recipient; `prekey` as in a message.
 */
export const MovedMessage = z.strictObject({
  kind: z.literal('moved'),
  from: Name,
  name: Name,
  home: OperatorOrigin,
  replyTo: MailboxId,
  prekey: z.strictObject({ id: PrekeyId, key: PublicKeyB64 }),
  checkpoint: z.string().max(1000).optional(),
});
export type MovedMessage = z.infer<typeof MovedMessage>;
