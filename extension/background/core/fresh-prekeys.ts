/**
 * Forward secrecy per round trip (END-TO-END.md §6, PROTOCOL.md §7): every envelope we send to a
 * contact carries a prekey of ours made for that contact alone, a fresh one once the contact has
 * used the one before (a round trip); the contact seals its next envelopes to the newest it
 * received. Once the contact has used a newer one, the older private prekeys are superseded:
 * kept PREKEY_IN_FLIGHT_MS for envelopes already on their way (and at most
 * PREKEY_SUPERSEDED_MAX of them), then erased by rewriting the record `prekeys/<name>` without
 * them. Their ids are remembered (not the keys), so that every envelope sealed to one is
 * counted in the thread instead of vanishing.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { b64, randomBytes, unb64 } from '../../../protocol/bytes.ts';
import { KeyPair, privateKey, type PrivateKey } from '../../../protocol/themis.ts';
import { ContactPrekeys, type Contact } from '../state.ts';
import { K, type Store } from './store.ts';

/** How long a superseded prekey is kept for envelopes already on their way (an hour: a minute's poll and retries many times over). */
export const PREKEY_IN_FLIGHT_MS = 60 * 60_000;
/** At most this many superseded prekeys are kept per contact (the oldest go first). */
export const PREKEY_SUPERSEDED_MAX = 20;
/** At most this many prekeys not yet used by the contact are kept (the contact uses the newest it got). */
export const PREKEY_UNUSED_MAX = 50;
/** How many erased ids are remembered per contact. */
const ERASED_IDS = 100;
/** How many digests of envelopes sealed to an erased prekey are remembered per contact (replays not counted twice). */
const UNOPENED_DIGESTS = 200;

const key = K.prekeys;
const PREFIX = K.prekeys('');

async function load(store: Store, name: string): Promise<ContactPrekeys> {
  return (await store.r.get(key(name), ContactPrekeys)) ?? { mine: [], erased: [] };
}
/** Write the record; an empty one is removed (its slot erased). */
function save(store: Store, name: string, p: ContactPrekeys): Promise<void> {
  return p.mine.length || p.erased.length ? store.r.put(key(name), p) : store.r.remove(key(name));
}

/**
 * The prekey of ours the next envelope to `name` carries (what the envelope's body carries): the
 * newest made for that contact while the contact has not used it yet, else a fresh one. One per
 * round trip, not per envelope: a long queue to a contact offers one prekey, so the caps below
 * never erase one that the contact's own queued envelopes are sealed to.
 */
export async function prekeyToOffer(store: Store, name: string, now: number): Promise<{ id: string; key: string }> {
  const p = await load(store, name);
  const newest = p.mine.at(-1);
  if (newest && newest.id !== p.used && newest.superseded === undefined) return { id: newest.id, key: newest.pub };
  const k = new KeyPair();
  const made = { id: b64(randomBytes(8)), priv: b64(k.privateKey), pub: b64(k.publicKey), created: now };
  p.mine.push(made);
  prune(p, now);
  await save(store, name, p);
  return { id: made.id, key: made.pub };
}

/** The private prekey of ours with this id, and the contact it was made for; undefined if none is kept. */
export async function findPrekey(store: Store, id: string): Promise<{ contact: string; id: string; key: PrivateKey } | undefined> {
  for (const name of await contactsWithPrekeys(store)) {
    const mine = (await store.r.peek(key(name), ContactPrekeys))?.mine.find((m) => m.id === id);
    if (mine) return { contact: name, id, key: privateKey(unb64(mine.priv)) };
  }
  return undefined;
}

/**
 * The contact an erased prekey of ours was made for, if this envelope (by its digest) was not
 * counted yet: each distinct envelope counts once, a replay of the same blob not again.
 */
async function erasedFor(store: Store, id: string, blob: Uint8Array): Promise<string | undefined> {
  const digest = b64(sha256(blob).slice(0, 16));
  for (const name of await contactsWithPrekeys(store)) {
    const p = (await store.r.peek(key(name), ContactPrekeys))!;
    if (!p.erased.includes(id)) continue;
    if (p.unopened?.includes(digest)) return undefined;
    const next = structuredClone(p) as ContactPrekeys;
    next.unopened = [...(next.unopened ?? []), digest].slice(-UNOPENED_DIGESTS);
    await save(store, name, next);
    return name;
  }
  return undefined;
}

