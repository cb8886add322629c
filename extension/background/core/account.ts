/**
 * The account: status, creating and restoring it, lock and unlock, auto-lock, settings,
 * backup, deletion.
 */
import { FETCH_SECONDS } from '../schedule.ts';
import { b64, randomBytes } from '../../../protocol/bytes.ts';
import { OperatorError } from '../../../protocol/client.ts';
import { signRecord, solvePow } from '../../../protocol/identity.ts';
import { INVITE_VERSION, fingerprint, formatInvite } from '../../../protocol/invite.ts';
import { foldName } from '../../../protocol/names.ts';
import { Name, type NameRecord } from '../../../protocol/wire.ts';
import { UserError, type SettingsView, type Status } from '../../api.ts';
import { checkOperatorAddress } from '../address.ts';
import { Account, DEFAULT_SETTINGS, Settings } from '../state.ts';
import { WrongPassphrase } from '../vault.ts';
import { keyPairOf, nameRefused, pair } from './common.ts';
import type { Ctx } from './ctx.ts';
import { feedUnread } from './feed-store.ts';
import { joinRequests } from './join-requests.ts';
import { alarmsEverywhere } from './operators.ts';
import { checkWitnesses } from './transparency.ts';

/** The status line: reads the account, the index and the outbox, never a message. */
export async function status(ctx: Ctx): Promise<Status> {
  if (!(await ctx.vault.exists())) return { phase: 'new', unread: 0, queued: 0 };
  const store = await ctx.storeIfUnlocked();
  if (!store) return { phase: 'locked', unread: 0, queued: 0 };
  const a = await store.account();
  return {
    phase: 'unlocked', name: foldName(a.me.name), unread: await store.unread(), requests: (await store.requestNames()).length, feedUnread: await feedUnread(store), joinRequests: await joinRequests(store), queued: (await store.outbox()).length,
    operator: { address: a.operator, ...ctx.reach }, circuits: ctx.deps.circuits?.(), logAlarms: await alarmsEverywhere(store),
  };
}

/** Create the account: check the name is free, make the keys and the intro mailbox, register with proof of work. */
export async function create(ctx: Ctx, a: { operator: string; name: string; passphrase: string; allowLoopback?: boolean }): Promise<void> {
  if (await ctx.vault.exists()) throw new UserError('An account already exists on this device.');
  const operator = checkOperatorAddress(a.operator, !!a.allowLoopback);
  // names are case-folded (PROTOCOL.md §5.7): the folded name is the one registered
  const name = foldName(a.name);
  if (!Name.safeParse(name).success) throw new UserError('A name is 3 to 32 letters a–z, digits or _.');
  if (a.passphrase.length < 10) throw new UserError('Use a passphrase of at least 10 characters (several words are best).');
  const client = ctx.client(operator);
  // until the name is sent it can be cancelled (cancelCreate): a hung step is abandoned at once
  const ac = new AbortController();
  ctx.creating?.abort(); ctx.creating = ac;
  const cancelled = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(new UserError(CANCELLED)), { once: true }));
  cancelled.catch(() => undefined);
  const step = <T>(p: Promise<T>): Promise<T> => Promise.race([p, cancelled]);
  const identity = pair(), intro = { id: b64(randomBytes(16)), ...pair() }, prekey = { id: b64(randomBytes(8)), ...pair(), created: ctx.now() };
  const record: NameRecord = { v: 1, name, identityKey: identity.pub, intro: intro.id, prekey: { id: prekey.id, key: prekey.pub }, ts: ctx.now() };
  const signed = signRecord(keyPairOf(identity).privateKey, record);
  let pow: string, made: Promise<unknown> | undefined;
  try {
    const info = await step(client.info());
    // asked before the proof of work, so a refusal comes at once (PROTOCOL.md §5.12)
    const free = await step(client.available(name));
    if (!free.available) throw nameRefused(name, free.reason);
    made = client.createMailbox(intro.id, keyPairOf(intro));
    await step(made);
    pow = await step(solvePow(name, identity.pub, info.powBits, () => ac.signal.throwIfAborted())); // stops the work too
  } catch (e) {
    // a cancelled mailbox that was (or is being) made is deleted again; it would idle out anyway
    if (made) void made.then(() => client.deleteMailbox(intro.id, keyPairOf(intro).privateKey)).catch(() => undefined);
    throw e;
  } finally { if (ctx.creating === ac) ctx.creating = undefined; }
  try {
    await client.register(signed, pow, keyPairOf(intro).privateKey);
  } catch (e) {
    await client.deleteMailbox(intro.id, keyPairOf(intro).privateKey).catch(() => undefined);
    if (e instanceof OperatorError && e.status === 409) throw nameRefused(name, /similar/.test(e.reason) ? 'look-alike' : 'taken');
    throw e;
  }
  const account: Account = {
    v: 2, operator, settings: { ...DEFAULT_SETTINGS, allowLoopback: !!a.allowLoopback },
    me: { name, identity, intro, recordTs: record.ts }, prekeys: [prekey], mailboxes: {},
  };
  await ctx.vault.create(a.passphrase, { account, index: { contacts: {} } });
}

