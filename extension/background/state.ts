/**
 * The add-on's state as it is kept in the vault: identity, prekeys, mailboxes, contacts,
 * threads, outbox, settings. Validated with zod whenever it is loaded.
 */
import { z } from 'zod';
import { MailboxId, Name, PrekeyId } from '../../protocol/wire.ts';

const KeyPairB64 = z.strictObject({ priv: z.string(), pub: z.string() });

/** A prekey: private half kept until `retired` + grace, then erased. */
export const Prekey = z.strictObject({ id: PrekeyId, ...KeyPairB64.shape, created: z.number(), retired: z.number().optional() });
export type Prekey = z.infer<typeof Prekey>;

/** A message in a thread. */
export const Message = z.strictObject({
  id: z.string(), dir: z.enum(['in', 'out']), text: z.string(), t: z.number(),
  state: z.enum(['queued', 'sent', 'received', 'failed']),
  /** An incoming message signed by a key other than the one we had for this contact. */
  newKey: z.boolean().optional(),
  /** An incoming message signed by the stored (old) key while a key change was pending. */
  oldKey: z.boolean().optional(),
  /**
   * Not a message: a quiet note that envelopes claiming to be this contact, signed by a key the
   * directory does not vouch for, were refused (`text` is empty: the forged text is never kept).
   * Consecutive refusals share one note; `count` says how many.
   */
  notice: z.literal('forged').optional(),
  count: z.number().int().optional(),
});
export type Message = z.infer<typeof Message>;

/** A contact, keyed by lower-case name. */
export const Contact = z.strictObject({
  name: Name,
  identityKey: z.string(),
  prekey: z.strictObject({ id: PrekeyId, key: z.string() }),
  /** The mailbox we deposit into: their intro until they give us a pairwise one. */
  sendTo: MailboxId,
  /** Their public intro mailbox (fallback if the pairwise one disappears). */
  intro: MailboxId.optional(),
  /** The mailbox we created for them to write to us. */
  inbox: MailboxId,
  verified: z.boolean(),
  /** A different identity key signed messages for this name: sending is blocked until accepted. */
  pendingKey: z.strictObject({ identityKey: z.string(), prekey: z.strictObject({ id: PrekeyId, key: z.string() }), sendTo: MailboxId }).optional(),
  unread: z.number().int(),
  messages: z.array(Message),
});
export type Contact = z.infer<typeof Contact>;

/** An envelope waiting to be deposited. */
export const Outgoing = z.strictObject({ contact: z.string(), id: z.string(), to: MailboxId, blob: z.string(), tries: z.number().int(), lastError: z.string().optional() });
export type Outgoing = z.infer<typeof Outgoing>;

/** An envelope waiting for the directory to vouch for its sender: its id, the blob (b64) and when it was received. */
export const PendingBlob = z.strictObject({ id: z.string(), blob: z.string(), received: z.number() });
export type PendingBlob = z.infer<typeof PendingBlob>;

/** User settings. */
export const Settings = z.strictObject({
  pollSeconds: z.number().int().min(5).max(3600),
  notifications: z.boolean(),
  autoLockMinutes: z.number().int().min(0).max(1440),
  /** Developer option: allow a loopback Operator address. */
  allowLoopback: z.boolean(),
});
export type Settings = z.infer<typeof Settings>;
export const DEFAULT_SETTINGS: Settings = { pollSeconds: 60, notifications: false, autoLockMinutes: 15, allowLoopback: false };

/** Everything in the vault. */
export const State = z.strictObject({
  v: z.literal(1),
  operator: z.string(),
  settings: Settings,
  me: z.strictObject({ name: Name, identity: KeyPairB64, intro: z.strictObject({ id: MailboxId, ...KeyPairB64.shape }), recordTs: z.number() }),
  prekeys: z.array(Prekey).min(1),
  /** Mailboxes we own besides the intro: id → key pair and the contact it is for. */
  mailboxes: z.record(z.string(), z.strictObject({ ...KeyPairB64.shape, contact: z.string() })),
  contacts: z.record(z.string(), Contact),
  outbox: z.array(Outgoing),
  /** Message ids already accepted (replay protection), with their time, pruned after 30 days. */
  seen: z.record(z.string(), z.number()),
  /**
   * Envelopes already fetched and acknowledged whose sender could not be checked yet because the
   * directory lookup failed for a network reason (a first contact, or a key that differs from the
   * stored one). The sealed blob is kept as received and decided again at every poll; dropped
   * after PENDING_TTL_MS.
   */
  pendingFirst: z.array(PendingBlob).default([]),
});
export type State = z.infer<typeof State>;
