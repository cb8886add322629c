/**
 * Collectives in the store (COLLECTIVES.md §12): found, read (charter, tree, accepted roots,
 * log, requests, members, epochs), open a join request, count vouches and expel votes, leave,
 * move a member to a new handle (§15.1).
 * The app serialises one collective with the lock key `collectiveLock(c)` (operator/lock-keys.ts,
 * taken before the gate); each mutation below is one atomic batch. The tables and the batches
 * that change a tree are in collective-records.ts.
 */
import { ROOT_MAX_AGE_MS, entryHash, type LogEntry, type SignedCharter, type SignedJoin } from '../../protocol/collective.ts';
import { expelQuorum, quorum } from '../../protocol/quorum.ts';
import { charterKey } from '../../protocol/transparency/verify.ts';
import { rootOf } from '../../protocol/vouch.ts';
import type { FoldedName } from '../../protocol/names.ts';
import type { VouchProof } from '../../protocol/vouch-wire.ts';
import type { Auth } from '../../protocol/wire.ts';
import { CollectiveRecords, leafKey, type CollectiveMeta, type MemberRec, type RequestRec } from './collective-records.ts';
import { Missing, type Spends } from './core.ts';
import { seqKey } from './keys.ts';
import type { Op } from './tables.ts';

/** The collective records: reads and the mutations the collective routes make. */
export class Collectives extends CollectiveRecords {
  /** A collective's record, if it exists. */
  get(c: FoldedName): Promise<CollectiveMeta | undefined> { return this.core.gate.shared(() => this.records.get(c)); }

  /** The tree's leaves in order (decimal commitments, "0" for removed members). */
  tree(c: FoldedName): Promise<string[]> { return this.core.gate.shared(() => this.leafList(c)); }

  /** The roots proofs may name now: those since the last removal (at most ACCEPTED_ROOTS), none older than ROOT_MAX_AGE_MS except the current one. */
  acceptedRoots(c: FoldedName): Promise<string[]> {
    return this.core.gate.shared(async () => {
      const meta = await this.records.get(c);
      if (!meta) return [];
      const oldest = this.core.opts.now() - ROOT_MAX_AGE_MS, out: string[] = [];
      for await (const [key, r] of this.roots.sub.iterator({ gt: `${c}!`, lt: `${c}!~` })) {
        const root = key.slice(c.length + 1);
        if (root === meta.root || r.ts >= oldest) out.push(root);
      }
      return out;
    });
  }

  /** A current member's record. */
  member(c: FoldedName, name: FoldedName): Promise<MemberRec | undefined> { return this.core.gate.shared(() => this.members.get(`${c}!${name}`)); }

  /** Expel votes counted against a member in the current expel epoch. */
  expelVotes(c: FoldedName, name: FoldedName): Promise<number> { return this.core.gate.shared(async () => (await this.expels.get(`${c}!${name}`)) ?? 0); }

  /** An open join request. */
  request(c: FoldedName, name: FoldedName): Promise<RequestRec | undefined> { return this.core.gate.shared(() => this.requests.get(`${c}!${name}`)); }

  /** Every open join request of a collective, by name. */
  openRequests(c: FoldedName): Promise<RequestRec[]> {
    return this.core.gate.shared(async () => {
      const out: RequestRec[] = [];
      for await (const r of this.requests.sub.values({ gt: `${c}!`, lt: `${c}!~` })) out.push(r);
      return out;
    });
  }

  /** The current epoch of proofs of `kind` about `name` in `c` (0 until bumped). */
  epoch(c: FoldedName, kind: 'vouch' | 'expel', name: FoldedName): Promise<number> {
    return this.core.gate.shared(async () => (await this.epochs.get(`${c}!${kind}!${name}`)) ?? 0);
  }

  /** True if this nullifier was already counted in this scope. */
  nullifierUsed(scope: string, nullifier: string): Promise<boolean> {
    return this.core.gate.shared(async () => (await this.nullifiers.get(`${scope}!${nullifier}`)) !== undefined);
  }

  /** Up to `limit` log entries from `from`. */
  log(c: FoldedName, from: number, limit: number): Promise<{ entries: LogEntry[]; more: boolean }> {
    return this.core.gate.shared(async () => {
      const entries: LogEntry[] = [];
      for await (const e of this.clog.sub.values({ gte: `${c}!${seqKey(from)}`, lt: `${c}!~`, limit: limit + 1 })) entries.push(e);
      return { entries: entries.slice(0, limit), more: entries.length > limit };
    });
  }

