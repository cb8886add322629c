/**
 * Witness cosignatures on checkpoints (PROTOCOL.md §5.11.4; C2SP tlog-cosignature): a witness
 * that has checked a checkpoint's consistency signs `cosignature/v1\ntime <t>\n` followed by the
 * checkpoint body with its Ed25519 key, and adds the line `— <witness name>
 * <base64(key id ‖ t as 8 bytes big-endian ‖ signature)>` to the note; its key id is the first 4
 * bytes of SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key). Verified here (the add-on); made by the
 * witness (operator/witness/).
 */
import { base64 } from '@scure/base';
import { bytesEqual, concat, utf8 } from '../bytes.ts';
import { ed25519Verify, keyId, splitNote } from './checkpoint.ts';

/** The signature algorithm byte of a timestamped Ed25519 cosignature (C2SP tlog-cosignature). */
export const COSIGNATURE_ALG = 0x04;

/** A witness's key: its name, id and Ed25519 public key. */
export interface WitnessKey { name: string; id: Uint8Array; key: Uint8Array }

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');

/** The witness vkey `<name>+<hex id>+<base64(0x04 ‖ key)>`. */
export function formatWitnessVkey(name: string, key: Uint8Array): string {
  return `${name}+${hex(keyId(name, key, COSIGNATURE_ALG))}+${base64.encode(concat(new Uint8Array([COSIGNATURE_ALG]), key))}`;
}

/** Parse a witness vkey; throws on a malformed one. */
export function parseWitnessVkey(vkey: string): WitnessKey {
  const m = /^([^\s+—]{1,120})\+([0-9a-f]{8})\+([A-Za-z0-9+/=]{1,100})$/.exec(vkey);
  if (!m) throw new Error('malformed witness key');
  const raw = base64.decode(m[3]!);
  if (raw.length !== 33 || raw[0] !== COSIGNATURE_ALG) throw new Error('witness key is not an Ed25519 cosignature key');
  const key = raw.slice(1), id = keyId(m[1]!, key, COSIGNATURE_ALG);
  if (hex(id) !== m[2]) throw new Error('witness key id does not match');
  return { name: m[1]!, id, key };
}

/** The message a witness signs for checkpoint `body` at time `t` (seconds since the epoch). */
export function cosignedMessage(body: string, t: number): Uint8Array {
  return utf8(`cosignature/v1\ntime ${t}\n${body}`);
}

/** The 8-byte big-endian encoding of `t`. */
export function timeBytes(t: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(t));
  return b;
}

/** Whether `note` carries a valid cosignature by `witness`; returns its time (seconds) or throws a specific error. */
export async function verifyCosignature(note: string, witness: WitnessKey): Promise<number> {
  const { body, sigs } = splitNote(note);
  const line = sigs.find((s) => s.name === witness.name && bytesEqual(s.id, witness.id));
  if (!line) throw new Error(`the checkpoint carries no cosignature by witness ${witness.name}`);
  if (line.sig.length !== 72) throw new Error(`witness ${witness.name}'s cosignature is malformed`);
  const t = Number(new DataView(line.sig.buffer, line.sig.byteOffset).getBigUint64(0));
  if (!(await ed25519Verify(witness.key, line.sig.slice(8), cosignedMessage(body, t)))) throw new Error(`witness ${witness.name}'s cosignature is invalid`);
  return t;
}
