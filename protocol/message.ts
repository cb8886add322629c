/**
 * Messages between add-ons (v1): the `body` inside a sealed envelope. The Operator never sees
 * these; they are here so that every add-on version reads and writes the same shape.
 */
import { z } from 'zod';
import { MailboxId, Name, PrekeyId, PublicKeyB64 } from './wire.ts';

/** Longest message text, in characters (fits the largest envelope in UTF-8). */
export const MAX_TEXT = 10_000;

/**
 * A private message. `from` is the sender's name (checked against the directory on first
 * contact, and against the stored key afterwards); `replyTo` the mailbox the sender made for
 * this recipient; `prekey` the sender's current prekey, for the reply. `expire` (seconds, added
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
});
export type TextMessage = z.infer<typeof TextMessage>;
