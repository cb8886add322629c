/**
 * The typed message API between the popup and the background script. The popup sends
 * `{ type, args }` with `browser.runtime.sendMessage`; the background answers
 * `{ ok: true, value }` or `{ ok: false, error }`. The popup never receives a private key:
 * every view type below is built from public data and plaintext only.
 */

/** Where the app is. `no-wasm`: wasm-themis could not load; nothing can work. */
export type Phase = 'no-wasm' | 'new' | 'locked' | 'unlocked';

/** What the status line and the router need. */
/** A move of home under way (PROTOCOL.md §11.5): where to, under which name, its step, how many contacts have not yet written to the new home; null: none. */
export type MoveView = { to: string; name: string; step: 'register' | 'switch' | 'mailboxes' | 'tell' | 'drain' | 'delete'; waiting: number } | null;

export interface Status {
  phase: Phase;
  wasmError?: string;
  name?: string;
  unread: number;
  /** Message requests (first contacts from names not among the contacts), counted apart from `unread`. */
  requests?: number;
  /** Unread posts in the feed (counted apart from `unread`). */
  feedUnread?: number;
  /** Open join requests in the collectives I am a member of (as of the last poll). */
  joinRequests?: number;
  operator?: { address: string; reachable: boolean | null; lastCheck: number | null; error?: string };
  /** Outgoing messages not yet deposited. */
  queued: number;
  /** One Tor circuit per mailbox, or one shared by all (the browser's proxy is not Tor's SOCKS5); unknown before a request. */
  circuits?: 'per-mailbox' | 'shared';
  /** Key-transparency alarms (PROTOCOL.md §5.11), oldest first: each says what failed; `evidence` are two signed checkpoints that prove the lie (a fork, or a name's index moved back). */
  logAlarms?: { kind: string; message: string; t: number; name?: string; evidence?: string[] }[];
}

/** One's own identity, as shown for comparison. */
export interface MeView {
  name: string; safetyWords: string[]; safetyNumber: string; vouches?: VouchCountsView;
  /** Our full address, as komrades of other Operators add us: `@name@<our Operator's host>` (PROTOCOL.md §11). */
  address?: string;
}

/** A contact as the popup sees it. */
export interface ContactView {
  name: string; safetyWords: string[]; safetyNumber: string; verified: boolean;
  /** A changed key is waiting to be accepted or refused; sending is blocked and `verified` is false meanwhile. */
  keyChanged?: { safetyWords: string[]; safetyNumber: string };
  unread: number;
  /** The host of their home Operator when it is not ours (PROTOCOL.md §11); `name` is then their full address `bob@<host>`. */
  operator?: string;
  /** Messages to them wait in the outbox after a failed deposit: how many, and why (their Operator cannot be reached, …). */
  waiting?: string;
  /** Vouches counted for them in collectives (public counts, as last fetched). */
  vouches?: VouchCountsView;
}

/** Vouches counted for a komrade: overall and per collective (never who vouched). */
export interface VouchCountsView { total: number; collectives: Record<string, number> }

/** Where I stand in a collective. */
export type MyStatus = 'member' | 'requested' | 'none';

/** One of my collectives (member or asked to join), as last seen. */
export interface CollectiveSummary {
  name: string; description: string; rule: string; members: number; needed: number; requests: number; myStatus: MyStatus;
  /** The group key arrived (or we made it). */
  hasKey: boolean;
  /** The open requests' digest as last seen live (changes with a new request or a vouch counted). */
  asked?: string;
}

/** A candidate (open join request): their vouches here against the quorum, and their vouches overall. */
export interface CandidateView { name: string; vouches: number; needed: number; overall: number }

/** A collective looked up by name. `small`: under 5 members, where a vouch is hardly anonymous. */
export interface CollectiveView {
  name: string; description: string; rule: string; members: number; needed: number; myStatus: MyStatus;
  candidates: CandidateView[]; small: boolean; hasKey: boolean;
}

/** A conversation in the inbox list. */
export interface ConversationView { name: string; unread: number; last?: { text: string; t: number; dir: 'in' | 'out' }; keyChanged: boolean }

