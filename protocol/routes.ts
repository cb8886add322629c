/**
 * The Operator's routes, each defined once (PROTOCOL.md §5): method, path, path parameters,
 * request and response schemas, and what the route touches for Tor circuit isolation (§1).
 * The Operator's router (operator/app.ts), the client (client.ts) and the add-on's circuit
 * keys (extension/background/circuits.ts) are all derived from this table.
 */
import { z } from 'zod';
import { Handle } from './address.ts';
import * as C from './collective.ts';
import { foldName } from './names.ts';
import * as P from './posts-wire.ts';
import * as RW from './requests-wait.ts';
import * as T from './transparency/wire.ts';
import * as W from './wire.ts';

/** One route of the API. `isolate` names the path parameter that says which mailbox or name a request touches. */
export interface Route {
  method: 'GET' | 'POST' | 'PUT';
  /** Path under the version prefix, with `:param` placeholders. */
  path: string;
  params: z.ZodType<Record<string, string>>;
  request?: z.ZodType;
  response: z.ZodType;
  isolate?: { param: string; kind: 'mailbox' | 'name' | 'cursor' };
  /** Largest request body this route reads (bytes); default LIMITS.bodyBytes. */
  bodyLimit?: number;
}

const none = z.strictObject({});
const mailbox = z.strictObject({ id: W.MailboxId });
const name = z.strictObject({ name: W.FoldedName });
const byMailbox = { param: 'id', kind: 'mailbox' } as const;
const byName = { param: 'name', kind: 'name' } as const;
const collective = z.strictObject({ collective: W.FoldedName });
/** A member or candidate in a collective: a name, or `name@<host>` for another Operator's komrade (COLLECTIVES.md §15). */
const collectiveAndName = z.strictObject({ collective: W.FoldedName, name: Handle.transform(foldName) });
const logFrom = z.strictObject({ collective: W.FoldedName, from: z.string().regex(/^(0|[1-9][0-9]{0,9})$/, 'from must be a sequence number') });
/** A collective's name lives in the name namespace: its routes share that name's circuit. */
const byCollective = { param: 'collective', kind: 'name' } as const;
/** A post cursor's reads and acks share a circuit of their own (the cursor is a pseudonym). */
const byCursor = { param: 'id', kind: 'cursor' } as const;

