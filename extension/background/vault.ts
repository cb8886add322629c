/**
 * The vault: what the add-on keeps at rest is sealed records (records.ts) under a random storage
 * key; the storage key is wrapped under the passphrase (Secure Cell with passphrase, PBKDF2,
 * ~240 ms, so only at create/unlock). Unlocked, the storage key lives in memory and in
 * `storage.session`, which Firefox keeps in memory only, so the unlocked state survives the
 * background being suspended without a secret ever reaching the disk.
 *
 * `storage.local` holds `vault` = `{ v: 2, wrappedKey }` and the records' keys `r.…`. Vault v1
 * was `{ v: 1, wrappedKey, state }`, the whole state in one Secure Cell: it is read once, by the
 * migration (migrate.ts), which writes the records and then this header.
 */
import { z } from 'zod';
import { b64, unb64, fromUtf8, utf8 } from '../../protocol/bytes.ts';
import { SecureCellSeal, SymmetricKey } from '../../protocol/themis.ts';
import { UserError } from '../api.ts';
import { Records } from './records.ts';
import type { KV } from './kv.ts';

export { memoryKV, type KV } from './kv.ts';

const CONTEXT_V1 = utf8('komrade vault v1');
const WRAP_CONTEXT = utf8('komrade storage key v1');
const BACKUP_CONTEXT = 'komrade backup v2';

/** What `storage.local['vault']` holds: the wrapped key, and in v1 the whole state. */
const Header = z.discriminatedUnion('v', [
  z.strictObject({ v: z.literal(1), wrappedKey: z.string(), state: z.string() }),
  z.strictObject({ v: z.literal(2), wrappedKey: z.string() }),
]);
type Header = z.infer<typeof Header>;

/** The backup file: the wrapped key and, sealed under the storage key, every record (v2) or the v1 state. */
const Backup = z.discriminatedUnion('komradeBackup', [
  z.strictObject({ komradeBackup: z.literal(1), wrappedKey: z.string().min(10), state: z.string().min(10) }),
  z.strictObject({ komradeBackup: z.literal(2), wrappedKey: z.string().min(10), records: z.string().min(10) }),
]);

/** Thrown for a wrong passphrase. */
export class WrongPassphrase extends UserError { constructor() { super('Wrong passphrase.'); this.name = 'WrongPassphrase'; } }

const noAccount = () => new UserError('No account on this device.');

/** The key, its wrapping, and the records it opens. */
export class Vault {
  private key?: Uint8Array;
  private records_?: Records;

  constructor(private readonly local: KV, private readonly session: KV) {}

  async header(): Promise<Header | undefined> {
    const r = Header.safeParse(await this.local.get('vault'));
    return r.success ? r.data : undefined;
  }

  /** True if an account exists on this device. */
  async exists(): Promise<boolean> { return (await this.header()) !== undefined; }

  /** The storage key if unlocked (from memory, or from session storage after a suspension). */
  private async storageKey(): Promise<Uint8Array | undefined> {
    if (!this.key) {
      const k = await this.session.get('storageKey');
      if (typeof k === 'string') this.key = unb64(k);
    }
    return this.key;
  }

  private async remember(key: Uint8Array) {
    this.key = key;
    this.records_ = undefined;
    await this.session.set('storageKey', b64(key));
  }

  /** The records, or undefined while locked. */
  async records(): Promise<Records | undefined> {
    const key = await this.storageKey();
    if (!key) return undefined;
    this.records_ ??= new Records(this.local, key);
    return this.records_;
  }

  /** Create the vault with its first records; leaves it unlocked. */
  async create(passphrase: string, records: Record<string, unknown>): Promise<void> {
    const key = new SymmetricKey();
    const wrappedKey = b64(SecureCellSeal.withPassphrase(passphrase).encrypt(key, WRAP_CONTEXT));
    await this.remember(key);
    await (await this.records())!.putAll(records);
    await this.local.set('vault', { v: 2, wrappedKey } satisfies Header);
  }

