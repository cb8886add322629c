/**
 * Komrade and collective addresses across Operators (PROTOCOL.md §11, "Addressing across
 * Operators"): `@name` on one's own home Operator and `@name@<host>` everywhere else, where the
 * host is the Operator's v3 onion (`@bob@<56 chars>.onion`) or, in developer mode only, a
 * loopback `127.x.y.z[:port]` / `localhost[:port]`. An Operator is kept as its URL origin
 * (`http://<host>`), as the Operator address setting keeps it.
 */
import { z } from 'zod';
import { foldName, type FoldedName } from './names.ts';
import { isV3Onion } from './onion.ts';

/** An address that does not parse: the message is meant for the person. */
export class AddressError extends Error {
  constructor(message: string) { super(message); this.name = 'AddressError'; }
}

/** A komrade (or collective) at an Operator: the folded name and the Operator's origin. */
export interface Address { name: FoldedName; operator: string }

const NAME = /^[a-z0-9_]{3,32}$/;
const ONION_HOST = /^[a-z2-7]{56}\.onion(:\d{1,5})?$/;
const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost)(:\d{1,5})?$/;

/** The shape of an Operator origin on the wire (a message's `home`); `checkOperator` decides whether it is acceptable. */
export const OperatorOrigin = z.string().max(80).regex(/^http:\/\/([a-z2-7]{56}\.onion(:\d{1,5})?|(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost)(:\d{1,5})?)$/, 'an Operator origin');

/** The host an address writes for an Operator origin (`http://x.onion` → `x.onion`). */
export function operatorHost(origin: string): string {
  return origin.replace(/^http:\/\//, '');
}

/**
 * The Operator origin for a host as written in an address: a v3 onion (checksum verified), or a
 * loopback host with its port when `allowLoopback` (developer mode); anything else throws.
 */
export function operatorFromHost(host: string, allowLoopback: boolean): string {
  const h = host.trim().toLowerCase();
  if (ONION_HOST.test(h)) {
    if (!isV3Onion(h.replace(/:\d+$/, ''))) throw new AddressError('Not a valid v3 onion address (56 characters, checksum must match).');
    return checkPort(h);
  }
  if (LOOPBACK_HOST.test(h)) {
    if (!allowLoopback) throw new AddressError('A loopback Operator needs the developer option.');
    if (h.startsWith('127.') && h.split(':')[0]!.split('.').some((n) => Number(n) > 255)) throw new AddressError('That is not an address.');
    return checkPort(h);
  }
  throw new AddressError('An Operator is named by its onion address (…onion): Komrade never talks to an Operator outside Tor.');
}

function checkPort(h: string): string {
  const port = /:(\d+)$/.exec(h)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw new AddressError('That port is not a port.');
  // http's own port is left out, as a URL origin leaves it out
  return `http://${port === '80' ? h.replace(/:80$/, '') : h}`;
}

/** True if `origin` is an Operator origin an address may name (the check of `operatorFromHost`). */
export function checkOperator(origin: string, allowLoopback: boolean): boolean {
  if (!OperatorOrigin.safeParse(origin).success) return false;
  try { return operatorFromHost(operatorHost(origin), allowLoopback) === origin; } catch { return false; }
}

/**
 * Parse an address as a person types it: `@bob`, `bob` (on `home`), `@bob@<onion>`,
 * `bob@<onion>`; the Operator is `home` when none is named. Throws an AddressError.
 */
export function parseAddress(text: string, o: { home: string; allowLoopback: boolean }): Address {
  const t = text.trim();
  if (t.length > 200) throw new AddressError('That address is too long.');
  const parts = t.replace(/^@/, '').split('@');
  if (parts.length > 2) throw new AddressError('An address is @name or @name@operator.onion.');
  const name = foldName(parts[0]!);
  if (!NAME.test(name)) throw new AddressError('A name is 3 to 32 letters a–z, digits or _.');
  if (parts.length === 1) return { name, operator: o.home };
  return { name, operator: operatorFromHost(parts[1]!, o.allowLoopback) };
}

/** An address as the popup shows it: `@bob` on `home`, `@bob@<host>` elsewhere. */
export function formatAddress(a: { name: string; operator?: string }, home: string): string {
  return `@${handleOf(a, home)}`;
}

/**
 * The handle a komrade is kept under (contacts, threads, requests, the block list): the folded
 * name on `home` (so vaults from before stay as they are), `name@<host>` elsewhere. Two komrades
 * of one name on two Operators are two handles.
 */
export function handleOf(a: { name: string; operator?: string }, home: string): string {
  const name = foldName(a.name);
  return a.operator === undefined || a.operator === home ? name : `${name}@${operatorHost(a.operator)}`;
}

/** A handle's name and Operator (`home` for a bare name); the inverse of `handleOf` for handles it made. */
export function splitHandle(handle: string, home: string): Address {
  const at = handle.indexOf('@');
  return at < 0 ? { name: foldName(handle), operator: home } : { name: foldName(handle.slice(0, at)), operator: `http://${handle.slice(at + 1)}` };
}

/** A handle's shape in stored records: a name, or a name and the host of its Operator. */
export const Handle = z.string().max(120).regex(/^[A-Za-z0-9_]{3,32}(@([a-z2-7]{56}\.onion(:\d{1,5})?|(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost)(:\d{1,5})?))?$/, 'a name or name@operator');
