/**
 * Which Operator holds what (PROTOCOL.md §11, "Addressing across Operators"): a contact's home
 * Operator (ours unless the contact record names another), and look-ups and gossip checked at
 * that Operator. Key transparency is per home Operator: transparency.ts keeps one record
 * (`transparency`) for the Operator it is given; for another Operator its state is kept under
 * `transparency@<host>` by handing it a view of the store whose records map that one key, and
 * the account's `logs` lists those Operators (for their alarms).
 */
import { operatorHost } from '../../../protocol/address.ts';
import type { SignedRecord } from '../../../protocol/wire.ts';
import type { Records } from '../records.ts';
import type { Account } from '../state.ts';
import type { Ctx } from './ctx.ts';
import type { Store } from './store.ts';
import { alarms, checkForeign, verifiedLookup, type LogAlarm } from './transparency.ts';

/** The home Operator (an origin) of a contact or request: its own if it names one, else ours. */
export const operatorOf = (c: { operator?: string }, a: Account): string => c.operator ?? a.operator;

/** What a contact or request keeps as its `operator`: nothing when it is ours (records from before stay as they are). */
export const foreign = (operator: string, a: Account): { operator?: string } => (operator === a.operator ? {} : { operator });

/** The store as transparency.ts should see it for `operator`: ours as it is, another's log state under its own record. */
export function logStore(store: Store, operator: string, home: string): Store {
  if (operator === home) return store;
  const key = (k: string) => (k === 'transparency' ? `transparency@${operatorHost(operator)}` : k);
  const r: Records = Object.create(store.r);
  r.get = (k, schema) => store.r.get(key(k), schema);
  r.peek = (k, schema) => store.r.peek(key(k), schema);
  r.put = async (k, v) => { if (k === 'transparency') await note(store, operator); await store.r.put(key(k), v); };
  r.remove = (k) => store.r.remove(key(k));
  const view: Store = Object.create(store);
  Object.defineProperty(view, 'r', { value: r });
  return view;
}

/** Look `name` up at `operator` and check its log proof against what we keep for that Operator. */
export async function lookupAt(ctx: Ctx, store: Store, operator: string, name: string): Promise<SignedRecord> {
  const home = (await store.account()).operator;
  return verifiedLookup(ctx, logStore(store, operator, home), ctx.client(operator), name);
}

/** Check a checkpoint a komrade of `operator` gossiped (their home's log) against what we keep for that Operator. */
export async function checkGossipAt(ctx: Ctx, store: Store, operator: string, note: string, from: string): Promise<void> {
  const home = (await store.account()).operator;
  await checkForeign(ctx, logStore(store, operator, home), ctx.client(operator), note, from);
}

/** Note in the account (`logs`) another Operator whose log state we keep, for its alarms. */
async function note(store: Store, operator: string): Promise<void> {
  const a = await store.account();
  if (!a.logs?.includes(operator)) await store.putAccount({ ...a, logs: [...(a.logs ?? []), operator] });
}

/** Key-transparency alarms of our Operator and of every other Operator we looked a komrade up at (each message names that Operator), oldest first. */
export async function alarmsEverywhere(store: Store): Promise<LogAlarm[]> {
  const home = (await store.account()).operator, out = await alarms(store);
  for (const op of (await store.account()).logs ?? []) {
    for (const a of await alarms(logStore(store, op, home))) out.push({ ...a, message: `the Operator ${operatorHost(op)}: ${a.message}` });
  }
  return out.sort((x, y) => x.t - y.t);
}