/** Every route of protocol v2, by name (the name is also the request counter's label). */
export const ROUTES = {
  /** §5.1 */ info: { method: 'GET', path: '/info', params: none, response: W.InfoResponse },
  /** §5.2 */ 'create-mailbox': { method: 'POST', path: '/mailboxes', params: none, request: W.CreateMailbox, response: W.OkResponse },
  // a deposit rides a circuit of its own (no `isolate`): never the circuit on which its mailbox's owner fetches, nor another deposit's (PROTOCOL.md §1)
  /** §5.3 */ deposit: { method: 'POST', path: '/mailboxes/:id/deposit', params: mailbox, request: W.Deposit, response: W.OkResponse },
  /** §5.4 */ fetch: { method: 'POST', path: '/mailboxes/:id/fetch', params: mailbox, request: W.Fetch, response: W.FetchResponse, isolate: byMailbox },
  /** §5.5 */ ack: { method: 'POST', path: '/mailboxes/:id/ack', params: mailbox, request: W.Ack, response: W.AckResponse, isolate: byMailbox },
  /** §5.6 */ 'delete-mailbox': { method: 'POST', path: '/mailboxes/:id/delete', params: mailbox, request: W.DeleteMailbox, response: W.OkResponse, isolate: byMailbox },
  /** §5.7 */ register: { method: 'POST', path: '/names', params: none, request: W.Register, response: W.OkResponse },
  /** §5.8 */ lookup: { method: 'GET', path: '/names/:name', params: name, response: T.LookupResponse, isolate: byName },
  /** §5.9 */ replace: { method: 'PUT', path: '/names/:name', params: name, request: W.Replace, response: W.OkResponse, isolate: byName },
  /** §5.10 */ 'delete-name': { method: 'POST', path: '/names/:name/delete', params: name, request: W.DeleteName, response: W.OkResponse, isolate: byName },
  /** §5.12 */ available: { method: 'GET', path: '/names/:name/available', params: name, response: W.AvailableResponse, isolate: byName },
  // the key-transparency log (§5.11): no isolation key, each rides a circuit of its own
  'log-checkpoint': { method: 'GET', path: '/log/checkpoint', params: none, response: T.CheckpointResponse },
  'log-consistency': { method: 'GET', path: '/log/consistency/:from/:to', params: T.ConsistencyParams, response: T.ConsistencyResponse },
  'log-entries': { method: 'GET', path: '/log/entries/:from', params: T.EntriesParams, response: T.EntriesResponse },
  'log-index': { method: 'GET', path: '/log/index/:name', params: name, response: T.IndexResponse },
  // collectives (COLLECTIVES.md §10); vouches and expel votes carry no isolation key: each rides a circuit of its own
  'vouch-counts': { method: 'GET', path: '/names/:name/vouches', params: name, response: C.VouchCounts, isolate: byName },
  'create-collective': { method: 'POST', path: '/collectives', params: none, request: C.CreateCollective, response: C.CreateCollectiveResponse },
  'get-collective': { method: 'GET', path: '/collectives/:collective', params: collective, response: C.CollectiveInfo, isolate: byCollective },
  tree: { method: 'GET', path: '/collectives/:collective/tree', params: collective, response: C.TreeResponse, isolate: byCollective },
  log: { method: 'GET', path: '/collectives/:collective/log/:from', params: logFrom, response: C.LogResponse, isolate: byCollective },
  'wait-log': { method: 'POST', path: '/collectives/:collective/log/:from/wait', params: logFrom, request: C.WaitLog, response: C.LogResponse, isolate: byCollective },
  'list-requests': { method: 'GET', path: '/collectives/:collective/requests', params: collective, response: C.RequestsResponse, isolate: byCollective },
  'wait-requests': { method: 'POST', path: '/collectives/:collective/requests/wait', params: collective, request: RW.WaitRequests, response: C.RequestsResponse, isolate: byCollective },
  member: { method: 'GET', path: '/collectives/:collective/members/:name', params: collectiveAndName, response: C.MemberInfo, isolate: byCollective },
  join: { method: 'POST', path: '/collectives/:collective/requests', params: collective, request: C.Join, response: C.JoinResponse, isolate: byCollective },
  vouch: { method: 'POST', path: '/collectives/:collective/vouches/:name', params: collectiveAndName, request: C.ProofBody, response: C.VouchResponse },
  expel: { method: 'POST', path: '/collectives/:collective/members/:name/expel', params: collectiveAndName, request: C.ProofBody, response: C.ExpelResponse },
  leave: { method: 'POST', path: '/collectives/:collective/members/:name/leave', params: collectiveAndName, request: C.Leave, response: C.LeaveResponse, isolate: byCollective },
  move: { method: 'POST', path: '/collectives/:collective/members/:name/move', params: collectiveAndName, request: C.Move, response: C.LeaveResponse, isolate: byCollective },
  // posts (POSTS.md §6); opening an epoch or a cursor and posting carry no isolation key: each rides a circuit of its own
  'open-epoch': { method: 'POST', path: '/collectives/:collective/epochs', params: collective, request: P.OpenEpoch, response: P.OpenEpochResponse },
  'current-epoch': { method: 'GET', path: '/collectives/:collective/epochs/current', params: collective, response: P.CurrentEpoch, isolate: byCollective },
  'upload-keys': { method: 'POST', path: '/collectives/:collective/epochs/:epoch/keys', params: P.EpochParams, request: P.UploadKeys, response: P.UploadKeysResponse, bodyLimit: P.KEYS_BODY_BYTES },
  'fetch-keys': { method: 'GET', path: '/collectives/:collective/epochs/:epoch/keys/:prekey', params: P.KeyParams, response: P.KeysResponse, isolate: byCollective },
  post: { method: 'POST', path: '/collectives/:collective/posts', params: collective, request: P.NewPost, response: P.NewPostResponse },
  'delete-post': { method: 'POST', path: '/collectives/:collective/posts/:seq/delete', params: P.PostParams, request: P.DeletePost, response: P.DeletePostResponse },
  'open-cursor': { method: 'POST', path: '/collectives/:collective/cursors', params: collective, request: P.OpenCursor, response: P.OpenCursorResponse },
  'read-cursor': { method: 'POST', path: '/collectives/:collective/cursors/:id/read', params: P.CursorParams, request: P.ReadCursor, response: P.ReadCursorResponse, isolate: byCursor },
  'ack-cursor': { method: 'POST', path: '/collectives/:collective/cursors/:id/ack', params: P.CursorParams, request: P.AckCursor, response: P.AckCursorResponse, isolate: byCursor },
} as const satisfies Record<string, Route>;

/** A route's name. */
export type RouteName = keyof typeof ROUTES;
/** The path parameters a route's handler sees (names folded). */
export type ParamsOf<N extends RouteName> = z.output<(typeof ROUTES)[N]['params']>;
/** The path parameters a client sends. */
export type ParamsIn<N extends RouteName> = z.input<(typeof ROUTES)[N]['params']>;
/** The request body a route takes (undefined for GET). */
export type RequestOf<N extends RouteName> = (typeof ROUTES)[N] extends { request: z.ZodType } ? z.infer<(typeof ROUTES)[N]['request']> : undefined;
/** The response body a route answers with. */
export type ResponseOf<N extends RouteName> = z.infer<(typeof ROUTES)[N]['response']>;

/** The full path of a route with its parameters filled in (URI-encoded). */
export function pathOf(route: Route, params: Record<string, string>): string {
  return W.PREFIX + route.path.replace(/:([a-z]+)/g, (_, p: string) => encodeURIComponent(params[p] ?? ''));
}

const patterns = Object.entries(ROUTES).map(([routeName, r]) => ({
  name: routeName as RouteName, route: r as Route,
  regex: new RegExp(`^${W.PREFIX}${r.path.replace(/:[a-z]+/g, '([^/]+)')}$`),
  keys: [...r.path.matchAll(/:([a-z]+)/g)].map((m) => m[1]!),
}));

/** The route a method and path name, with its (decoded) parameters; undefined if none. Any method when `method` is omitted. */
export function matchRoute(path: string, method?: string): { name: RouteName; route: Route; params: Record<string, string> } | undefined {
  for (const p of patterns) {
    if (method && p.route.method !== method) continue;
    const m = p.regex.exec(path);
    if (!m) continue;
    try {
      return { name: p.name, route: p.route, params: Object.fromEntries(p.keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)])) };
    } catch { return undefined; } // malformed %-encoding
  }
  return undefined;
}
