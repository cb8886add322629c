/**
 * Invites (PROTOCOL.md §10): one line of text that is also a link, sent by a komrade through
 * any channel. It carries the Operator's address and, optionally, who invited: their name and
 * their identity key's fingerprint, so that the newcomer's add-on can check the directory's
 * record against it before adding the inviter as a contact. Opened in a browser, the link shows
 * the Operator's root page (its fragment is never sent to the server).
 *
 *   http://<56 letters>.onion/#komrade-invite=1&from=<name>&key=<fingerprint>
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';
import { b64, unb64 } from './bytes.ts';
import { Name } from './wire.ts';

/** The invite format's version (the value of `komrade-invite`). */
export const INVITE_VERSION = 1;
/** The longest invite accepted, in characters (a full one is about 150). */
export const MAX_INVITE = 300;

/** An identity key's fingerprint: SHA-256 of the key's bytes, unpadded base64url (43 characters). */
export const Fingerprint = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'fingerprint must be 43 base64url characters');
/** An Operator's origin as an invite carries it: an onion, or loopback for development. */
const OperatorOrigin = z.string().regex(/^http:\/\/([a-z2-7]{56}\.onion|127\.0\.0\.1:\d{1,5}|localhost:\d{1,5})$/, 'operator must be an http onion origin');

/** An invite's fields: the Operator, and who invited (both name and key, or neither). */
export const Invite = z.strictObject({
  v: z.literal(INVITE_VERSION),
  operator: OperatorOrigin,
  from: z.strictObject({ name: Name, key: Fingerprint }).optional(),
});
export type Invite = z.infer<typeof Invite>;

/** The fingerprint of an identity public key given in base64 (as directory records carry it). */
export const fingerprint = (identityKeyB64: string): string => b64(sha256(unb64(identityKeyB64)));

/** The invite as one line (a link). */
export function formatInvite(i: Invite): string {
  const p = new URLSearchParams({ 'komrade-invite': String(i.v) });
  if (i.from) { p.set('from', i.from.name); p.set('key', i.from.key); }
  return `${i.operator}/#${p.toString()}`;
}

/** Read an invite from what a person pasted; undefined if it is not one (too long, not a link, a field wrong, an unknown version). */
export function parseInvite(text: string): Invite | undefined {
  const t = text.trim();
  if (!t || t.length > MAX_INVITE || /\s/.test(t)) return undefined;
  let url: URL;
  try { url = new URL(t); } catch { return undefined; }
  const p = new URLSearchParams(url.hash.slice(1));
  if (!p.has('komrade-invite') || (url.pathname !== '/' && url.pathname !== '') || url.search || url.username || url.password) return undefined;
  const known = new Set(['komrade-invite', 'from', 'key']);
  if ([...p.keys()].some((k) => !known.has(k)) || [...new Set(p.keys())].length !== [...p.keys()].length) return undefined;
  const from = p.has('from') || p.has('key') ? { name: p.get('from') ?? '', key: p.get('key') ?? '' } : undefined;
  const r = Invite.safeParse({ v: Number(p.get('komrade-invite')), operator: `${url.protocol}//${url.host}`, ...(from && { from }) });
  return r.success ? r.data : undefined;
}
