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

/** A rough passphrase strength hint: bits from length and character classes. */
export function strength(p: string): { label: 'empty' | 'weak' | 'fair' | 'strong'; bits: number } {
  if (!p) return { label: 'empty', bits: 0 };
  const pool = (/[a-z]/.test(p) ? 26 : 0) + (/[A-Z]/.test(p) ? 26 : 0) + (/[0-9]/.test(p) ? 10 : 0) + (/[^a-zA-Z0-9]/.test(p) ? 33 : 0);
  const bits = Math.round(p.length * Math.log2(Math.max(pool, 2)));
  return { label: p.length < 10 || bits < 50 ? 'weak' : bits < 80 ? 'fair' : 'strong', bits };
}

/** Local time of a message, short. */
export const when = (t: number): string => new Date(t).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
