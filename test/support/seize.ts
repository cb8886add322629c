/**
 * Test support (not part of the add-on) for the forward-secrecy tests (END-TO-END.md §6): an
 * Operator client that records every blob deposited (what a curious Operator keeps) and can
 * lose the next deposits, and a seized device: its storage unlocked with the passphrase, every
 * record decrypted, every private key found on it tried against recorded blobs.
 */
import { unb64 } from '../../protocol/bytes.ts';
import { OperatorClient, OperatorError } from '../../protocol/client.ts';
import { open } from '../../protocol/envelope.ts';
import { privateKey, type PrivateKey } from '../../protocol/themis.ts';
import type { KV } from '../../extension/background/kv.ts';
import { Komrade } from '../../extension/background/komrade.ts';
import { memoryKV } from '../../extension/background/vault.ts';
import { PASS } from './addon.ts';

/** One deposit as the Operator saw it. */
export interface Deposit { to: string; blob: Uint8Array }

/** A client factory (Deps.client) whose deposits are recorded; `lose` > 0 makes that many next deposits fail (503, kept queued). */
export function recordingClient() {
  const rec = { deposits: [] as Deposit[], lose: 0, client: (base: string) => new Recording(base, rec) };
  return rec;
}
class Recording extends OperatorClient {
  constructor(base: string, private readonly rec: { deposits: Deposit[]; lose: number }) { super(base); }
  override async deposit(id: string, blob: Uint8Array, o: { intro?: boolean } = {}) {
    if (this.rec.lose > 0) { this.rec.lose--; throw new OperatorError(503, 'lost on purpose'); }
    const r = await super.deposit(id, blob, o);
    this.rec.deposits.push({ to: id, blob });
    return r;
  }
}

/**
 * Seize a device: its storage (`local`), unlocked with its passphrase in a fresh background (no
 * cache, no session), every record decrypted. Returns every string found in the records, the
 * private keys among them (Themis EC private keys start with "REC2"), and the raw stored values.
 */
export async function seize(local: KV & { data: Map<string, unknown> }) {
  const k = new Komrade({ local, session: memoryKV() });
  await k.unlock({ passphrase: PASS });
  const records = await (await k.ctx.store()).r.dump();
  const { strings, keys } = keysIn(records);
  const identity = unb64((await (await k.ctx.store()).account()).me.identity.pub);
  return { records, strings: new Set(strings), keys, raw: JSON.stringify([...local.data.entries()]), identity };
}

/** Every string in some records, and the private keys among them (Themis EC private keys start with "REC2"). */
export function keysIn(records: Record<string, unknown>): { strings: string[]; keys: PrivateKey[] } {
  const strings: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') strings.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(records);
  const keys: PrivateKey[] = [];
  for (const s of new Set(strings)) {
    let bytes: Uint8Array;
    try { bytes = unb64(s); } catch { continue; }
    if (bytes.length > 4 && String.fromCharCode(...bytes.subarray(0, 4)) === 'REC2') {
      try { keys.push(privateKey(bytes)); } catch { /* not a key after all */ }
    }
  }
  return { strings, keys };
}

/** Whether any of `keys` opens `blob` (whatever prekey id it names); the body if so. */
export function openWithAny(blob: Uint8Array, keys: PrivateKey[], me: Uint8Array, now: number): unknown {
  for (const key of keys) {
    try { return open(blob, { prekey: () => key, myIdentityKey: me, seen: () => false, now }).body; } catch { /* not this one */ }
  }
  return undefined;
}

/** The private halves (b64) of the fresh prekeys a device holds now, for one contact. */
export async function heldPrekeys(k: Komrade, contact: string): Promise<string[]> {
  const { ContactPrekeys } = await import('../../extension/background/state.ts');
  const { K } = await import('../../extension/background/core/store.ts');
  const p = await (await k.ctx.store()).r.get(K.prekeys(contact), ContactPrekeys);
  return p?.mine.map((m) => m.priv) ?? [];
}