  private unwrap(wrappedKey: string, passphrase: string): Uint8Array {
    try {
      return SecureCellSeal.withPassphrase(passphrase).decrypt(unb64(wrappedKey), WRAP_CONTEXT);
    } catch {
      throw new WrongPassphrase();
    }
  }

  /** Unlock with the passphrase; throws WrongPassphrase. */
  async unlock(passphrase: string): Promise<void> {
    const h = await this.header();
    if (!h) throw noAccount();
    await this.remember(this.unwrap(h.wrappedKey, passphrase));
  }

  /** True if `passphrase` is the right one (for confirming destructive actions). */
  async checkPassphrase(passphrase: string): Promise<boolean> {
    const h = await this.header();
    try { return !!h && !!this.unwrap(h.wrappedKey, passphrase); } catch { return false; }
  }

  /** Forget the storage key (memory and session) and every decrypted record. */
  async lock(): Promise<void> {
    this.key = undefined;
    this.records_ = undefined;
    await this.session.remove('storageKey');
  }

  /** A v1 vault's whole state, decrypted (unlocked only), for the migration; undefined for v2. */
  async legacyState(): Promise<unknown> {
    const key = await this.storageKey(), h = await this.header();
    if (!key || h?.v !== 1) return undefined;
    return JSON.parse(fromUtf8(SecureCellSeal.withKey(key).decrypt(unb64(h.state), CONTEXT_V1)));
  }

  /** After the migration wrote every record: the header becomes v2 and the v1 state is gone. */
  async finishMigration(): Promise<void> {
    const h = await this.header();
    if (h?.v === 1) await this.local.set('vault', { v: 2, wrappedKey: h.wrappedKey } satisfies Header);
  }

  /** The encrypted backup file's text: every record in one Secure Cell under the storage key. */
  async exportBackup(): Promise<string> {
    const h = await this.header(), records = await this.records();
    if (!h || !records) throw noAccount();
    if (h.v === 1) return JSON.stringify({ komradeBackup: 1, wrappedKey: h.wrappedKey, state: h.state });
    return JSON.stringify({ komradeBackup: 2, wrappedKey: h.wrappedKey, records: records.seal(BACKUP_CONTEXT, await records.dump()) });
  }

  /**
   * Replace this device's vault with a backup, checking the passphrase opens it; leaves it
   * unlocked. A v1 backup becomes a v1 vault, which the migration then upgrades.
   */
  async importBackup(text: string, passphrase: string): Promise<void> {
    let parsed: z.infer<typeof Backup>;
    try { parsed = Backup.parse(JSON.parse(text)); } catch { throw new UserError('That file is not a Komrade backup.'); }
    const key = this.unwrap(parsed.wrappedKey, passphrase);
    const damaged = () => new UserError('The backup is damaged.');
    if (parsed.komradeBackup === 1) {
      try { SecureCellSeal.withKey(key).decrypt(unb64(parsed.state), CONTEXT_V1); } catch { throw damaged(); }
      await this.local.set('vault', { v: 1, wrappedKey: parsed.wrappedKey, state: parsed.state } satisfies Header);
      await this.remember(key);
      return;
    }
    await this.remember(key);
    const records = (await this.records())!;
    let all: unknown;
    try { all = records.unseal(BACKUP_CONTEXT, parsed.records); } catch { await this.lock(); throw damaged(); }
    if (!all || typeof all !== 'object' || Array.isArray(all)) { await this.lock(); throw damaged(); }
    await records.putAll(all as Record<string, unknown>);
    await this.local.set('vault', { v: 2, wrappedKey: parsed.wrappedKey } satisfies Header);
  }

  /** Erase everything (account deletion). */
  async wipe(): Promise<void> {
    await (await this.records())?.clear();
    await this.lock();
    await this.local.remove('vault');
  }
}
