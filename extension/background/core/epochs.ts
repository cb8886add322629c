/**
 * Key epochs in the add-on (POSTS.md §2, §9): opening an epoch at the Operator (epoch 1 by the
 * founder, later ones by whichever member's add-on first finds a rotation due — after a leave or
 * an expulsion in the replayed log, or weekly — after a random delay), sealing its bundle to
 * every current member's current prekey and uploading the envelopes in batches, and receiving
 * the bundles others sealed to us (accepted only from a current member of the log we replayed,
 * for a root of that log, and for the current epoch only with the Operator's posting key and root).
 *
 * Runs from the background poll *without* the state lock: proving (2–4 s), directory look-ups
 * and sealing (~30 s for 1,000 members) happen with the lock free, so the popup is never kept
 * waiting; only the short writes of the collective's record take it (`update`), each re-reading
 * the record so that nothing written meanwhile is lost.
 */
import { b64, unb64 } from '../../../protocol/bytes.ts';
import { OperatorError } from '../../../protocol/client.ts';
import { open as openEnvelope, seal } from '../../../protocol/envelope.ts';
import { EpochBundle } from '../../../protocol/message.ts';
import { foldName } from '../../../protocol/names.ts';
import { MAX_KEY_BLOBS, epochBinding, type CurrentEpoch } from '../../../protocol/posts-wire.ts';
import { newEpochBundle } from '../../../protocol/posts.ts';
import { privateKey } from '../../../protocol/themis.ts';
import { collectiveHandle, type CollectiveRecord } from '../collective-state.ts';
import { checkAtHome, collectiveOperator, meIn } from './collective-operator.ts';
import { DAY, keyPairOf, transient } from './common.ts';
import { commitmentIn, proveMember, replay, secretOf, standing, treeAt, type Replayed } from './collective-log.ts';
import type { Ctx } from './ctx.ts';

/** Keys are rotated at least this often. */
export const ROTATE_WEEKLY_MS = 7 * DAY;
/** An ended epoch's bundle is kept this long (the TTL of its posts). */
export const BUNDLE_TTL_MS = 14 * DAY;
/** The longest random wait before rotating once a rotation is due (Deps.rotationDelayMs overrides). */
export const ROTATION_DELAY_MS = 10 * 60_000;

/** A collective as the functions below need it: its name at its Operator (`c`), our record's handle (`h`), its Operator (`op`) and our handle there (`me`). */
interface At { c: string; h: string; op: string; me: string }

const random = () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;

/** Change a collective's record under the state lock (re-read first); undefined if it is gone (we left meanwhile). */
async function update(ctx: Ctx, c: string, fn: (rec: CollectiveRecord) => void): Promise<CollectiveRecord | undefined> {
  return ctx.serial(async () => {
    const store = await ctx.store();
    const rec = await store.collective(c);
    if (!rec) return undefined;
    fn(rec);
    await store.putCollective(rec);
    return rec;
  });
}

/**
 * Keep a bundle that is open at the Operator (ours or received). If it is the newest, the
 * previous epoch ends now, and the members at its root are the ones who got it sealed: newcomers
 * admitted after that root get it by hand-over (collective-keys.ts).
 */
function adopt(rec: CollectiveRecord, b: EpochBundle, r: Replayed, now: number, me: string): void {
  const same = rec.bundles.find((x) => x.epoch === b.epoch);
  if (same?.posting.pub === b.posting.pub) return;
  rec.bundles = rec.bundles.filter((x) => x !== same); // a bundle of that number the Operator never opened
  const prev = rec.bundles.at(-1);
  rec.bundles = [...rec.bundles, b].sort((x, y) => x.epoch - y.epoch);
  if (rec.bundles.at(-1) !== b) return; // an older epoch arriving late
  if (prev) rec.ended = { ...rec.ended, [prev.epoch]: now };
  rec.epochAt = now;
  const at = treeAt(r, b.root);
  rec.keyedAt = at?.seq ?? r.seq;
  rec.handed = [...(at?.members ?? r.members).keys()].filter((n) => n !== me);
}

/** A member left or was expelled after the newest epoch's root (or the root is not in the log at all). */
function removedSince(rec: CollectiveRecord, r: Replayed): boolean {
  const b = rec.bundles.at(-1);
  if (!b) return false;
  const i = r.entries.findLastIndex((e) => e.root === b.root);
  return i < 0 || r.entries.slice(i + 1).some((e) => e.type === 'leave' || e.type === 'expel');
}

/** A rotation is due: a member left or was expelled after the newest epoch's root, or the epoch is a week old. */
export function rotationDue(rec: CollectiveRecord, r: Replayed, now: number): boolean {
  return !!rec.bundles.length && (removedSince(rec, r) || now - (rec.epochAt ?? now) >= ROTATE_WEEKLY_MS);
}

