/**
 * The Operator address setting: only a v3 onion (`http://<56 base32 chars>.onion`, with its
 * checksum verified), or, when the developer option is on, a loopback URL. Never clearnet.
 */
import { isV3Onion } from '../../protocol/onion.ts';
import { UserError } from '../api.ts';

export { isV3Onion, onionFromKey } from '../../protocol/onion.ts';

/**
 * Normalise and check an Operator address. Returns the URL origin (no trailing slash) or
 * throws a UserError, whose message is meant for the person.
 */
export function checkOperatorAddress(input: string, allowLoopback: boolean): string {
  const text = input.trim().toLowerCase();
  const withScheme = /^[a-z]+:\/\//.test(text) ? text : `http://${text}`;
  let url: URL;
  try { url = new URL(withScheme); } catch { throw new UserError('That is not an address.'); }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) throw new UserError('Give only the address, like http://…onion');
  if (url.hostname.endsWith('.onion')) {
    if (url.protocol !== 'http:') throw new UserError('Use http:// for an onion address (Tor already encrypts it).');
    if (!isV3Onion(url.hostname)) throw new UserError('Not a valid v3 onion address (56 characters, checksum must match).');
    return url.origin;
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (loopback && allowLoopback && url.protocol === 'http:') return url.origin;
  if (loopback) throw new UserError('Loopback addresses need the developer option.');
  throw new UserError('Only onion addresses: Komrade never talks to the Operator outside Tor.');
}
