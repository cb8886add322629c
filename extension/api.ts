/**
 * The typed message API between the popup and the background script. The popup sends
 * `{ type, args }` with `browser.runtime.sendMessage`; the background answers
 * `{ ok: true, value }` or `{ ok: false, error }`. The popup never receives a private key:
 * every view type below is built from public data and plaintext only.
 */

/** Where the app is. `no-wasm`: wasm-themis could not load; nothing can work. */
export type Phase = 'no-wasm' | 'new' | 'locked' | 'unlocked';

/** What the status line and the router need. */
export interface Status {
  phase: Phase;
  wasmError?: string;
  name?: string;
  unread: number;
  operator?: { address: string; reachable: boolean | null; lastCheck: number | null; error?: string };
  /** Outgoing messages not yet deposited. */
  queued: number;
  /** One Tor circuit per mailbox, or one shared by all (the browser's proxy is not Tor's SOCKS5); unknown before a request. */
  circuits?: 'per-mailbox' | 'shared';
}

/** One's own identity, as shown for comparison. */
export interface MeView { name: string; safetyWords: string[]; safetyNumber: string }

/** A contact as the popup sees it. */
export interface ContactView {
  name: string; safetyWords: string[]; safetyNumber: string; verified: boolean;
  /** A changed key is waiting to be accepted or refused; sending is blocked and `verified` is false meanwhile. */
  keyChanged?: { safetyWords: string[]; safetyNumber: string };
  unread: number;
}

/** A conversation in the inbox list. */
export interface ConversationView { name: string; unread: number; last?: { text: string; t: number; dir: 'in' | 'out' }; keyChanged: boolean }

/** A message in a thread. */
export interface MessageView {
  id: string; dir: 'in' | 'out'; text: string; t: number; state: 'queued' | 'sent' | 'received' | 'failed';
  /** Signed by a changed key (the directory vouched for it). */
  newKey?: boolean;
  /** Signed by the stored key while a key change was pending. */
  oldKey?: boolean;
  /** Not a message: forged envelopes for this name were refused (`count` of them); `text` is empty. */
  notice?: 'forged'; count?: number;
}

/** A thread: the contact and its messages, oldest first. */
export interface ThreadView { contact: ContactView; messages: MessageView[] }

/** Settings as edited in the popup. */
export interface SettingsView { operator: string; pollSeconds: number; notifications: boolean; autoLockMinutes: number; allowLoopback: boolean }

/** Every request the popup can make, with its argument and result. */
export interface Api {
  status(): Status;
  create(a: { operator: string; name: string; passphrase: string; allowLoopback?: boolean }): Status;
  restore(a: { backup: string; passphrase: string }): Status;
  unlock(a: { passphrase: string }): Status;
  lock(): Status;
  checkNow(): Status;
  inbox(): ConversationView[];
  thread(a: { name: string }): ThreadView;
  send(a: { name: string; text: string }): ThreadView;
  retry(): Status;
  addContact(a: { name: string }): ContactView;
  contacts(): { me: MeView; contacts: ContactView[] };
  setVerified(a: { name: string; verified: boolean }): ContactView;
  acceptKey(a: { name: string }): ContactView;
  /** Refuse a changed key: the stored key stays (and stays verified if it was); sending is unblocked. */
  refuseKey(a: { name: string }): ContactView;
  settings(): SettingsView;
  saveSettings(a: SettingsView): SettingsView;
  exportBackup(): string;
  deleteAccount(a: { passphrase: string }): Status;
  touch(): null;
}

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