/**
 * An envelope came sealed to a prekey of ours already erased: if we made it for a contact, a
 * notice in that contact's thread says so, counting every distinct envelope (consecutive ones
 * share one notice, with a count): none is acknowledged without a trace. Its text cannot be read
 * by anyone any more: that is the point.
 */
export async function explainErased(store: Store, id: string, blob: Uint8Array, now: number): Promise<void> {
  const name = await erasedFor(store, id, blob);
  const c = name === undefined ? undefined : await store.contact(name);
  if (!c) return;
  const last = await store.lastMessage(c);
  if (last.m?.notice === 'erased') { last.m.count = (last.m.count ?? 1) + 1; last.m.t = now; await store.putChunk(c.name, last.n, last.ch); }
  else await store.append(c, { id: `erased-${b64(randomBytes(12))}`, dir: 'in', text: '', t: now, state: 'received', notice: 'erased', count: 1 });
}

/**
 * The contact (verified: the envelope was signed by its stored key) used our prekey `id`: every
 * older one is superseded from now, and what is past its grace is erased.
 */
export async function noteUsed(store: Store, name: string, id: string, now: number): Promise<void> {
  const p = await load(store, name);
  const at = p.mine.findIndex((m) => m.id === id);
  if (at < 0) return;
  const before = JSON.stringify(p);
  if (at > p.mine.findIndex((m) => m.id === p.used)) p.used = id;
  const used = p.mine.findIndex((m) => m.id === p.used);
  for (const m of p.mine.slice(0, used)) m.superseded ??= now;
  prune(p, now);
  if (JSON.stringify(p) !== before) await save(store, name, p);
}

/** Erase, for every contact, the superseded prekeys past their grace (each poll). */
export async function erasePastGrace(store: Store, now: number): Promise<void> {
  for (const name of await contactsWithPrekeys(store)) {
    const p = (await store.r.peek(key(name), ContactPrekeys))!;
    if (!p.mine.some((m) => m.superseded !== undefined && now - m.superseded >= PREKEY_IN_FLIGHT_MS)) continue;
    const next = structuredClone(p) as ContactPrekeys;
    prune(next, now);
    await save(store, name, next);
  }
}

/** Take a prekey the contact sent, unless one from a later envelope (by its time) is already kept; true if taken. */
export function adoptPrekey(c: Contact, prekey: Contact['prekey'], t: number): boolean {
  if (c.prekeyAt !== undefined && t < c.prekeyAt) return false;
  c.prekey = prekey;
  c.prekeyAt = t;
  return true;
}

/** Forget every prekey made for a contact (its record erased). */
export function forgetPrekeys(store: Store, name: string): Promise<void> { return store.r.remove(key(name)); }

/** Drop what is past its grace, the superseded beyond the cap, and the oldest unused beyond theirs. */
function prune(p: ContactPrekeys, now: number): void {
  const superseded = p.mine.filter((m) => m.superseded !== undefined);
  const unused = p.mine.filter((m) => m.superseded === undefined && m.id !== p.used);
  const drop = new Set([
    ...superseded.filter((m, i) => now - m.superseded! >= PREKEY_IN_FLIGHT_MS || i < superseded.length - PREKEY_SUPERSEDED_MAX),
    ...unused.slice(0, Math.max(0, unused.length - PREKEY_UNUSED_MAX)),
  ]);
  if (!drop.size) return;
  p.mine = p.mine.filter((m) => !drop.has(m));
  p.erased = [...p.erased, ...[...drop].map((m) => m.id)].slice(-ERASED_IDS);
}

async function contactsWithPrekeys(store: Store): Promise<string[]> {
  return [...(await store.r.keys())].filter((k) => k.startsWith(PREFIX)).map((k) => k.slice(PREFIX.length));
}
