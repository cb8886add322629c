/**
 * Key transparency in the add-on (PROTOCOL.md §5.11.3): every look-up's proof and checkpoint is
 * checked, the newest checkpoint seen is kept and each new one must extend it, and on every
 * poll the new log entries are read for one's own name and one's collectives' charters, and
 * the name index must point each of them at its owner's own live entry (§5.11.6). Every
 * failure is kept as an alarm (record `transparency`) that names what failed; two checkpoints
 * that do not chain are kept with it, as portable proof of a lying Operator.
 */
import { z } from 'zod';
import { b64, bytesEqual, unb64 } from '../../../protocol/bytes.ts';
import { OperatorError, type OperatorClient } from '../../../protocol/client.ts';
import { openCheckpoint, parseVkey, type NoteKey, type SignedCheckpoint } from '../../../protocol/transparency/checkpoint.ts';
import { parseWitnessVkey, verifyCosignature } from '../../../protocol/transparency/cosignature.ts';
import { charterKey, indexValue, logLeaf, LogProofError, verifyExtends, verifyLookup } from '../../../protocol/transparency/verify.ts';
import type { SignedRecord } from '../../../protocol/wire.ts';
import { UserError } from '../../api.ts';
import type { Ctx } from './ctx.ts';
import type { Store } from './store.ts';

/** One alarm: what failed (`kind`), for whom, when, and the evidence (signed checkpoints) if any. */
export const LogAlarm = z.strictObject({
  kind: z.enum(['checkpoint', 'inclusion', 'consistency', 'witness', 'monitor', 'index', 'member']), message: z.string(), t: z.number(),
  name: z.string().optional(), evidence: z.array(z.string()).optional(),
});
export type LogAlarm = z.infer<typeof LogAlarm>;

/** A name's leaf index as last verified, and the checkpoint it was verified in. */
const Seen = z.strictObject({ index: z.number().int().min(0), checkpoint: z.string() });

/**
 * Record `transparency`: the pinned checkpoint key, the newest checkpoint seen, the monitor's
 * next entry, the alarms, each looked-up name's leaf last verified (`seen`) and each own name's
 * index entry last checked (`own`, `<index>:<leaf>`).
 */
export const LogState = z.strictObject({
  vkey: z.string(), checkpoint: z.string().optional(), next: z.number().int().min(0), alarms: z.array(LogAlarm),
  seen: z.record(z.string(), Seen).optional(), own: z.record(z.string(), z.string()).optional(),
});
export type LogState = z.infer<typeof LogState>;

const RECORD = 'transparency';
const MAX_ALARMS = 50;

/** A check of the Operator's log failed: the message is the specific warning shown. */
export class LogAlarmError extends UserError {
  constructor(readonly alarm: LogAlarm) { super(`Key transparency: ${alarm.message}`); }
}

/** The state, pinning the Operator's checkpoint key at first use. */
async function state(store: Store, client: OperatorClient): Promise<LogState> {
  const s = await store.r.get(RECORD, LogState);
  if (s) return s;
  return { vkey: (await client.info()).checkpointKey, next: 0, alarms: [] };
}

async function save(store: Store, s: LogState): Promise<void> { await store.r.put(RECORD, s); }

/** Keep an alarm and throw it. */
async function raise(ctx: Ctx, store: Store, s: LogState, alarm: Omit<LogAlarm, 't'>): Promise<never> {
  const a: LogAlarm = { ...alarm, t: ctx.now() };
  s.alarms = [...s.alarms, a].slice(-MAX_ALARMS);
  await save(store, s);
  throw new LogAlarmError(a);
}

/**
 * Take a checkpoint as the newest seen if it extends the one kept (asking the Operator for the
 * consistency proof); an older one must be extended by the one kept. Raises on any failure.
 */
async function advance(ctx: Ctx, store: Store, client: OperatorClient, s: LogState, key: NoteKey, cp: SignedCheckpoint, name?: string): Promise<void> {
  const kept = s.checkpoint ? await openCheckpoint(s.checkpoint, key) : undefined;
  if (!kept) { s.checkpoint = cp.note; await save(store, s); return; }
  const [older, newer] = cp.size >= kept.size ? [kept, cp] : [cp, kept];
  try {
    const proof = older.size > 0 && older.size < newer.size ? await client.consistency(older.size, newer.size) : [];
    verifyExtends(older, newer, proof);
  } catch (e) {
    // a refusal to prove a size it has signed is as telling as a bad proof; an unreachable Operator is not
    const refused = e instanceof OperatorError && e.status >= 400 && e.status < 500;
    if (!(e instanceof LogProofError) && !refused) throw e;
    const message = refused ? `the Operator will not show that its log at ${newer.size} entries extends the one seen at ${older.size}` : (e as Error).message;
    await raise(ctx, store, s, { kind: 'consistency', message, name, evidence: [older.note, newer.note] });
  }
  if (newer === cp && cp.size > kept.size) { s.checkpoint = cp.note; await save(store, s); }
}

