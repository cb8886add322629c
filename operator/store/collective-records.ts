/**
 * The records of collectives (COLLECTIVES.md §12) and the batches that change a collective's
 * tree: admit a candidate, remove a member, append to the log. collectives.ts builds its
 * reads and mutations on these. Nothing here is keyed by, or stored next to, anything that
 * identifies a voucher: a counted vouch or expel vote is its scope, nullifier and proof.
 *
 * Tables: C collectives (`c` → CollectiveMeta), T tree leaves (`c!leaf` → decimal commitment,
 * "0" when removed), A accepted roots (`c!root` → RootMeta), L the log (`c!seq` → LogEntry),
 * J open join requests (`c!name` → RequestRec), M members (`c!name` → MemberRec), E proof epochs
 * (`c!kind!name` → n), X expel votes (`c!name` → n), U counted proofs (`scope!nullifier` →
 * VouchProof), W vouch counts per komrade (`name!c` → n).
 */
import { ACCEPTED_ROOTS, entryHash, type LogEntry, type SignedCharter, type SignedJoin } from '../../protocol/collective.ts';
import type { FoldedName } from '../../protocol/names.ts';
import { rootOf } from '../../protocol/vouch.ts';
import type { VouchProof } from '../../protocol/vouch-wire.ts';
import type { Core } from './core.ts';
import { seqKey } from './keys.ts';
import type { Names } from './names.ts';
import type { Op, Table } from './tables.ts';

/** A collective (COLLECTIVES.md §12): its charter, counts, current root and log head. */
export interface CollectiveMeta {
  charter: SignedCharter['charter']; sig: string;
  leaves: number; members: number; requests: number; seq: number; head: string; root: string;
}
/** An accepted root: the log entry that made it and that entry's hour. */
export interface RootMeta { seq: number; ts: number }
/** An open join request and the vouches counted for it in its current epoch. */
export interface RequestRec { request: SignedJoin['request']; sig: string; vouches: number }
/** A current member: their leaf, commitment and identity key (from the join request or charter), and the vouches counted for them. */
export interface MemberRec { leaf: number; commitment: string; key: string; vouches: number }
/** A tree leaf's key: the collective and the leaf index (5 hex digits: up to 2^16 leaves). */
export const leafKey = (c: FoldedName, leaf: number) => `${c}!${leaf.toString(16).padStart(5, '0')}`;

/** The collective tables, registered with the machinery, and the batches that change a tree. */
export class CollectiveRecords {
  /** Each collective's record (posts.ts reads its member count). */
  readonly records: Table<CollectiveMeta>;
  protected readonly leaves: Table<string>;
  protected readonly roots: Table<RootMeta>;
  protected readonly clog: Table<LogEntry>;
  protected readonly requests: Table<RequestRec>;
  protected readonly members: Table<MemberRec>;
  protected readonly epochs: Table<number>;
  protected readonly expels: Table<number>;
  protected readonly nullifiers: Table<VouchProof>;
  protected readonly counts: Table<number>;

  constructor(protected readonly core: Core, protected readonly names: Names) {
    this.records = core.table('C', 'json');
    this.leaves = core.table('T', 'utf8');
    this.roots = core.table('A', 'json');
    this.clog = core.table('L', 'json');
    this.requests = core.table('J', 'json');
    this.members = core.table('M', 'json');
    this.epochs = core.table('E', 'json');
    this.expels = core.table('X', 'json');
    this.nullifiers = core.table('U', 'json');
    this.counts = core.table('W', 'json');
  }

  /** The tree's leaves in order (call inside the gate). */
  protected async leafList(c: FoldedName): Promise<string[]> {
    const out: string[] = [];
    for await (const v of this.leaves.sub.values({ gt: `${c}!`, lt: `${c}!~` })) out.push(v);
    return out;
  }

  /** Every proof counted in a scope (the vouches of one request's epoch, the votes of one expulsion round). */
  protected async proofsOf(scope: string): Promise<VouchProof[]> {
    const out: VouchProof[] = [];
    for await (const p of this.nullifiers.sub.values({ gt: `${scope}!`, lt: `${scope}!~` })) out.push(p);
    return out;
  }

