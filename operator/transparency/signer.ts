/**
 * The Operator's checkpoint key (PROTOCOL.md §5.11): an Ed25519 key whose 32-byte seed the log
 * keeps in the store, and the signed-note signature it puts under each checkpoint (C2SP
 * tlog-checkpoint, signed-note). Parsing and verifying are protocol/transparency/checkpoint.ts.
 */
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { base64 } from '@scure/base';
import { concat, utf8 } from '../../protocol/bytes.ts';
import { formatCheckpoint, formatVkey, keyId, type Checkpoint } from '../../protocol/transparency/checkpoint.ts';

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A note signer: the log's origin (also the key's name), its public key and vkey, and `sign`. */
export class CheckpointSigner {
  private readonly priv: KeyObject;
  /** The Ed25519 public key. */
  readonly key: Uint8Array;
  /** The log's origin line, `komrade-kt/<hex of the first 8 bytes of SHA-256(public key)>` unless given. */
  readonly origin: string;
  /** The vkey announced in `/v2/info`. */
  readonly vkey: string;

  constructor(seed: Uint8Array, origin?: string) {
    this.priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(this.priv).export({ format: 'der', type: 'spki' });
    this.key = new Uint8Array(spki.subarray(spki.length - 32));
    this.origin = origin ?? `komrade-kt/${Buffer.from(keyId('komrade-kt', this.key, 0xff)).toString('hex')}`;
    this.vkey = formatVkey(this.origin, this.key);
  }

  /** The signature of a note body (any text ending in a newline). */
  signature(body: string): Uint8Array { return new Uint8Array(sign(null, utf8(body), this.priv)); }

  /** The signed note of checkpoint `c` (its origin is this signer's). */
  checkpoint(c: Omit<Checkpoint, 'origin'>): string {
    const body = formatCheckpoint({ ...c, origin: this.origin });
    const sig = base64.encode(concat(keyId(this.origin, this.key), this.signature(body)));
    return `${body}\n— ${this.origin} ${sig}\n`;
  }
}