/** A message in a thread. */
export interface MessageView {
  id: string; dir: 'in' | 'out'; text: string; t: number; state: 'queued' | 'sending' | 'sent' | 'delivered' | 'received' | 'failed';
  /** Signed by a changed key (the directory vouched for it). */
  newKey?: boolean;
  /** Signed by the stored key while a key change was pending. */
  oldKey?: boolean;
  /** Not a message: forged envelopes for this name were refused (`count` of them), the timer changed, or a message sealed to an erased prekey could not be read; `text` is empty. */
  notice?: 'forged' | 'timer' | 'erased' | 'moved' | 'move-refused'; count?: number;
  /** A `timer` notice: the disappearing-messages timer set to this many seconds (0: off), by me (`out`) or them (`in`). */
  seconds?: number;
  /** A disappearing message: erased on both ends at this time (ms). */
  expires?: number;
}

/**
 * A thread: the contact and its newest messages, oldest first. `older`: there are older
 * messages; pass it as `before` to `thread` for the previous page. `disappearing`: the
 * conversation's disappearing-messages timer in seconds (0 = off).
 */
export interface ThreadView { contact: ContactView; messages: MessageView[]; older?: number; disappearing: number }

/** A message request: a first contact from a name not among the contacts, with its messages. */
export interface RequestView { name: string; safetyWords: string[]; safetyNumber: string; t: number; messages: MessageView[] }

/** A post in the feed (POSTS.md §3), text only. `mine`: I wrote it (deletable). `contact`: the author is among my contacts. */
export interface PostView { id: string; collective: string; author: string; text: string; t: number; mine: boolean; unread: boolean; contact: boolean }

/**
 * The feed: posts newest first from all my collectives (or one, or one author's). `older`: pass
 * it as `before` for the next page. `unread`: unread posts overall. `rotating`: collectives whose
 * keys are being rotated in the background (posting there waits). `open`: collectives with the
 * `open` rule, whose posts any komrade who joins can read (the popup says so).
 */
export interface FeedView { posts: PostView[]; older?: number; unread: number; rotating: string[]; open: string[] }

/** Settings as edited in the popup. */
export interface SettingsView { operator: string; pollSeconds: number; notifications: boolean; autoLockMinutes: number; allowLoopback: boolean; /** Send delivery receipts and show others'. */ receipts: boolean; /** One held fetch open per mailbox all the time (background/live.ts); off: the Poisson fetches. */ live: boolean; /** Key-transparency witnesses whose cosignature is required (PROTOCOL.md §5.11.4). */ witnesses?: { url: string; vkey: string }[] }

/**
 * A request's declaration: its argument and result types (types only), and whether the popup
 * makes it by itself (`passive`: on opening and its refresh every two seconds) rather than
 * because the person did something; passive requests do not postpone auto-lock.
 */
export interface MethodSpec<A extends unknown[], R> { readonly passive: boolean; readonly types?: (...a: A) => R }
const method = <A extends unknown[], R>(o: { passive?: boolean } = {}): MethodSpec<A, R> => ({ passive: !!o.passive });
const passive = { passive: true };

/**
 * Every request the popup can make, once: the background's handlers, the type of each call,
 * and the runtime allow-list of the message listener all come from here.
 */