  /** The vouches counted for a komrade, per collective, in each one's current epoch. */
  vouchCounts(name: FoldedName): Promise<{ total: number; collectives: Record<string, number> }> {
    return this.core.gate.shared(async () => {
      const collectives: Record<string, number> = {};
      let total = 0;
      for await (const [key, n] of this.counts.sub.iterator({ gt: `${name}!`, lt: `${name}!~` })) { collectives[key.slice(name.length + 1)] = n; total += n; }
      return { total, collectives };
    });
  }

  /**
   * Found a collective: its charter, its name's skeleton (shared with komrade names, so the two
   * conflict both ways), leaf 0 (the founder), the first root and the `found` log entry, and the
   * charter's leaf in the key-transparency log (PROTOCOL.md §5.11). Call under the name's
   * skeleton lock and the collective's lock, after checking both are free.
   */
  create(c: FoldedName, skel: string, founder: FoldedName, signed: SignedCharter): Promise<{ root: string }> {
    return this.core.gate.shared(async () => {
      const { charter } = signed;
      const root = rootOf([BigInt(charter.founderCommitment)]);
      const entry: LogEntry = { seq: 0, prev: '', ts: this.core.hour(), type: 'found', name: founder, leaf: 0, commitment: charter.founderCommitment, epoch: 0, charter: signed, proofs: [], root };
      const meta: CollectiveMeta = { charter, sig: signed.sig, leaves: 1, members: 1, requests: 0, seq: 0, head: entryHash(entry), root };
      await this.names.log.append(c, charterKey(signed), (log) => this.core.write([
        ...log,
        this.names.skeletons.put(skel, c),
        this.records.put(c, meta),
        this.leaves.put(leafKey(c, 0), charter.founderCommitment),
        this.roots.put(`${c}!${root}`, { seq: 0, ts: entry.ts }),
        this.clog.put(`${c}!${seqKey(0)}`, entry),
        this.members.put(`${c}!${founder}`, { leaf: 0, commitment: charter.founderCommitment, key: charter.founderKey, vouches: 0 }),
      ]));
      return { root };
    });
  }

  /**
   * Open a join request (the caller checked signature, directory key, freshness and that the
   * name is neither a member nor has an open request here); admitted at once when the rule
   * needs no vouch (`open`). Call under the collective's lock.
   */
  openRequest(c: FoldedName, name: FoldedName, signed: SignedJoin, spends?: Spends): Promise<{ epoch: number; vouches: number; needed: number; admitted: boolean; seq?: number }> {
    return this.core.gate.shared(async () => {
      const meta = await this.records.get(c);
      if (!meta) throw new Missing('unknown collective');
      const epoch = (await this.epochs.get(`${c}!vouch!${name}`)) ?? 0;
      const rec: RequestRec = { ...signed, vouches: 0 };
      const needed = quorum(meta.charter.quorum, meta.members);
      const ops: Op[] = [];
      if (needed === 0) {
        const { seq } = await this.admitOps(c, meta, name, rec, epoch, [], false, ops);
        await this.core.write(ops, spends);
        return { epoch, vouches: 0, needed, admitted: true, seq };
      }
      ops.push(this.requests.put(`${c}!${name}`, rec),
        this.records.put(c, { ...meta, requests: meta.requests + 1 }));
      await this.core.write(ops, spends);
      return { epoch, vouches: 0, needed, admitted: false };
    });
  }

  /**
   * Count a verified vouch for a candidate or a member (the caller verified the proof against
   * the current epoch and an accepted root, and that its nullifier is unused): store the
   * nullifier with the proof, count it, and at quorum admit the candidate (leaf, root, log
   * entry with every proof of this scope). Call under the collective's lock.
   */
  countVouch(c: FoldedName, name: FoldedName, proof: VouchProof): Promise<{ vouches: number; needed: number; state: 'open' | 'admitted' | 'member'; seq?: number }> {
    return this.core.gate.shared(async () => {
      const meta = await this.records.get(c);
      if (!meta) throw new Missing('unknown collective');
      const needed = quorum(meta.charter.quorum, meta.members);
      const ops: Op[] = [this.nullifiers.put(`${proof.scope}!${proof.nullifier}`, proof)];
      const member = await this.members.get(`${c}!${name}`);
      if (member) {
        const vouches = member.vouches + 1;
        ops.push(this.members.put(`${c}!${name}`, { ...member, vouches }),
          this.counts.put(`${name}!${c}`, vouches));
        await this.core.write(ops);
        return { vouches, needed, state: 'member' };
      }
      const rec = await this.requests.get(`${c}!${name}`);
      if (!rec) throw new Missing('no such request or member');
      const vouches = rec.vouches + 1;
      ops.push(this.counts.put(`${name}!${c}`, vouches));
      if (vouches < needed) {
        ops.push(this.requests.put(`${c}!${name}`, { ...rec, vouches }));
        await this.core.write(ops);
        return { vouches, needed, state: 'open' };
      }
      const proofs = [...(await this.proofsOf(proof.scope)), proof];
      const epoch = (await this.epochs.get(`${c}!vouch!${name}`)) ?? 0;
      const { seq } = await this.admitOps(c, meta, name, { ...rec, vouches }, epoch, proofs, true, ops);
      await this.core.write(ops);
      return { vouches, needed, state: 'admitted', seq };
    });
  }