/** Drop bundles of epochs ended longer than the TTL ago; forget a due rotation that no longer is. */
function tidy(rec: CollectiveRecord, r: Replayed, now: number): void {
  rec.epochAt ??= now;
  const old = (e: number) => rec.ended?.[e] !== undefined && now - rec.ended[e]! > BUNDLE_TTL_MS;
  rec.bundles = rec.bundles.filter((b, i) => i === rec.bundles.length - 1 || !old(b.epoch));
  if (rec.ended) rec.ended = Object.fromEntries(Object.entries(rec.ended).filter(([e]) => rec.bundles.some((b) => b.epoch === Number(e))));
  if (!rotationDue(rec, r, now) && rec.bundles.length) { rec.rotateAt = undefined; rec.rotateForRemoval = undefined; }
}

/**
 * Fetch the envelopes sealed to any of our prekeys for the epochs after `have` (the last five at
 * most) and keep the bundles that check out; count the others as refused.
 */
async function receiveKeys(ctx: Ctx, at: At, r: Replayed, cur: CurrentEpoch, have: number): Promise<void> {
  const store = await ctx.store();
  const s = await store.account();
  const { c } = at, client = ctx.client(at.op);
  for (let e = Math.max(have + 1, cur.epoch - 4); e <= cur.epoch; e++) {
    for (const p of s.prekeys) {
      for (const blob of await client.fetchKeys(c, e, p.id)) {
        let b: EpochBundle | undefined, signer = '';
        try {
          const o = openEnvelope(blob, {
            prekey: (id) => { const k = s.prekeys.find((x) => x.id === id); return k && privateKey(unb64(k.priv)); },
            myIdentityKey: unb64(s.me.identity.pub), seen: () => false, now: ctx.now(),
          });
          b = EpochBundle.parse(o.body);
          signer = b64(o.from);
        } catch { /* not for us, damaged or stale */ }
        const ok = b && b.collective === c && b.epoch === e && [...r.members.values()].some((m) => m.key === signer) && treeAt(r, b.root)
          && (e !== cur.epoch || (b.root === cur.root && b.posting.pub === cur.postingKey));
        await update(ctx, at.h, (rec) => { if (ok) adopt(rec, b!, r, ctx.now(), at.me); else rec.refusedKeys++; });
        if (ok) break;
      }
    }
  }
}

/** Open epoch `b` at the Operator with a proof of kind `epoch` (made without the lock). 409: someone else's epoch won, unless it is ours. */
async function openAt(ctx: Ctx, at: At, r: Replayed, b: EpochBundle, secret: Uint8Array): Promise<'opened' | 'taken' | 'moved'> {
  const { c } = at, client = ctx.client(at.op);
  const proof = await proveMember(ctx, secret, c, 'epoch', b.epoch, epochBinding(b.posting.pub, b.root), r.leaves);
  try {
    await client.openEpoch(c, { epoch: b.epoch, postingKey: b.posting.pub, root: b.root, proof });
    return 'opened';
  } catch (e) {
    if (!(e instanceof OperatorError) || transient(e)) throw e;
    if (e.status === 409) {
      const cur = await client.currentEpoch(c).catch(() => undefined);
      return cur?.epoch === b.epoch && cur.postingKey === b.posting.pub ? 'opened' : 'taken';
    }
    return 'moved'; // the root changed meanwhile (403): again at the next poll
  }
}

/**
 * Seal bundle `b` to every current member but us (their directory prekey at their home, if that
 * directory's identity key is the one the log names: COLLECTIVES.md §15) and upload the envelopes, ≤ 1,000 per request, signed
 * by the epoch's posting key. A look-up that fails for now makes the whole delivery wait for
 * the next poll (duplicates are harmless: the Operator keeps up to 2 × members + 1,000).
 */
async function deliver(ctx: Ctx, at: At, b: EpochBundle, r: Replayed): Promise<void> {
  const store = await ctx.store(), s = await store.account();
  const { c } = at, client = ctx.client(at.op);
  const blobs: Uint8Array[] = [];
  for (const m of r.members.values()) {
    if (m.name === at.me) continue;
    // at their home, with its log proof (PROTOCOL.md §5.11): a failed proof or another key raises an alarm and skips the member
    const dir = await checkAtHome(ctx, store, at.op, m.name, m.key).catch((e: unknown) => { if (transient(e)) throw e; return undefined; });
    if (!dir) continue; // the name is gone or changed hands: not that member
    if (blobs.length % 25 === 24) await new Promise((r) => setTimeout(r, 0)); // let the popup's requests in between
    blobs.push(seal({
      senderIdentity: keyPairOf(s.me.identity), recipientIdentityKey: unb64(m.key),
      prekey: { id: dir.record.prekey.id, key: unb64(dir.record.prekey.key) }, body: b, now: ctx.now(),
    }).blob);
  }
  for (let i = 0; i < blobs.length; i += MAX_KEY_BLOBS) await client.uploadKeys(c, b.epoch, blobs.slice(i, i + MAX_KEY_BLOBS), privateKey(unb64(b.posting.priv)));
  await update(ctx, at.h, (rec) => { if (rec.delivering === b.epoch) rec.delivering = undefined; });
}

