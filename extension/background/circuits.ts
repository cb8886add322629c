/**
 * One Tor circuit per mailbox (per Operator and mailbox, PROTOCOL.md §11). Tor (IsolateSOCKSAuth, on by default) never puts streams with
 * different SOCKS credentials on one circuit, and Firefox never shares a keep-alive connection
 * between them. Without this, every request of one add-on rides one circuit (Tor Browser
 * isolates by first-party site, and an add-on is one "site"), so the Operator, which can see
 * circuits (HiddenServiceExportCircuitID), could group all of a person's mailboxes and learn
 * who talks to whom. Here the add-on hands each request to its Operator a SOCKS username
 * derived from what the request touches: the mailbox id (not for a deposit, which, like a
 * request that touches nothing, gets a fresh circuit: PROTOCOL.md §1), the directory name, or nothing
 * (a fresh circuit for that request alone). Pure functions; the browser glue is in main.ts.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { b64, concat, randomBytes, utf8 } from '../../protocol/bytes.ts';
import { matchRoute } from '../../protocol/routes.ts';

/** Where the browser's SOCKS proxy is (Tor's SocksPort, a TCP port or a Unix socket). */
export interface SocksEndpoint { host: string; port: number }

/**
 * The SOCKS5 endpoint from `browser.proxy.settings` (Tor Browser: manual, SOCKS 5, remote
 * DNS), or undefined when the browser is not set up that way (then requests are left alone).
 */
export function socksEndpoint(v: { proxyType?: string; socks?: string; socksVersion?: number; proxyDNS?: boolean } | undefined): SocksEndpoint | undefined {
  if (!v || v.proxyType !== 'manual' || v.socksVersion !== 5 || !v.proxyDNS || !v.socks) return undefined;
  // a Unix socket (Tor Browser on Linux and macOS): Firefox takes the file: URL as the host; the port is unused but must be > 0
  if (v.socks.startsWith('file://')) return { host: v.socks, port: 1 };
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(v.socks);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
}

/**
 * What a request to an Operator touches, as an isolation key (from the route table,
 * protocol/routes.ts): `<host> mailbox:<id>` for anything on one mailbox, `<host> name:<name>`
 * for a directory name, undefined for the rest (which then gets a circuit of its own). The host
 * is the Operator's: one circuit per (Operator, mailbox) (PROTOCOL.md §11), never one shared by
 * two Operators.
 */
export function isolationKey(url: string): string | undefined {
  const u = new URL(url);
  const hit = matchRoute(u.pathname);
  const iso = hit?.route.isolate;
  if (!hit || !iso) return undefined;
  const value = hit.params[iso.param]!;
  return `${u.host} ${iso.kind}:${iso.kind === 'name' ? value.toLowerCase() : value}`;
}

/** SOCKS credentials per isolation key, unlinkable to the key and new each browser session. */
export class Circuits {
  private readonly secret = randomBytes(32);

  /** The credentials for a request to `url`: the same for the same mailbox or name in this session. */
  credentials(url: string): { username: string; password: string } {
    const key = isolationKey(url) ?? `once:${b64(randomBytes(16))}`;
    return { username: b64(sha256(concat(this.secret, utf8(key)))).slice(0, 32), password: 'komrade' };
  }
}