  /**
   * Count a verified expel vote against a member (checked like a vouch by the caller); at
   * quorum (the charter's rule, `log2` for an `open` collective) zero their leaf and log an
   * `expel` entry with the votes. Call under the collective's lock.
   */
  countExpelVote(c: FoldedName, name: FoldedName, proof: VouchProof): Promise<{ votes: number; needed: number; expelled: boolean; seq?: number }> {
    return this.core.gate.shared(async () => {
      const meta = await this.records.get(c);
      const member = await this.members.get(`${c}!${name}`);
      if (!meta || !member) throw new Missing('not a member');
      const needed = expelQuorum(meta.charter.quorum, meta.members);
      const votes = ((await this.expels.get(`${c}!${name}`)) ?? 0) + 1;
      const ops: Op[] = [this.nullifiers.put(`${proof.scope}!${proof.nullifier}`, proof)];
      if (votes < needed) {
        ops.push(this.expels.put(`${c}!${name}`, votes));
        await this.core.write(ops);
        return { votes, needed, expelled: false };
      }
      const proofs = [...(await this.proofsOf(proof.scope)), proof];
      const epoch = (await this.epochs.get(`${c}!expel!${name}`)) ?? 0;
      const { seq } = await this.removeOps(c, meta, name, member, { type: 'expel', epoch, proofs }, ops);
      await this.core.write(ops);
      this.core.deleted();
      return { votes, needed, expelled: true, seq };
    });
  }

  /** A member leaves (the caller checked their Auth): leaf zeroed, `leave` log entry. Call under the collective's lock. */
  leave(c: FoldedName, name: FoldedName, auth: Auth, spends?: Spends): Promise<{ seq: number }> {
    return this.core.gate.shared(async () => {
      const meta = await this.records.get(c);
      const member = await this.members.get(`${c}!${name}`);
      if (!meta || !member) throw new Missing('not a member');
      const ops: Op[] = [];
      const { seq } = await this.removeOps(c, meta, name, member, { type: 'leave', epoch: 0, proofs: [], leave: { auth } }, ops);
      await this.core.write(ops, spends);
      this.core.deleted();
      return { seq };
    });
  }

  /**
   * A member moves to handle `to` (the caller checked their Auth and that `to` is free): same leaf,
   * commitment, key and root; the member record and its vouch count follow the handle; expel votes
   * pending against the old handle are dropped (their scope names it). One batch. Call under the collective's lock.
   */
  move(c: FoldedName, name: FoldedName, to: FoldedName, auth: Auth, spends?: Spends): Promise<{ seq: number }> {
    return this.core.gate.shared(async () => {
      const meta = await this.records.get(c);
      const member = await this.members.get(`${c}!${name}`);
      if (!meta || !member) throw new Missing('not a member');
      const ops: Op[] = [];
      const { seq, head } = this.logOps(c, meta, { type: 'move', name, leaf: member.leaf, commitment: member.commitment, epoch: 0, proofs: [], move: { to, auth }, root: meta.root }, ops);
      const count = await this.counts.get(`${name}!${c}`);
      ops.push(this.members.del(`${c}!${name}`), this.members.put(`${c}!${to}`, member), this.counts.del(`${name}!${c}`), this.expels.del(`${c}!${name}`), this.records.put(c, { ...meta, seq, head }));
      if (count !== undefined && !to.includes('@')) ops.push(this.counts.put(`${to}!${c}`, count));
      await this.core.write(ops, spends);
      this.core.deleted();
      return { seq };
    });
  }
}