/** Check a checkpoint someone else saw (gossip, a witness) against the newest kept; raises on a fork. */
export async function checkForeign(ctx: Ctx, store: Store, client: OperatorClient, note: string, from: string): Promise<void> {
  const s = await state(store, client), key = parseVkey(s.vkey);
  let cp: SignedCheckpoint;
  try { cp = await openCheckpoint(note, key); } catch (e) {
    return raise(ctx, store, s, { kind: 'checkpoint', message: `a checkpoint from ${from} is not signed by the Operator's key (${(e as Error).message})`, name: from });
  }
  await advance(ctx, store, client, s, key, cp, from);
}

/** Look a name up and check its log proof and checkpoint; raises a `LogAlarmError` naming what failed. */
export async function verifiedLookup(ctx: Ctx, store: Store, client: OperatorClient, name: string): Promise<SignedRecord> {
  const rec = await client.lookupWithProof(name);
  const s = await state(store, client), key = parseVkey(s.vkey);
  let cp: SignedCheckpoint;
  try { cp = await verifyLookup(rec, key); } catch (e) {
    if (!(e instanceof LogProofError)) throw e;
    return raise(ctx, store, s, { kind: e.kind, message: `@${name}: ${e.message}`, name });
  }
  await advance(ctx, store, client, s, key, cp, name);
  // the index only moves a name to a newer leaf: an older one than verified before is a rollback (§5.11.6)
  const lower = name.toLowerCase(), before = s.seen?.[lower];
  if (before && rec.log.index < before.index) {
    return raise(ctx, store, s, { kind: 'index', message: `@${name}: the Operator's name index went back from entry ${before.index} to ${rec.log.index}`, name, evidence: [before.checkpoint, cp.note] });
  }
  s.seen = { ...s.seen, [lower]: { index: rec.log.index, checkpoint: cp.note } };
  await save(store, s);
  return { record: rec.record, sig: rec.sig };
}

/** Keep (and return, to throw) an alarm `member`: a collective's candidate or member whose record here does not carry the key their join request names (COLLECTIVES.md §15). */
export async function memberAlarm(ctx: Ctx, store: Store, client: OperatorClient, name: string, message: string): Promise<LogAlarmError> {
  return raise(ctx, store, await state(store, client), { kind: 'member', message: `@${name}: ${message}`, name }).catch((e: LogAlarmError) => e);
}

/** The newest checkpoint this add-on has seen (for gossip), if any. */
export async function newestCheckpoint(store: Store): Promise<string | undefined> {
  return (await store.r.get(RECORD, LogState))?.checkpoint;
}

/** The alarms kept, oldest first. */
export async function alarms(store: Store): Promise<LogAlarm[]> {
  return (await store.r.get(RECORD, LogState))?.alarms ?? [];
}

/**
 * The monitor (PROTOCOL.md §5.11.5), run on each poll: read every log entry since the last
 * poll; each live entry must open its leaf; one for my name must carry my identity key, one for
 * a collective of mine its charter. Raises on the first that does not.
 */
export async function monitor(ctx: Ctx, store: Store, client: OperatorClient): Promise<number> {
  const s = await state(store, client), key = parseVkey(s.vkey), acct = await store.account();
  const me = acct.me.name.toLowerCase(), myKey = acct.me.identity.pub;
  // collectives of our own Operator only: another Operator's are in its log, never asked about here (COLLECTIVES.md §15)
  const mine = new Set((await store.collectives()).filter((c) => c.operator === undefined).map((c) => c.name.toLowerCase()));
  const charters = new Map<string, string>();
  let seen = 0;
  for (;;) {
    const { entries, checkpoint } = await client.logEntries(s.next);
    let cp: SignedCheckpoint;
    try { cp = await openCheckpoint(checkpoint, key); } catch (e) {
      return raise(ctx, store, s, { kind: 'checkpoint', message: `the log's entries come with a bad checkpoint (${(e as Error).message})` });
    }
    await advance(ctx, store, client, s, key, cp);
    for (const e of entries) {
      if (e.index !== s.next) return raise(ctx, store, s, { kind: 'monitor', message: `the Operator skipped log entry ${s.next}` });
      const live = e.live;
      if (live && !bytesEqual(logLeaf(unb64(live.opening), live.name, live.key, e.index), unb64(e.leaf))) {
        return raise(ctx, store, s, { kind: 'monitor', message: `log entry ${e.index} does not open to what the Operator says it holds`, name: live.name });
      }
      if (live?.name === me && live.key !== myKey) {
        return raise(ctx, store, s, { kind: 'monitor', message: `someone else's key was entered in the log under your name @${me} (entry ${e.index}): the Operator may be showing it to others`, name: me });
      }
      if (live && mine.has(live.name)) {
        const expect = charters.get(live.name) ?? charterKey(await client.getCollective(live.name).then((c) => ({ charter: c.charter, sig: c.sig })));
        charters.set(live.name, expect);
        if (live.key !== expect) return raise(ctx, store, s, { kind: 'monitor', message: `another charter was entered in the log for your collective ${live.name} (entry ${e.index})`, name: live.name });
      }
      s.next++; seen++;
    }
    if (entries.length) await save(store, s);
    if (!entries.length || s.next >= cp.size) break;
  }
  const own = new Map<string, () => Promise<string>>([[me, async () => myKey]]);
  for (const c of mine) own.set(c, async () => charters.get(c) ?? charterKey(await client.getCollective(c).then((r) => ({ charter: r.charter, sig: r.sig }))));
  for (const [name, expect] of own) await checkOwn(ctx, store, client, s, key, name, expect);
  return seen;
}

