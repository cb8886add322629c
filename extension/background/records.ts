/**
 * Sealed records: the vault (v2) keeps each piece of state as its own Secure Cell under the
 * storage key, in its own `storage.local` key, so that a request reads and writes only what it
 * needs and the cost of a request does not grow with the history.
 *
 * - A record has a logical key (`account`, `contact/bob`, `chunk/bob/3`, `seen/20418`, …; the
 *   namespaces `collective/…` and `feed/…` are reserved for collectives and feed segments).
 * - Its `storage.local` key is `r.` + base64 of HMAC-SHA256(name key, logical key), truncated
 *   to 128 bits, where the name key is HMAC-SHA256(storage key, "komrade record names v2"): the
 *   names at rest reveal neither contacts nor how records relate.
 * - Its value is Secure Cell Seal(storage key, JSON, context = "komrade record v2:" + logical
 *   key): a record copied into another record's place does not open (the context differs).
 * - The record `catalog` lists every logical key (written only when one is added or removed),
 *   for backups and wiping.
 *
 * Decrypted records are cached in memory while unlocked; every write goes to storage at once.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { z } from 'zod';
import { b64, fromUtf8, unb64, utf8 } from '../../protocol/bytes.ts';
import { SecureCellSeal } from '../../protocol/themis.ts';
import type { KV } from './kv.ts';

const CATALOG = 'catalog';

/** A record did not open or did not validate: storage was damaged or tampered with. */
export class DamagedRecord extends Error {
  constructor(readonly logical: string) { super(`A record of the vault is damaged (${logical}).`); this.name = 'DamagedRecord'; }
}

/** The sealed records of one vault, under one storage key. */
export class Records {
  private readonly names: Uint8Array;
  private readonly cell: ReturnType<typeof SecureCellSeal.withKey>;
  /** Decrypted and validated values by logical key; `undefined` = known to be absent. */
  private readonly cache = new Map<string, unknown>();
  private catalog?: Set<string>;

  constructor(private readonly local: KV, key: Uint8Array) {
    this.names = hmac(sha256, key, utf8('komrade record names v2'));
    this.cell = SecureCellSeal.withKey(key);
  }

  /** The `storage.local` key of a logical key. */
  slot(logical: string): string {
    return `r.${b64(hmac(sha256, this.names, utf8(logical)).subarray(0, 16))}`;
  }

  private context(logical: string) { return utf8(`komrade record v2:${logical}`); }

  /** Seal a value as the record `logical` (also used for the backup file). */
  seal(logical: string, value: unknown): string {
    return b64(this.cell.encrypt(utf8(JSON.stringify(value)), this.context(logical)));
  }

  /** Open a sealed value of the record `logical`; throws DamagedRecord. */
  unseal(logical: string, sealed: unknown): unknown {
    try {
      return JSON.parse(fromUtf8(this.cell.decrypt(unb64(String(sealed)), this.context(logical))));
    } catch {
      throw new DamagedRecord(logical);
    }
  }

  /** The record's value, validated, or undefined if there is none. A copy: change it and `put` it. */
  async get<S extends z.ZodType>(logical: string, schema: S): Promise<z.infer<S> | undefined> {
    if (!this.cache.has(logical)) {
      const sealed = await this.local.get(this.slot(logical));
      if (sealed === undefined) this.cache.set(logical, undefined);
      else {
        const parsed = schema.safeParse(this.unseal(logical, sealed));
        if (!parsed.success) throw new DamagedRecord(logical);
        this.cache.set(logical, parsed.data);
      }
    }
    const v = this.cache.get(logical);
    return v === undefined ? undefined : structuredClone(v) as z.infer<S>;
  }

  /** The record's value without a copy, for reading only. */
  async peek<S extends z.ZodType>(logical: string, schema: S): Promise<Readonly<z.infer<S>> | undefined> {
    if (!this.cache.has(logical)) await this.get(logical, schema);
    return this.cache.get(logical) as z.infer<S> | undefined;
  }

  /** Seal and store a record now. */
  async put(logical: string, value: unknown): Promise<void> {
    const cat = await this.keys(); // listed before it is written: a backup never misses a record
    if (!cat.has(logical)) { cat.add(logical); await this.saveCatalog(cat); }
    await this.local.set(this.slot(logical), this.seal(logical, value));
    this.cache.set(logical, structuredClone(value));
  }

  async remove(logical: string): Promise<void> {
    await this.local.remove(this.slot(logical));
    this.cache.set(logical, undefined);
    const cat = await this.keys();
    if (cat.delete(logical)) await this.saveCatalog(cat);
  }

  /** Every logical key stored (not the catalog itself). */
  async keys(): Promise<Set<string>> {
    if (!this.catalog) {
      const sealed = await this.local.get(this.slot(CATALOG));
      const list = sealed === undefined ? [] : this.unseal(CATALOG, sealed);
      if (!Array.isArray(list)) throw new DamagedRecord(CATALOG);
      this.catalog = new Set(list.map(String));
    }
    return this.catalog;
  }

  private async saveCatalog(cat: Set<string>) {
    await this.local.set(this.slot(CATALOG), this.seal(CATALOG, [...cat]));
  }

  /** Every record, decrypted but not validated (backups). */
  async dump(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const k of await this.keys()) {
      const sealed = await this.local.get(this.slot(k));
      if (sealed !== undefined) out[k] = this.unseal(k, sealed);
    }
    return out;
  }

  /** Store many records (migration, restore): the catalog is written once, at the end. */
  async putAll(records: Record<string, unknown>): Promise<void> {
    const cat = await this.keys();
    for (const [k, v] of Object.entries(records)) {
      await this.local.set(this.slot(k), this.seal(k, v));
      this.cache.delete(k);
      cat.add(k);
    }
    await this.saveCatalog(cat);
  }

  /** Erase every record and the catalog. */
  async clear(): Promise<void> {
    for (const k of await this.keys()) await this.local.remove(this.slot(k));
    await this.local.remove(this.slot(CATALOG));
    this.catalog = new Set();
    this.cache.clear();
  }
}
