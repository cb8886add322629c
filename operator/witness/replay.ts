/**
 * The witness's check (PROTOCOL.md §5.11.4): replay an Operator's key-transparency log from
 * where it last stopped — every leaf hash, every live entry's opening — into a compact range
 * (the perfect subtrees along the right edge, RFC 9162 §2.1), check that the leaves hash to
 * the newest checkpoint's root and that this checkpoint extends the last one it cosigned (also
 * by the Operator's own consistency proof), and that the name index root it carries is the one
 * replaying the entries gives (§5.11.6: a position only moves to a newly appended live leaf or
 * leaves with a deletion naming its leaf), then cosign it.
 */
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { base64 } from '@scure/base';
import { bytesEqual, concat, unb64 } from '../../protocol/bytes.ts';
import type { OperatorClient } from '../../protocol/client.ts';
import { keyId, openCheckpoint, parseVkey, type SignedCheckpoint } from '../../protocol/transparency/checkpoint.ts';
import { COSIGNATURE_ALG, cosignedMessage, formatWitnessVkey, timeBytes } from '../../protocol/transparency/cosignature.ts';
import { EMPTY_ROOT, nodeHash } from '../../protocol/transparency/merkle.ts';
import { IndexReplay } from '../../protocol/transparency/name-index.ts';
import { logLeaf, verifyExtends } from '../../protocol/transparency/verify.ts';

/** What a witness keeps between runs: the Operator's pinned key, the last checkpoint cosigned, the compact range of its leaves, the name index's entries. */
export interface WitnessState { vkey: string; checkpoint?: string; size: number; range: { level: number; hash: string }[]; names?: [string, number, string][] }

/** Append a leaf hash to a compact range (merging equal-level subtrees). */
export function extendRange(range: { level: number; hash: Uint8Array }[], leaf: Uint8Array): void {
  range.push({ level: 0, hash: leaf });
  while (range.length > 1 && range.at(-1)!.level === range.at(-2)!.level) {
    const right = range.pop()!, left = range.pop()!;
    range.push({ level: left.level + 1, hash: nodeHash(left.hash, right.hash) });
  }
}

/** The tree hash of the leaves a compact range holds. */
export function rangeRoot(range: { hash: Uint8Array }[]): Uint8Array {
  if (!range.length) return EMPTY_ROOT;
  let r = range.at(-1)!.hash;
  for (let i = range.length - 2; i >= 0; i--) r = nodeHash(range[i]!.hash, r);
  return r;
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A witness's signing key, from its 32-byte seed. */
export class WitnessSigner {
  private readonly priv: KeyObject;
  /** Its Ed25519 public key. */
  readonly key: Uint8Array;
  /** Its vkey, as add-ons' settings name it. */
  readonly vkey: string;
  constructor(seed: Uint8Array, readonly name: string) {
    this.priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(this.priv).export({ format: 'der', type: 'spki' });
    this.key = new Uint8Array(spki.subarray(spki.length - 32));
    this.vkey = formatWitnessVkey(name, this.key);
  }

  /** The checkpoint note with this witness's cosignature line added (time `t`, seconds). */
  cosign(note: string, t: number): string {
    const body = note.slice(0, note.indexOf('\n\n') + 1);
    const sig = new Uint8Array(sign(null, cosignedMessage(body, t), this.priv));
    return `${note}— ${this.name} ${base64.encode(concat(keyId(this.name, this.key, COSIGNATURE_ALG), timeBytes(t), sig))}\n`;
  }
}

/** A replay that found the Operator lying: the message says how; `evidence` are the signed checkpoints. */
export class WitnessAlarm extends Error {
  constructor(message: string, readonly evidence: string[] = []) { super(message); }
}

/**
 * Replay the log up to the Operator's newest checkpoint and check it; returns the new state and
 * the checkpoint to cosign. Throws `WitnessAlarm` if the log does not hold together.
 */
export async function replay(client: OperatorClient, state: WitnessState | undefined): Promise<{ state: WitnessState; checkpoint: SignedCheckpoint }> {
  const vkey = state?.vkey ?? (await client.info()).checkpointKey, key = parseVkey(vkey);
  const cp = await openCheckpoint(await client.checkpoint(), key).catch((e: Error) => { throw new WitnessAlarm(`bad checkpoint: ${e.message}`); });
  const last = state?.checkpoint ? await openCheckpoint(state.checkpoint, key) : undefined;
  if (last) {
    try { verifyExtends(last, cp, last.size > 0 && last.size < cp.size ? await client.consistency(last.size, cp.size) : []); } catch (e) {
      throw new WitnessAlarm((e as Error).message, [last.note, cp.note]);
    }
  }
  const range = (state?.range ?? []).map((r) => ({ level: r.level, hash: unb64(r.hash) }));
  const names = new IndexReplay(state?.names);
  let next = state?.size ?? 0;
  while (next < cp.size) {
    const { entries } = await client.logEntries(next);
    if (!entries.length) throw new WitnessAlarm(`the Operator serves no log entry ${next} below its checkpoint's ${cp.size}`, [cp.note]);
    for (const e of entries) {
      if (next >= cp.size) break;
      if (e.index !== next) throw new WitnessAlarm(`the Operator skipped log entry ${next}`);
      const leaf = unb64(e.leaf);
      if (e.live && !bytesEqual(logLeaf(unb64(e.live.opening), e.live.name, e.live.key, e.index), leaf)) throw new WitnessAlarm(`log entry ${e.index} does not open to what the Operator says it holds`);
      extendRange(range, leaf);
      names.apply({ index: e.index, leaf, live: e.live, removes: e.removes });
      next++;
    }
  }
  if (!bytesEqual(rangeRoot(range), cp.root)) throw new WitnessAlarm(`the log's ${cp.size} entries do not hash to its checkpoint's root`, [cp.note]);
  if (!cp.index || !bytesEqual(names.root(), cp.index)) {
    // entries are served as they are now: a deletion since the checkpoint hides a name it still held; try again then
    if ((await client.checkpoint()) !== cp.note) throw new Error('the log moved on during the replay');
    throw new WitnessAlarm(cp.index ? `the name index in the checkpoint at ${cp.size} entries is not the one its entries give: a name was pointed at a leaf without an entry` : 'the checkpoint carries no name index', [cp.note]);
  }
  return { state: { vkey, checkpoint: cp.note, size: next, names: names.save(), range: range.map((r) => ({ level: r.level, hash: Buffer.from(r.hash).toString('base64url') })) }, checkpoint: cp };
}
