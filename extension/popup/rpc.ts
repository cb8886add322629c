/**
 * The popup's side of the typed API: `call('send', { name, text })` returns the typed result
 * or throws an Error whose message is meant for the person.
 */
import browser from 'webextension-polyfill';
import type { Args, Method, Reply, Result } from '../api.ts';

/** Ask the background script; throws with its explanation on failure. */
export async function call<K extends Method>(type: K, ...args: Args<K>): Promise<Result<K>> {
  const reply = (await browser.runtime.sendMessage({ type, args })) as Reply<Result<K>> | undefined;
  if (!reply) throw new Error('The background script did not answer.');
  if (!reply.ok) throw new Error(reply.error);
  return reply.value;
}

/**
 * The conversation list, asked for as the popup starts — alongside `status`, not after it — so
 * that an unlocked popup shows its inbox one round trip sooner. Taken once by the inbox's first
 * load; when the vault is locked the answer is an error and the inbox asks again once unlocked.
 */
const early = { inbox: call('inbox').catch(() => undefined) as Promise<Result<'inbox'> | undefined> | undefined };
/** The inbox's first answer if it was asked for early and came, else a fresh request. */
export async function inboxNow(): Promise<Result<'inbox'>> {
  const p = early.inbox;
  early.inbox = undefined;
  return (p && (await p)) ?? call('inbox');
}

/**
 * Ask the background to tell this popup when something arrived (a port named `live`; the held
 * fetches of background/live.ts run whether it is open or not) and call `changed` then. Closing
 * the popup closes the port. Returns a function that closes it sooner.
 */
export function liveUpdates(changed: () => void): () => void {
  const port = browser.runtime.connect({ name: 'live' });
  port.onMessage.addListener(() => changed());
  return () => port.disconnect();
}

/** A rough passphrase strength hint: bits from length and character classes. */
export function strength(p: string): { label: 'empty' | 'weak' | 'fair' | 'strong'; bits: number } {
  if (!p) return { label: 'empty', bits: 0 };
  const pool = (/[a-z]/.test(p) ? 26 : 0) + (/[A-Z]/.test(p) ? 26 : 0) + (/[0-9]/.test(p) ? 10 : 0) + (/[^a-zA-Z0-9]/.test(p) ? 33 : 0);
  const bits = Math.round(p.length * Math.log2(Math.max(pool, 2)));
  return { label: p.length < 10 || bits < 50 ? 'weak' : bits < 80 ? 'fair' : 'strong', bits };
}

const shortTime = new Intl.DateTimeFormat([], { dateStyle: 'short', timeStyle: 'short' });
/** Local time of a message, short (one formatter for all: making one per call cost ~0.3 ms a row). */
export const when = (t: number): string => shortTime.format(t);

/** What the person typed as an Operator address, judged as they type (client-side only: whether it is up is checked later). */
export function checkOperator(raw: string, loopback = false): { ok: boolean; message: string } {
  const a = raw.trim().toLowerCase();
  if (!a) return { ok: false, message: '' };
  if (loopback && /^http:\/\/(127\.0\.0\.1|localhost)(:\d{1,5})?\/?$/.test(a)) return { ok: true, message: 'A loopback Operator on this computer (developers only).' };
  const host = a.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const label = host.replace(/\.onion$/, '');
  if (/[^a-z2-7]/.test(label)) return { ok: false, message: 'An onion address has only the letters a–z and the digits 2–7, then “.onion”.' };
  if (label.length !== 56) return { ok: false, message: `An onion address has 56 characters before “.onion”: this one has ${label.length}.` };
  if (!host.endsWith('.onion')) return { ok: false, message: 'The address ends in “.onion”.' };
  return { ok: true, message: 'This looks like an onion address.' };
}

/** Svelte action: focus this element when it appears (the first field of a screen). */
export function autofocus(node: HTMLElement, on = true) {
  if (on) queueMicrotask(() => node.focus());
}

/** The longest message (protocol/message.ts MAX_TEXT; the popup does not import the protocol's schemas). */
export const MAX_TEXT = 10_000;

/** Unsent text per conversation, kept while the popup is open (going back does not lose it). */
export const drafts = new Map<string, string>();

/** The disappearing-messages timers offered (seconds, label), as extension/background/state.ts allows them. */
export const DISAPPEAR: [number, string][] = [[0, 'off'], [300, '5 minutes'], [3_600, '1 hour'], [28_800, '8 hours'], [86_400, '1 day'], [604_800, '1 week'], [2_419_200, '4 weeks']];
/** A timer's words: "1 day" (or the seconds, for one this popup does not offer). */
export const timerLabel = (s: number): string => DISAPPEAR.find(([v]) => v === s)?.[1] ?? `${s} seconds`;