  /** Append a log entry: returns the ops' new collective record fields. */
  protected logOps(c: FoldedName, meta: CollectiveMeta, e: Omit<LogEntry, 'seq' | 'prev' | 'ts'>, ops: Op[]): { seq: number; head: string; ts: number } {
    const entry: LogEntry = { seq: meta.seq + 1, prev: meta.head, ts: this.core.hour(), ...e };
    ops.push(this.clog.put(`${c}!${seqKey(entry.seq)}`, entry));
    return { seq: entry.seq, head: entryHash(entry), ts: entry.ts };
  }

  /** The ops that admit candidate `name`: next leaf, new root (oldest accepted roots beyond the limit dropped), log entry, member record. */
  protected async admitOps(c: FoldedName, meta: CollectiveMeta, name: FoldedName, rec: RequestRec, epoch: number, proofs: VouchProof[], fromRequest: boolean, ops: Op[]): Promise<{ seq: number }> {
    const leaves = await this.leafList(c), leaf = leaves.length;
    leaves.push(rec.request.commitment);
    const root = rootOf(leaves.map(BigInt));
    const { seq, head, ts } = this.logOps(c, meta, { type: 'admit', name, leaf, commitment: rec.request.commitment, epoch, request: { request: rec.request, sig: rec.sig }, proofs, root }, ops);
    const roots: [string, number][] = [];
    for await (const [key, r] of this.roots.sub.iterator({ gt: `${c}!`, lt: `${c}!~` })) roots.push([key, r.seq]);
    roots.sort((a, b) => a[1] - b[1]);
    for (const [key] of roots.slice(0, Math.max(0, roots.length + 1 - ACCEPTED_ROOTS))) ops.push(this.roots.del(key));
    ops.push(
      this.leaves.put(leafKey(c, leaf), rec.request.commitment),
      this.roots.put(`${c}!${root}`, { seq, ts }),
      this.members.put(`${c}!${name}`, { leaf, commitment: rec.request.commitment, key: rec.request.identityKey, vouches: rec.vouches }),
      this.records.put(c, { ...meta, leaves: leaf + 1, members: meta.members + 1, requests: meta.requests - (fromRequest ? 1 : 0), seq, head, root }),
    );
    if (fromRequest) ops.push(this.requests.del(`${c}!${name}`));
    return { seq };
  }

  /**
   * The ops that remove a member (leave or expel): leaf zeroed, every earlier root dropped (a
   * removed member must not prove against them), log entry; the member's vouch and expel
   * epochs bumped and their count dropped; and every open request's vouches and every pending
   * expel vote reset under a bumped epoch (the removed member may have cast some of them).
   */
  protected async removeOps(c: FoldedName, meta: CollectiveMeta, name: FoldedName, member: MemberRec, e: Pick<LogEntry, 'type' | 'epoch' | 'proofs' | 'leave'>, ops: Op[]): Promise<{ seq: number }> {
    const leaves = await this.leafList(c);
    leaves[member.leaf] = '0';
    const root = rootOf(leaves.map(BigInt));
    const { seq, head, ts } = this.logOps(c, meta, { ...e, name, leaf: member.leaf, commitment: member.commitment, root }, ops);
    const bump = async (kind: 'vouch' | 'expel', who: string) => {
      const key = `${c}!${kind}!${who}`;
      ops.push(this.epochs.put(key, ((await this.epochs.get(key)) ?? 0) + 1));
    };
    for await (const key of this.roots.sub.keys({ gt: `${c}!`, lt: `${c}!~` })) ops.push(this.roots.del(key));
    for await (const [key, rec] of this.requests.sub.iterator({ gt: `${c}!`, lt: `${c}!~` })) {
      if (rec.vouches === 0) continue;
      const who = key.slice(c.length + 1);
      await bump('vouch', who);
      ops.push(this.requests.put(key, { ...rec, vouches: 0 }), this.counts.del(`${who}!${c}`));
    }
    for await (const key of this.expels.sub.keys({ gt: `${c}!`, lt: `${c}!~` })) {
      const who = key.slice(c.length + 1);
      if (who !== name) await bump('expel', who);
      ops.push(this.expels.del(key));
    }
    await bump('vouch', name);
    await bump('expel', name);
    ops.push(
      this.leaves.put(leafKey(c, member.leaf), '0'),
      this.roots.put(`${c}!${root}`, { seq, ts }),
      this.members.del(`${c}!${name}`),
      this.counts.del(`${name}!${c}`),
      this.records.put(c, { ...meta, members: meta.members - 1, seq, head, root }),
    );
    return { seq };
  }
}
