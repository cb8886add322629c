/**
 * The vault: everything the add-on keeps at rest is one Secure Cell under a random storage
 * key; the storage key is wrapped under the passphrase (Secure Cell with passphrase, PBKDF2,
 * ~240 ms, so only at create/unlock). Unlocked, the storage key lives in memory and in
 * `storage.session`, which Firefox keeps in memory only, so the unlocked state survives the
 * background being suspended without a secret ever reaching the disk.
 */
import { z } from 'zod';
import { b64, unb64, fromUtf8, utf8 } from '../../protocol/bytes.ts';
import { SecureCellSeal, SymmetricKey } from '../../protocol/themis.ts';

/** A key-value area: `browser.storage.local`/`.session` in the add-on, a Map in tests. */
export interface KV {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  remove(key: string): Promise<void>;
}

/** A KV in memory (tests, and as the shape to follow). */
export function memoryKV(): KV & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    async get(k) { return structuredClone(data.get(k)); },
    async set(k, v) { data.set(k, structuredClone(v)); },
    async remove(k) { data.delete(k); },
  };
}

const CONTEXT = utf8('komrade vault v1');
const WRAP_CONTEXT = utf8('komrade storage key v1');

/** What `storage.local` holds: two ciphertexts, nothing else. */
const AtRest = z.strictObject({ v: z.literal(1), wrappedKey: z.string(), state: z.string() });
type AtRest = z.infer<typeof AtRest>;

/** The backup file: the same two ciphertexts, so it opens with the same passphrase. */
const Backup = z.strictObject({ komradeBackup: z.literal(1), wrappedKey: z.string().min(10), state: z.string().min(10) });

/** Thrown for a wrong passphrase. */
export class WrongPassphrase extends Error { constructor() { super('Wrong passphrase.'); this.name = 'WrongPassphrase'; } }

/** Encrypted persistence of one JSON state object. */
export class Vault {
  private key?: Uint8Array;

  constructor(private readonly local: KV, private readonly session: KV) {}

  private async atRest(): Promise<AtRest | undefined> {
    const r = AtRest.safeParse(await this.local.get('vault'));
    return r.success ? r.data : undefined;
  }

  /** True if an account exists on this device. */
  async exists(): Promise<boolean> { return (await this.atRest()) !== undefined; }

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
    await this.session.set('storageKey', b64(key));
  }

  /** Create the vault with a first state; leaves it unlocked. */
  async create(passphrase: string, state: unknown): Promise<void> {
    const key = new SymmetricKey();
    const wrappedKey = b64(SecureCellSeal.withPassphrase(passphrase).encrypt(key, WRAP_CONTEXT));
    await this.remember(key);
    await this.local.set('vault', { v: 1, wrappedKey, state: this.seal(key, state) } satisfies AtRest);
  }

  private seal(key: Uint8Array, state: unknown): string {
    return b64(SecureCellSeal.withKey(key).encrypt(utf8(JSON.stringify(state)), CONTEXT));
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
    const rest = await this.atRest();
    if (!rest) throw new Error('No account on this device.');
    await this.remember(this.unwrap(rest.wrappedKey, passphrase));
  }

  /** True if `passphrase` is the right one (for confirming destructive actions). */
  async checkPassphrase(passphrase: string): Promise<boolean> {
    const rest = await this.atRest();
    try { return !!rest && !!this.unwrap(rest.wrappedKey, passphrase); } catch { return false; }
  }

  /** Forget the storage key (memory and session). */
  async lock(): Promise<void> {
    this.key = undefined;
    await this.session.remove('storageKey');
  }

  /** The decrypted state, or undefined when locked. */
  async load(): Promise<unknown> {
    const key = await this.storageKey();
    const rest = await this.atRest();
    if (!key || !rest) return undefined;
    return JSON.parse(fromUtf8(SecureCellSeal.withKey(key).decrypt(unb64(rest.state), CONTEXT)));
  }

  /** Encrypt and store the state; must be unlocked. */
  async save(state: unknown): Promise<void> {
    const key = await this.storageKey();
    const rest = await this.atRest();
    if (!key || !rest) throw new Error('locked');
    await this.local.set('vault', { ...rest, state: this.seal(key, state) });
  }

  /** The encrypted backup file's text. */
  async exportBackup(): Promise<string> {
    const rest = await this.atRest();
    if (!rest) throw new Error('No account on this device.');
    return JSON.stringify({ komradeBackup: 1, wrappedKey: rest.wrappedKey, state: rest.state });
  }

  /** Replace this device's vault with a backup, checking the passphrase opens it; leaves it unlocked. */
  async importBackup(text: string, passphrase: string): Promise<void> {
    let parsed: z.infer<typeof Backup>;
    try { parsed = Backup.parse(JSON.parse(text)); } catch { throw new Error('That file is not a Komrade backup.'); }
    const key = this.unwrap(parsed.wrappedKey, passphrase);
    try { SecureCellSeal.withKey(key).decrypt(unb64(parsed.state), CONTEXT); } catch { throw new Error('The backup is damaged.'); }
    await this.local.set('vault', { v: 1, wrappedKey: parsed.wrappedKey, state: parsed.state } satisfies AtRest);
    await this.remember(key);
  }

  /** Erase everything (account deletion). */
  async wipe(): Promise<void> {
    await this.lock();
    await this.local.remove('vault');
  }
}
