/**
 * Collectives across Operators (COLLECTIVES.md §15): which Operator holds a collective (ours
 * unless its record names another), what a person types for one (`@portland`,
 * `@portland@<onion>`), a member's handle in a collective (`bob` for a komrade of the
 * collective's Operator, `bob@<host>` for another's) and as we show it, and the members' check
 * of a candidate or member at their own home (their record, with its log proof, must carry the
 * key their join request names; anything else is an alarm and that person is skipped).
 */
import { AddressError, handleOf, parseAddress, splitHandle, type Address } from '../../../protocol/address.ts';
import { OperatorError } from '../../../protocol/client.ts';
import type { SignedRecord } from '../../../protocol/wire.ts';
import { UserError } from '../../api.ts';
import type { Account } from '../state.ts';
import { collectiveHandle } from '../collective-state.ts';
import type { Ctx } from './ctx.ts';
import { logStore, lookupAt, operatorOf } from './operators.ts';
import type { Store } from './store.ts';
import { LogAlarmError, memberAlarm } from './transparency.ts';

/** The Operator (origin) that holds a collective record: its own `operator`, else ours. */
export const collectiveOperator = (rec: { operator?: string }, a: Account): string => operatorOf(rec, a);

/** A collective as typed (`@portland`, `portland@<onion>`): its name and Operator; a UserError if it is not an address. */
export function parseCollective(text: string, a: Account): Address {
  try { return parseAddress(text, { home: a.operator, allowLoopback: a.settings.allowLoopback }); } catch (e) {
    if (e instanceof AddressError) throw new UserError(`${e.message.replace(/^A name/, 'A collective name')}`);
    throw e;
  }
}

/** The store key and shown handle of the collective `c` at `operator` (`portland`, or `portland@<host>`). */
export const handleAt = (c: string, operator: string, a: Account): string =>
  collectiveHandle(operator === a.operator ? { name: c } : { name: c, operator });

/** Our own handle in a collective held by `operator` (what our join request names, and the log then); after a move, the one its record keeps (§15.1). */
export const meIn = (a: Account, operator: string, rec?: { me?: string }): string => rec?.me ?? handleOf({ name: a.me.name, operator: a.operator }, operator);

/** A member's name and home Operator from their handle in a collective held by `operator`. */
export const homeOf = (member: string, operator: string): Address => splitHandle(member, operator);

/** A member's handle in a collective held by `operator`, as we show (and keep) it: short on our Operator, full elsewhere. */
export const shown = (member: string, operator: string, a: Account): string => handleOf(homeOf(member, operator), a.operator);

/** A handle as we show it back to the member's handle in a collective held by `operator`. */
export const inCollective = (handle: string, operator: string, a: Account): string => handleOf(splitHandle(handle, a.operator), operator);

/**
 * Check a candidate or member at their home (COLLECTIVES.md §15): look them up there with the
 * log proof, and require the identity key their join request (or the charter) names. A failed
 * check is kept as an alarm of that Operator and thrown (a `LogAlarmError`); an Operator out of
 * reach throws its own error (try again later).
 */
export async function checkAtHome(ctx: Ctx, store: Store, operator: string, member: string, key: string): Promise<SignedRecord> {
  const { name, operator: home } = homeOf(member, operator);
  const a = await store.account();
  const dir = await lookupAt(ctx, store, home, name).catch(async (e: unknown) => {
    if (e instanceof OperatorError && e.status === 404) {
      throw await memberAlarm(ctx, logStore(store, home, a.operator), ctx.client(home), name, 'a collective names this komrade, but their Operator has no such name');
    }
    throw e;
  });
  if (dir.record.identityKey !== key) {
    throw await memberAlarm(ctx, logStore(store, home, a.operator), ctx.client(home), name, 'a collective\'s join request names another identity key than their Operator\'s directory: not trusted');
  }
  return dir;
}

/** (collective's Operator, handle, key) checked at home this session: a moved member is looked up once, not at every read. */
const movedChecked = new Set<string>();

/**
 * Whether a handle a member moved to (COLLECTIVES.md §15.1) may be trusted for posts: its home
 * shows the member's key (`checkAtHome`, an alarm otherwise). A home out of reach throws (read later).
 */
export async function movedTrusted(ctx: Ctx, store: Store, operator: string, member: string, key: string): Promise<boolean> {
  const k = `${operator} ${member} ${key}`;
  if (movedChecked.has(k)) return true;
  try { await checkAtHome(ctx, store, operator, member, key); } catch (e) { if (e instanceof LogAlarmError) return false; throw e; }
  movedChecked.add(k);
  return true;
}
