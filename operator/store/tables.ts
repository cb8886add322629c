/**
 * The Operator's record tables (PROTOCOL.md §6): a `Table` is one LevelDB sublevel — its prefix
 * letter and value encoding — that a record family registers with the store's machinery
 * (core.ts). A table outlives the database it reads: the forgetting rewrite rebinds every
 * registered table to the fresh copy, so an `Op` names its table, never a database's sublevel.
 */
import type { ClassicLevel } from 'classic-level';

/** The LevelDB database behind one generation of the store. */
export type DB = ClassicLevel<string, string>;

/** How a table's values are stored: JSON, plain text or raw bytes. */
export type Encoding = 'json' | 'utf8' | 'view';

const sublevelOf = <V>(db: DB, prefix: string, encoding: Encoding) => db.sublevel<string, V>(prefix, { valueEncoding: encoding });

/** A table's sublevel in one database. */
export type Sub<V> = ReturnType<typeof sublevelOf<V>>;

/** One operation of an atomic batch, on a registered table. */
export interface Op { type: 'put' | 'del'; key: string; value?: unknown; table: AnyTable }

/** A table of any value type, as the machinery sees it. */
export interface AnyTable { readonly prefix: string; in(db: DB): object; use(db: DB): void; readonly sub: object; watch?: (op: Op) => void }

/** One registered sublevel: its prefix letter and value encoding, bound to the live database. */
export class Table<V> {
  private live: Sub<V> | undefined;
  /** Called with each operation on this table as it is queued (a family that caches records keeps them current). */
  watch?: (op: Op) => void;

  constructor(readonly prefix: string, readonly encoding: Encoding) {}

  /** This table's sublevel in `db`. */
  in(db: DB): Sub<V> { return sublevelOf<V>(db, this.prefix, this.encoding); }

  /** Bind the table to the live database. */
  use(db: DB): void { this.live = this.in(db); }

  /** The sublevel in the live database (for iterators and many-key reads). */
  get sub(): Sub<V> {
    if (!this.live) throw new Error(`table ${this.prefix} is not open`);
    return this.live;
  }

  /** The value under `key`, if any. */
  get(key: string): Promise<V | undefined> { return this.sub.get(key); }

  /** An operation that stores `value` under `key`. */
  put(key: string, value: V): Op { return { type: 'put', key, value, table: this }; }

  /** An operation that deletes `key`. */
  del(key: string): Op { return { type: 'del', key, table: this }; }
}
