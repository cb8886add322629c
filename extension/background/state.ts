/**
 * The add-on's state as it is kept in the vault, as records (records.ts), each validated with
 * zod when it is decrypted: `account` (settings, identity, prekeys, mailboxes), `index` (one
 * line per conversation: unread, next expiry), `contact/<name>`, the messages in
 * chunks `chunk/<name>/<n>`, `outbox`, `pending`, and `seen/<day>`. `StateV1` is the whole
 * state as one document, as vault v1 kept it (read only to migrate, migrate.ts).
 */
import { z } from 'zod';
import { Handle, OperatorOrigin } from '../../protocol/address.ts';
import { MailboxId, Name, PrekeyId } from '../../protocol/wire.ts';

const KeyPairB64 = z.strictObject({ priv: z.string(), pub: z.string() });

/** A prekey: private half kept until `retired` + grace, then erased. */
export const Prekey = z.strictObject({ id: PrekeyId, ...KeyPairB64.shape, created: z.number(), retired: z.number().optional() });
export type Prekey = z.infer<typeof Prekey>;

/** A message in a thread. */
export const Message = z.strictObject({
  id: z.string(), dir: z.enum(['in', 'out']), text: z.string(), t: z.number(),
  state: z.enum(['queued', 'sent', 'delivered', 'received', 'failed']),
  /** An incoming message signed by a key other than the one we had for this contact. */
  newKey: z.boolean().optional(),
  /** An incoming message signed by the stored (old) key while a key change was pending. */
  oldKey: z.boolean().optional(),
  /**
   * Not a message: a quiet note that envelopes claiming to be this contact, signed by a key the
   * directory does not vouch for, were refused (`text` is empty: the forged text is never kept).
   * Consecutive refusals share one note; `count` says how many. `erased`: a message of this
   * contact's came sealed to a prekey of ours already erased (END-TO-END.md §6): it cannot be read.
   * `moved`: the contact moved home (PROTOCOL.md §11.5), `text` its former address; `move-refused`:
   * a `moved` the new Operator's directory did not confirm, `text` the claimed (untrusted) address.
   */
  notice: z.enum(['forged', 'timer', 'erased', 'moved', 'move-refused']).optional(),
  count: z.number().int().optional(),
  /** A `timer` notice: the disappearing-messages timer was set to this (seconds; 0 = off), by me (`out`) or them (`in`). */
  seconds: z.number().int().min(0).optional(),
  /** Disappearing messages: erased on both ends after this time (ms). */
  expires: z.number().optional(),
});
export type Message = z.infer<typeof Message>;