/** One collective we are a member of, at a poll: receive newer keys, open our epoch if one is due, deliver it. */
async function syncOne(ctx: Ctx, at: At, r: Replayed, secret: Uint8Array): Promise<void> {
  const { c, h, me } = at, client = ctx.client(at.op);
  const cur = await client.currentEpoch(c).catch((e: unknown) => { if (e instanceof OperatorError && e.status === 404) return undefined; throw e; });
  let rec = (await (await ctx.store()).collective(h))!;
  const newest = rec.bundles.at(-1);
  if (cur && newest && newest.epoch === cur.epoch && newest.posting.pub !== cur.postingKey) {
    // a bundle the Operator never opened (made before epochs were opened, or a lost race): not ours to post with
    rec = (await update(ctx, h, (x) => { x.bundles = x.bundles.filter((b) => b.epoch !== cur.epoch); })) ?? rec;
  }
  const have = rec.bundles.at(-1)?.epoch ?? 0;
  if (cur && cur.epoch > have) await receiveKeys(ctx, at, r, cur, have);
  const now = ctx.now();
  rec = (await update(ctx, h, (x) => tidy(x, r, now))) ?? rec;
  const next = (cur?.epoch ?? 0) + 1;
  let b = rec.opening;
  if (b && cur && cur.epoch >= b.epoch) {
    // we opened it before an interruption (finish it), or another member's epoch won (drop ours)
    const ours = cur.epoch === b.epoch && cur.postingKey === b.posting.pub;
    const done = b;
    rec = (await update(ctx, h, (x) => { x.opening = undefined; if (ours) { adopt(x, done, r, now, me); x.delivering = done.epoch; } })) ?? rec;
    b = undefined;
  } else if (!b && (!cur || (rec.bundles.at(-1)?.epoch === cur.epoch && rotationDue(rec, r, now)))) {
    const at = rec.rotateAt ?? now + random() * (ctx.deps.rotationDelayMs ?? ROTATION_DELAY_MS);
    const removal = !!cur && removedSince(rec, r);
    if (at !== rec.rotateAt || removal !== !!rec.rotateForRemoval) rec = (await update(ctx, h, (x) => { x.rotateAt = at; x.rotateForRemoval = removal || undefined; })) ?? rec;
    if (now >= at) b = newEpochBundle(c, next, r.info.root);
  }
  if (b) {
    // nobody holds a bundle before it is open: a stale one (another epoch number, an older root) is simply made again
    if (b.epoch !== next || b.root !== r.info.root) b = newEpochBundle(c, next, r.info.root);
    const opening = b;
    await update(ctx, h, (x) => { x.opening = opening; }); // kept before the Operator hears of it: an epoch opened is never lost
    const res = await openAt(ctx, at, r, opening, secret);
    rec = (await update(ctx, h, (x) => {
      x.opening = undefined;
      if (res === 'opened') { adopt(x, opening, r, ctx.now(), me); x.delivering = opening.epoch; x.rotateAt = undefined; x.rotateForRemoval = undefined; }
    })) ?? rec;
  }
  const d = rec.delivering !== undefined ? rec.bundles.find((x) => x.epoch === rec.delivering) : undefined;
  if (d) await deliver(ctx, at, d, r);
}

/**
 * Epochs at a poll, for every collective we are a member of by the replayed logs (`logs`, from
 * collective-keys.ts). Call it without holding the state lock. Failures wait for the next poll.
 */
export async function sync(ctx: Ctx, logs: Map<string, Replayed>): Promise<void> {
  const store = await ctx.store();
  const s = await store.account();
  const records = await store.collectives();
  if (!records.some((x) => x.status === 'member')) return;
  const secret = await ctx.serial(() => secretOf(store));
  for (const rec of records) {
    const op = collectiveOperator(rec, s), at = { c: foldName(rec.name), h: collectiveHandle(rec), op, me: meIn(s, op, rec) }, r = logs.get(at.h);
    if (!r || rec.status !== 'member' || standing(r, at.me, commitmentIn(secret, at.c), false) !== 'member') continue;
    try { await syncOne(ctx, at, r, secret); } catch { /* again at the next poll */ }
  }
}

/** Open a collective's pending epoch now (the founder's epoch 1, right after founding), without the state lock. */
export async function openNow(ctx: Ctx, name: string): Promise<void> {
  const c = foldName(name); // founded on our own Operator
  const r = await replay(ctx.client((await (await ctx.store()).account()).operator), c);
  await sync(ctx, new Map([[c, r]]));
}

/** Collectives whose keys are being rotated (due, opening, or not yet delivered), for the feed view. */
export async function rotating(ctx: Ctx): Promise<string[]> {
  return (await (await ctx.store()).collectives())
    .filter((x) => x.rotateAt !== undefined || x.opening || x.delivering !== undefined).map(collectiveHandle).sort();
}