/** Our invite (PROTOCOL.md §10): this Operator, our name and our identity key's fingerprint, one line. */
export async function myInvite(ctx: Ctx): Promise<string> {
  const a = await (await ctx.store()).account();
  return formatInvite({ v: INVITE_VERSION, operator: a.operator, from: { name: foldName(a.me.name), key: fingerprint(a.me.identity.pub) } });
}

/** What a cancelled onboarding says. */
export const CANCELLED = 'Cancelled: nothing was registered. You can try again.';

/** Cancel the onboarding under way if it has not sent the name yet; false if there is none, or it is too late. */
export function cancelCreate(ctx: Ctx): boolean {
  if (!ctx.creating) return false;
  ctx.creating.abort();
  return true;
}

/** Restore from a backup file of any version (a v1 backup is migrated as it is opened). */
export async function restore(ctx: Ctx, a: { backup: string; passphrase: string }): Promise<void> {
  if (await ctx.vault.exists()) throw new UserError('An account already exists on this device.');
  await ctx.vault.importBackup(a.backup, a.passphrase);
  await (await ctx.store()).account();
}

/** Lock if nothing was done for the auto-lock minutes in settings; true if it locked. */
export async function lockIfIdle(ctx: Ctx): Promise<boolean> {
  const store = await ctx.storeIfUnlocked();
  if (!store) return false;
  const { autoLockMinutes } = (await store.account()).settings;
  const last = Number((await ctx.deps.session.get('lastActivity')) ?? 0);
  if (autoLockMinutes === 0 || ctx.now() - last <= autoLockMinutes * 60_000) return false;
  await ctx.vault.lock();
  return true;
}

export async function deleteAccount(ctx: Ctx, a: { passphrase: string }): Promise<void> {
  if (!(await ctx.vault.checkPassphrase(a.passphrase))) throw new WrongPassphrase();
  const s = await (await ctx.store()).account();
  const client = ctx.client(s.operator);
  await client.deleteName(s.me.name, keyPairOf(s.me.identity).privateKey, { id: s.me.intro.id, key: keyPairOf(s.me.intro).privateKey });
  for (const [id, box] of Object.entries(s.mailboxes)) await client.deleteMailbox(id, keyPairOf(box).privateKey).catch(() => undefined);
  await ctx.vault.wipe();
}

export async function exportBackup(ctx: Ctx): Promise<string> {
  await ctx.store(); // only when unlocked (and migrated)
  return ctx.vault.exportBackup();
}

export async function settings(ctx: Ctx): Promise<SettingsView> {
  const s = await (await ctx.store()).account();
  return { operator: s.operator, ...s.settings, receipts: s.settings.receipts ?? true, live: s.settings.live ?? true };
}

export async function saveSettings(ctx: Ctx, a: SettingsView): Promise<SettingsView> {
  const store = await ctx.store();
  const s = await store.account();
  const operator = checkOperatorAddress(a.operator, a.allowLoopback);
  const witnesses = checkWitnesses(a.witnesses ?? [], a.allowLoopback);
  const parsed = Settings.safeParse({ pollSeconds: a.pollSeconds, notifications: a.notifications, autoLockMinutes: a.autoLockMinutes, allowLoopback: a.allowLoopback, receipts: a.receipts ?? true, live: a.live ?? true, ...(witnesses.length ? { witnesses } : {}) });
  if (!parsed.success || parsed.data.pollSeconds < FETCH_SECONDS.min) throw new UserError(`Fetch each mailbox every ${FETCH_SECONDS.min}–${FETCH_SECONDS.max} seconds on average; auto-lock after 0–1440 minutes; at most 8 witnesses. Nothing was saved.`);
  if (operator !== s.operator) await checkOperator(ctx, operator);
  await store.putAccount({ ...s, operator, settings: parsed.data });
  return { operator, ...parsed.data, receipts: parsed.data.receipts ?? true, live: parsed.data.live ?? true };
}

/**
 * Before another Operator is saved, ask it what it is (GET /v2/info, through the reachability
 * wrapper): an address that cannot be reached, or that does not answer as a Komrade Operator,
 * is refused. Moving does not move the account: name, mailboxes and contacts stay on the old one.
 */
async function checkOperator(ctx: Ctx, operator: string): Promise<void> {
  try {
    await ctx.client(operator).info();
  } catch (e) {
    if (e instanceof OperatorError && e.status === 0) throw new UserError(`The Operator at ${operator} cannot be reached (is Tor connected?). Nothing was saved.`);
    throw new UserError(`${operator} does not answer as a Komrade Operator. Nothing was saved.`);
  }
}