export const API = {
  status: method<[], Status>(passive),
  create: method<[a: { operator: string; name: string; passphrase: string; allowLoopback?: boolean }], Status>(),
  /** Cancel `create` while it has not sent the name (connecting, proof of work); false if it is too late or none runs. */
  cancelCreate: method<[], boolean>(),
  restore: method<[a: { backup: string; passphrase: string }], Status>(),
  /** Our invite, one line (PROTOCOL.md §10). */
  myInvite: method<[], string>(passive),
  /** Add who invited us, only if the directory's key for the name is the one the invite names. */
  addInviter: method<[a: { name: string; key: string }], ContactView>(),
  /**
   * After a restore the old copy still receives too. Make this copy the only one that gets
   * replies: new pairwise mailboxes for every contact, a new prekey (published), and a control
   * message to each contact with the new mailbox. The old copy keeps the intro mailbox.
   */
  makeOnlyCopy: method<[], Status>(),
  /** Move home to another Operator (PROTOCOL.md §11.5), or resume the move under way; the move as it stands. */
  moveHome: method<[a: { operator: string; name?: string }], MoveView>(),
  /** The move of home under way, if any. */
  moveStatus: method<[], MoveView>(passive),
  unlock: method<[a: { passphrase: string }], Status>(),
  lock: method<[], Status>(),
  checkNow: method<[], Status>(passive),
  inbox: method<[], ConversationView[]>(passive),
  /** The newest messages; `before` (a previous answer's `older`) for older ones. */
  thread: method<[a: { name: string; before?: number }], ThreadView>(passive),
  send: method<[a: { name: string; text: string }], ThreadView>(),
  /** Disappearing messages for a conversation: 0 (off), 300, 3600, 28800, 86400, 604800 or 2419200 seconds; the change is noted in both threads. */
  setDisappearing: method<[a: { name: string; seconds: number }], ThreadView>(),
  retry: method<[], Status>(),
  addContact: method<[a: { name: string }], ContactView>(),
  contacts: method<[], { me: MeView; contacts: ContactView[] }>(passive),
  setVerified: method<[a: { name: string; verified: boolean }], ContactView>(),
  acceptKey: method<[a: { name: string }], ContactView>(),
  /** Refuse a changed key: the stored key stays (and stays verified if it was); sending is unblocked. */
  refuseKey: method<[a: { name: string }], ContactView>(),
  /** Message requests, newest first. */
  requests: method<[], RequestView[]>(passive),
  /** Accept a request: its name becomes a contact, its messages the thread. */
  acceptRequest: method<[a: { name: string }], ContactView>(),
  deleteRequest: method<[a: { name: string }], RequestView[]>(),
  /** Block a name: its request is dropped and its messages are dropped on receipt. Returns the block list. */
  block: method<[a: { name: string }], string[]>(),
  unblock: method<[a: { name: string }], string[]>(),
  blocked: method<[], string[]>(passive),
  settings: method<[], SettingsView>(passive),
  saveSettings: method<[a: SettingsView], SettingsView>(),
  exportBackup: method<[], string>(),
  deleteAccount: method<[a: { passphrase: string }], Status>(),
  touch: method<[], null>(),
  // ---- collectives (COLLECTIVES.md) ----
  /** My collectives (member or asked to join) with their counts as of the last poll. */
  collectives: method<[], CollectiveSummary[]>(passive),
  findCollective: method<[a: { name: string }], CollectiveView>(),
  /** `rule`: one, log2, sqrt, fixed:k or open. */
  createCollective: method<[a: { name: string; description: string; rule: string }], CollectiveView>(),
  askToJoin: method<[a: { name: string }], CollectiveView>(),
  /** Cancel the founding, request to join, vouch or expel vote under way; false if none, or it already reached the Operator. */
  cancelStep: method<[], boolean>(),
  /** Prove membership anonymously (2–4 s) and vouch for a candidate or member; refused if already vouched this round. */
  vouch: method<[a: { collective: string; name: string }], { vouches: number; needed: number; admitted: boolean }>(),
  leaveCollective: method<[a: { name: string }], CollectiveSummary[]>(),
  expelVote: method<[a: { collective: string; name: string }], { votes: number; needed: number; expelled: boolean }>(),
  vouchCounts: method<[a: { name: string }], VouchCountsView>(),
  // ---- posts and the feed (POSTS.md) ----
  /** Posts newest first (all my collectives, or `collective`, or `author`); `before` (an answer's `older`) for the page before. */
  feed: method<[a: { collective?: string; author?: string; before?: number }], FeedView>(passive),
  /** Post to a collective I am a member of (the same length limit as messages). */
  post: method<[a: { collective: string; text: string }], PostView>(),
  /** Delete my own post: the Operator drops it if still pending, a signed tombstone tells members' add-ons. */
  deletePost: method<[a: { id: string }], FeedView>(),
  /** Mark the feed (or one collective's) as read. */
  markFeedRead: method<[a: { collective?: string }], null>(),
};

/** Every request, as method signatures. */
export type Api = { [K in keyof typeof API]: (typeof API)[K] extends MethodSpec<infer A, infer R> ? (...a: A) => R : never };
/** True for the name of a request (the background's allow-list). */
export const isMethod = (x: unknown): x is Method => typeof x === 'string' && Object.hasOwn(API, x);

export type Method = keyof Api;
export type Args<K extends Method> = Parameters<Api[K]>;
export type Result<K extends Method> = ReturnType<Api[K]>;

/** A request on the wire between popup and background. */
export type Request = { [K in Method]: { type: K; args: Args<K> } }[Method];
/** A reply on the wire. */
export type Reply<T> = { ok: true; value: T } | { ok: false; error: string };

/** The methods the background implements. */
export type Handlers = { [K in Method]: (...args: Args<K>) => Promise<Result<K>> };

/** An error whose message is meant for the person using the add-on. */
export class UserError extends Error { constructor(message: string) { super(message); this.name = 'UserError'; } }