/** A contact in vault v1, keyed by lower-case name, with its messages. */
export const ContactV1 = z.strictObject({
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

/** Disappearing-message timers a person can choose (seconds; 0 = off): off, 1 day, 1 week, 4 weeks. */
export const DISAPPEAR_SECONDS = [0, 300, 3_600, 28_800, 86_400, 604_800, 2_419_200] as const;

/**
 * A contact (record `contact/<handle>`): keys and mailboxes; its messages are in chunks `first` …
 * `next - 1`. `name` is its handle (protocol/address.ts): the bare name for a komrade of our own
 * Operator, `name@<host>` for one of another (PROTOCOL.md §11), whose Operator is `operator`.
 */
export const Contact = ContactV1.omit({ unread: true, messages: true }).extend({
  name: Handle,
  /** Their home Operator (an origin), where they are looked up and where `sendTo` and `intro` are; absent: ours. */
  operator: OperatorOrigin.optional(),
  chunks: z.strictObject({ first: z.number().int().min(0), next: z.number().int().min(0) }),
  /** Disappearing messages for this conversation (seconds; 0 = off), as last set by either side. */
  disappear: z.number().int().min(0).default(0),
  /** The envelope time of the message that gave `prekey` (END-TO-END.md §6): an older one arriving late does not replace it. */
  prekeyAt: z.number().optional(),
  /** The newest message that is not a notice, for the inbox. */
  last: z.strictObject({ text: z.string(), t: z.number(), dir: z.enum(['in', 'out']) }).optional(),
});
export type Contact = z.infer<typeof Contact>;

/**
 * Record `prekeys/<name>`: our fresh prekeys for one contact (END-TO-END.md §6), oldest first.
 * `superseded`: when the contact first used a newer one (erased PREKEY_IN_FLIGHT_MS later);
 * `used`: the id of the newest the contact has used; `erased`: ids erased (newest last, a
 * bounded list), to say why a message sealed to one cannot be read.
 */
export const ContactPrekeys = z.strictObject({
  mine: z.array(z.strictObject({ id: PrekeyId, ...KeyPairB64.shape, created: z.number(), superseded: z.number().optional() })),
  used: PrekeyId.optional(),
  erased: z.array(PrekeyId),
  /** Digests of the envelopes found sealed to an erased prekey, each counted once (newest last, a bounded list). */
  unopened: z.array(z.string().max(64)).optional(),
});
export type ContactPrekeys = z.infer<typeof ContactPrekeys>;

/** At most this many messages per chunk; the newest chunk takes the appends. */
export const CHUNK = 50;
/** Record `chunk/<name>/<n>`. */
export const Chunk = z.strictObject({ messages: z.array(Message) });
export type Chunk = z.infer<typeof Chunk>;

/** One conversation as the status line needs it (small and fixed in size: status reads every one). */
export const Summary = z.strictObject({
  unread: z.number().int().min(0),
  /** The earliest `expires` among its stored messages: a sweep is due from then. */
  nextExpiry: z.number().optional(),
});
export type Summary = z.infer<typeof Summary>;
/** Record `index`: every conversation's summary, by lower-case name. */
export const Index = z.strictObject({ contacts: z.record(z.string(), Summary) });
export type Index = z.infer<typeof Index>;

/** An envelope waiting to be deposited. */
export const Outgoing = z.strictObject({
  contact: z.string(), id: z.string(), to: MailboxId, blob: z.string(), tries: z.number().int(), lastError: z.string().optional(),
  /** The Operator (an origin) that holds `to`: the contact's (PROTOCOL.md §11); absent: ours. */
  at: OperatorOrigin.optional(),
  /** A control message (a receipt, a new mailbox): no message in the thread to mark. */
  control: z.boolean().optional(),
});
export type Outgoing = z.infer<typeof Outgoing>;

/** An envelope waiting for the directory to vouch for its sender: its id, the blob (b64) and when it was received. */
export const PendingBlob = z.strictObject({ id: z.string(), blob: z.string(), received: z.number() });
export type PendingBlob = z.infer<typeof PendingBlob>;

/**
 * Record `request/<name>`: a first contact from a name not among our contacts (the directory
 * vouched for its key), kept apart until the person accepts, deletes or blocks it; its newest
 * messages (at most REQUEST_MESSAGES) wait with it.
 */
export const Request = z.strictObject({
  /** The handle (protocol/address.ts); `operator`: their home Operator when it is not ours. */
  name: Handle, operator: OperatorOrigin.optional(), identityKey: z.string(), prekey: z.strictObject({ id: PrekeyId, key: z.string() }),
  sendTo: MailboxId, intro: MailboxId.optional(), disappear: z.number().int().min(0), t: z.number(), messages: z.array(Message),
});
export type Request = z.infer<typeof Request>;
/** At most this many messages wait with one request, and at most REQUESTS_MAX requests wait. */
export const REQUEST_MESSAGES = 50;
export const REQUESTS_MAX = 100;
/** Record `blocked`: names whose messages are dropped on receipt, with when they were blocked. */
export const Blocked = z.strictObject({ names: z.record(z.string(), z.number()) });

/** User settings. */
export const Settings = z.strictObject({
  /** The mean seconds between two fetches of one mailbox (schedule.ts; saved only within FETCH_SECONDS, older vaults may hold 5–29). */
  pollSeconds: z.number().int().min(5).max(3600),
  notifications: z.boolean(),
  autoLockMinutes: z.number().int().min(0).max(1440),
  /** Developer option: allow a loopback Operator address. */
  allowLoopback: z.boolean(),
  /** Send delivery receipts, and show those of others (absent: on). */
  receipts: z.boolean().optional(),
  /** Hold a fetch open per mailbox while the popup is open, for arrivals in seconds (absent: on). */
  live: z.boolean().optional(),
  /** Key-transparency witnesses (PROTOCOL.md §5.11.4) whose cosigned checkpoint must chain with ours at every poll. */
  witnesses: z.array(z.strictObject({ url: z.string().max(300), vkey: z.string().max(300) })).max(8).optional(),
});
export type Settings = z.infer<typeof Settings>;
export const DEFAULT_SETTINGS: Settings = { pollSeconds: 600, notifications: false, autoLockMinutes: 15, allowLoopback: false };

const Me = z.strictObject({ name: Name, identity: KeyPairB64, intro: z.strictObject({ id: MailboxId, ...KeyPairB64.shape }), recordTs: z.number() });
/** Mailboxes we own besides the intro: id → key pair and the contact it is for. */
const Mailboxes = z.record(z.string(), z.strictObject({ ...KeyPairB64.shape, contact: z.string() }));

const Box = z.strictObject({ id: MailboxId, ...KeyPairB64.shape });
/**
 * A move of home under way (PROTOCOL.md §11.5, core/move-home.ts), written before each step:
 * the new Operator and name, the intro and prekey registered there, `from` (once switched) the
 * former home with its mailboxes (drained, then deleted), `told` the contacts sent a `moved`,
 * `waiting` those who have not yet written to their new mailbox.
 */
export const Move = z.strictObject({
  to: OperatorOrigin, name: Name, step: z.enum(['register', 'switch', 'mailboxes', 'tell', 'drain', 'delete']),
  started: z.number(), intro: Box, prekey: Prekey, recordTs: z.number(),
  from: z.strictObject({ operator: z.string(), name: Name, intro: Box, mailboxes: Mailboxes, loop: Box.optional() }).optional(),
  told: z.array(z.string()).max(100_000), waiting: z.array(z.string()).max(100_000),
});
export type Move = z.infer<typeof Move>;

/** Record `account`: who we are and where; small, read by every request. */
export const Account = z.strictObject({
  v: z.literal(2), operator: z.string(), settings: Settings, me: Me, prekeys: z.array(Prekey).min(1), mailboxes: Mailboxes,
  /** 32 random bytes (b64): every Semaphore identity of ours is derived from it, one per collective (COLLECTIVES.md §2); made on first use. */
  collectiveSecret: z.string().regex(/^[A-Za-z0-9_-]{43}$/).optional(),
  /** Our loop mailbox: dummies from empty deposit slots go to it (core/cover.ts); made on first use. */
  loop: z.strictObject({ id: MailboxId, ...KeyPairB64.shape }).optional(),
  /** Other Operators whose key-transparency log we check (record `transparency@<host>`, core/operators.ts; PROTOCOL.md §11). */
  logs: z.array(OperatorOrigin).max(1000).optional(),
  /** A move of home under way (PROTOCOL.md §11.5). */
  move: Move.optional(),
});
export type Account = z.infer<typeof Account>;

/** Records `outbox` and `pending`. */
export const Outbox = z.strictObject({ items: z.array(Outgoing) });
export const Pending = z.strictObject({ items: z.array(PendingBlob) });
/** Record `seen/<day>`: message ids accepted that UTC day (by their envelope time), pruned after 31 days. */
export const SeenDay = z.record(z.string(), z.number());

/** Everything in vault v1, one document. */
export const StateV1 = z.strictObject({
  v: z.literal(1),
  operator: z.string(),
  settings: Settings,
  me: Me,
  prekeys: z.array(Prekey).min(1),
  mailboxes: Mailboxes,
  contacts: z.record(z.string(), ContactV1),
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
export type StateV1 = z.infer<typeof StateV1>;
