/**
 * The directory (PROTOCOL.md §5.7–§5.10, §6): each registered name's signed record, and the
 * confusable skeletons (protocol/names.ts) that keep look-alikes apart — shared by komrade and
 * collective names, so the two conflict both ways.
 *
 * Tables: n names (folded name → SignedRecord), k skeletons (skeleton → folded name).
 */
import type { FoldedName } from '../../protocol/names.ts';
import type { SignedRecord } from '../../protocol/wire.ts';
import type { Core, Spends } from './core.ts';
import type { Log } from './log.ts';
import type { Mailboxes } from './mailboxes.ts';
import type { Op, Table } from './tables.ts';

/** The name records and their skeletons. */
export class Names {
  private readonly names: Table<SignedRecord>;
  /** Skeleton → the name (or collective) holding it; collectives.ts claims skeletons too. */
  readonly skeletons: Table<string>;

  constructor(private readonly core: Core, private readonly mailboxes: Mailboxes, readonly log: Log) {
    this.names = core.table('n', 'json');
    this.skeletons = core.table('k', 'utf8');
  }

  /** The signed record for a folded name, if any. */
  get(lower: FoldedName): Promise<SignedRecord | undefined> { return this.core.gate.shared(() => this.names.get(lower)); }

  /** Give every name registered before the key-transparency log its leaf (PROTOCOL.md §5.11); run once at open, before requests. */
  async backfill(): Promise<number> {
    let n = 0;
    for await (const [lower, rec] of this.names.sub.iterator()) {
      if (await this.log.live(lower)) continue;
      await this.log.append(lower, rec.record.identityKey, (ops) => this.core.write(ops));
      n++;
    }
    return n;
  }

  /** The folded name registered under a confusable skeleton, if any. */
  bySkeleton(skeleton: string): Promise<string | undefined> { return this.core.gate.shared(() => this.skeletons.get(skeleton)); }

  /**
   * Register a name: its record, its skeleton, the intro flag on its mailbox and its leaf in the
   * key-transparency log (log.ts), in one batch. Call under the name's and the intro mailbox's locks.
   */
  register(lower: FoldedName, skeleton: string, rec: SignedRecord, spends?: Spends): Promise<void> {
    return this.core.gate.shared(async () => {
      const meta = await this.mailboxes.boxes.get(rec.record.intro);
      if (!meta) throw new Error('intro mailbox vanished');
      await this.log.append(lower, rec.record.identityKey, (log) => this.core.write([
        ...log,
        this.names.put(lower, rec),
        this.skeletons.put(skeleton, lower),
        this.mailboxes.boxes.put(rec.record.intro, { ...meta, intro: true }),
      ], spends));
    });
  }

  /** Replace a name's record (same name, key and intro). Call under the name's lock. */
  replace(lower: FoldedName, rec: SignedRecord): Promise<void> {
    return this.core.gate.shared(() => this.core.write([this.names.put(lower, rec)]));
  }

  /**
   * Delete a name, its skeleton and its log opening (appending the deletion's opaque leaf); with `deleteIntro` also its intro mailbox and everything in
   * it (leaving a grave), otherwise the intro becomes an ordinary mailbox. Call under the name's
   * and the intro mailbox's locks.
   */
  delete(lower: FoldedName, skeleton: string, intro: string, deleteIntro: boolean, spends?: Spends): Promise<void> {
    return this.core.gate.shared(async () => {
      const ops: Op[] = [this.names.del(lower), this.skeletons.del(skeleton), ...(await this.log.forget(lower))];
      const meta = await this.mailboxes.boxes.get(intro);
      if (meta && deleteIntro) ops.push(...(await this.mailboxes.deletes(intro, meta)));
      else if (meta) { const { intro: _, ...plain } = meta; ops.push(this.mailboxes.boxes.put(intro, plain)); }
      await this.log.append(lower, null, (log) => this.core.write([...log, ...ops], spends));
      if (meta && deleteIntro) this.mailboxes.forgotten(meta);
      this.core.deleted();
    });
  }
}
