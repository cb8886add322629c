/**
 * What every route handler of the Operator shares (PROTOCOL.md §4, §5): refusals as 4xx
 * `{ error }`, the signed-request check, and the handler's shape. Routes are defined once in
 * protocol/routes.ts; their handlers live in operator/routes/, one file per resource.
 */
import type { ParamsOf, RequestOf, ResponseOf, RouteName } from '../protocol/routes.ts';
import * as W from '../protocol/wire.ts';
import type { Holds } from './holds.ts';
import type { Spends, Store } from './store/index.ts';
import { checkAuth } from './verify.ts';

/** Operator settings the API needs. */
export interface AppConfig {
  /** Proof-of-work bits to register a name (§5.7), create a mailbox (§5.2), deposit into an intro mailbox (§5.3). */
  powBits: number; mailboxPowBits: number; depositPowBits: number;
  ttlMs: number; maxBlobsPerMailbox: number; maxBytesPerMailbox: number;
  /** Developer mode: a join request may name a loopback home Operator (`name@127.0.0.1:port`, COLLECTIVES.md §15); default off (onions only). */
  allowLoopbackHomes?: boolean;
}

/** Refuse the request: answered as `status` with `{ error: reason }`; nothing has changed. */
export function fail(status: number, reason: string): never {
  throw Object.assign(new Error(reason), { status, expose: true });
}

/** What a handler may use. */
export interface Deps {
  store: Store;
  config: AppConfig;
  now(): number;
  /** This request's spent nonces: pass to the store's write that carries the request's action. */
  spends: Spends;
  /** Check a signed request (§4): signed by `key` over this statement, fresh, nonce never seen (then spent into `spends`). */
  authorize(key: string, auth: W.Auth, action: W.Action, target: string, payload?: string): Promise<void>;
  /** The Operator's held reads (holds.ts, §5.4). */
  holds: Holds;
  /** Aborted when this request's client goes away before its answer. */
  signal: AbortSignal;
}

/** A route's handler: validated parameters and body in, the response body (and a status for 201) out. */
export type Handler<N extends RouteName> = (
  req: { params: ParamsOf<N>; body: RequestOf<N> }, deps: Deps,
) => Promise<{ status?: 200 | 201; body: ResponseOf<N> }>;

/** Handlers for some routes. */
export type Handlers<N extends RouteName> = { [K in N]: Handler<K> };

/** The `authorize` of one request's `Deps` over a store and a clock: its nonce is spent into `spends`. */
export function authorizer(store: Store, now: () => number, spends: Spends): Deps['authorize'] {
  return async (key, auth, action, target, payload = '') => {
    if (!checkAuth(key, auth, action, target, payload)) fail(401, 'bad signature');
    if (Math.abs(now() - auth.ts) > W.LIMITS.replayWindowMs) fail(403, 'stale request time');
    if (!(await store.spendNonce(auth.nonce, auth.ts + W.LIMITS.replayWindowMs, spends))) fail(403, 'replayed request');
  };
}