/**
 * The owner's check of its own position in the name index (§5.11.6): at the newest checkpoint
 * the index must point `name` at a live entry that opens to `name` and the key `expect` gives;
 * an entry listed opaque (a leaf the Operator opens only to some) or another key is an alarm.
 */
async function checkOwn(ctx: Ctx, store: Store, client: OperatorClient, s: LogState, key: NoteKey, name: string, expect: () => Promise<string>): Promise<void> {
  const { proof, checkpoint } = await client.logIndex(name);
  let cp: SignedCheckpoint, at;
  try { cp = await openCheckpoint(checkpoint, key); } catch (e) {
    return raise(ctx, store, s, { kind: 'checkpoint', message: `the index proof of @${name} comes with a bad checkpoint (${(e as Error).message})`, name });
  }
  await advance(ctx, store, client, s, key, cp);
  try { at = indexValue(cp, name, proof); } catch (e) {
    if (!(e instanceof LogProofError)) throw e;
    return raise(ctx, store, s, { kind: 'index', message: `your name @${name}: ${e.message}`, name });
  }
  const mark = at && `${at.index}:${b64(at.leaf)}`;
  if (mark && s.own?.[name] === mark) return;
  const entry = at && (await client.logEntries(at.index)).entries[0];
  const live = entry?.index === at?.index ? entry?.live : undefined;
  const ok = at && live && live.name === name && bytesEqual(unb64(entry!.leaf), at.leaf) && bytesEqual(logLeaf(unb64(live.opening), live.name, live.key, at.index), at.leaf) && live.key === (await expect());
  if (!ok) {
    return raise(ctx, store, s, { kind: 'index', message: at ? `the name index points your name @${name} at log entry ${at.index}, which is not your key: the Operator may be showing it to others` : `your name @${name} is missing from the Operator's name index`, name });
  }
  s.own = { ...s.own, [name]: mark! };
  await save(store, s);
}

/** The monitor and the witnesses over the account's Operator (komrade.ts runs them on each poll, under the state lock). */
export async function monitorPoll(ctx: Ctx): Promise<number> {
  const store = await ctx.store(), acct = await store.account(), client = ctx.client(acct.operator);
  const seen = await monitor(ctx, store, client).catch((e: unknown) => { if (e instanceof LogAlarmError) return 0; throw e; });
  for (const w of acct.settings.witnesses ?? []) await checkWitness(ctx, store, client, w).catch(() => undefined);
  return seen;
}

/** Validate witnesses as settings name them (an `http(s)://` address and a cosignature vkey); throws a UserError. */
export function checkWitnesses(list: { url: string; vkey: string }[], allowLoopback: boolean): { url: string; vkey: string }[] {
  return list.map(({ url, vkey }) => {
    const u = url.trim().replace(/\/$/, '');
    const ok = /^http:\/\/[a-z2-7]{56}\.onion(:\d+)?$/.test(u) || (allowLoopback && /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(u));
    if (!ok) throw new UserError(`A witness address is an http://…onion address (${url}).`);
    try { parseWitnessVkey(vkey.trim()); } catch { throw new UserError(`That is not a witness key: ${vkey}`); }
    return { url: u, vkey: vkey.trim() };
  });
}

/**
 * A witness's newest cosigned checkpoint (GET <url>/checkpoint) must carry its valid
 * cosignature and chain with ours; an unreachable witness is tried again next poll.
 */
export async function checkWitness(ctx: Ctx, store: Store, client: OperatorClient, w: { url: string; vkey: string }): Promise<void> {
  const key = parseWitnessVkey(w.vkey);
  const res = await fetch(`${w.url}/checkpoint`, { cache: 'no-store' });
  if (!res.ok) return;
  const note = await res.text();
  try { await verifyCosignature(note, key); } catch (e) {
    const s = await state(store, client);
    return raise(ctx, store, s, { kind: 'witness', message: `witness ${key.name}: ${(e as Error).message}`, name: key.name });
  }
  await checkForeign(ctx, store, client, note, `witness ${key.name}`);
}
