/**
 * Key-transparency state across a move of home (PROTOCOL.md §11.2, §11.5): the log state of our
 * home Operator is the record `transparency`, another Operator's `transparency@<host>`
 * (core/operators.ts). When the home changes, the old home's state is kept under its host and
 * the new home's becomes `transparency`. Safe to repeat until the account names the new home.
 */
import { z } from 'zod';
import { operatorHost } from '../../../protocol/address.ts';
import type { Store } from './store.ts';

const HOME = 'transparency';
const at = (operator: string) => `transparency@${operatorHost(operator)}`;

/** Keep the old home's log state under its host, and take the new home's as ours. */
export async function switchLogs(store: Store, from: string, to: string): Promise<void> {
  const any = z.unknown();
  const home = await store.r.get(HOME, any);
  // copied once: a repeat finds it already there (the old home had no `transparency@` record before)
  if (home !== undefined && (await store.r.get(at(from), any)) === undefined) await store.r.put(at(from), home);
  const next = await store.r.get(at(to), any);
  if (next !== undefined) await store.r.put(HOME, next);
  else if ((await store.r.get(at(from), any)) !== undefined) await store.r.remove(HOME);
}

/** The move is done: the copy of our new home's log state kept under its host is dropped (a later move away from it would take that stale copy for the state). */
export async function dropHomeCopy(store: Store, home: string): Promise<void> {
  await store.r.remove(at(home));
}
