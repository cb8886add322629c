/**
 * Checkpoints of the key-transparency log (PROTOCOL.md §5.11): the C2SP tlog-checkpoint text
 * format (origin line, tree size in decimal, standard base64 root hash, each line ending in a
 * newline) as the body of a C2SP signed note, whose signature lines are `— <key name>
 * <base64(key id ‖ signature)>`, the key id being the first 4 bytes of SHA-256(name ‖ "\n" ‖
 * 0x01 ‖ Ed25519 public key). Parsing and verifying are here (the add-on and the witness use
 * them); signing is the Operator's (operator/transparency/signer.ts).
 */
import { base64 } from '@scure/base';
import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, concat, utf8 } from '../bytes.ts';
import { HASH_BYTES } from './merkle.ts';

/** A checkpoint's content: which log, how many leaves, the tree hash and the name index's root (§5.11.6). */
export interface Checkpoint { origin: string; size: number; root: Uint8Array; index?: Uint8Array }

/** The extension line's keyword that carries the name index's root (standard base64 after one space). */
export const INDEX_LINE = 'komrade-name-index';

/** A signed checkpoint: its parsed content and the whole note text as served. */
export interface SignedCheckpoint extends Checkpoint { note: string }

/** An Ed25519 note verifier key: its name (the log's origin), id and public key (C2SP signed-note vkey). */
export interface NoteKey { name: string; id: Uint8Array; key: Uint8Array }

/** The signature algorithm byte of an Ed25519 note signature (C2SP signed-note). */
export const ED25519_ALG = 0x01;
const NAME = /^[^\s+—]{1,120}$/;
const MAX_NOTE = 4096;

/** The 4-byte key id of an Ed25519 note key (C2SP signed-note), for algorithm byte `alg`. */
export function keyId(name: string, key: Uint8Array, alg = ED25519_ALG): Uint8Array {
  return sha256(concat(utf8(`${name}\n`), new Uint8Array([alg]), key)).slice(0, 4);
}

/** The vkey text `<name>+<hex id>+<base64(0x01 ‖ key)>` announced in `/v2/info`. */
export function formatVkey(name: string, key: Uint8Array): string {
  const id = [...keyId(name, key)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${name}+${id}+${base64.encode(concat(new Uint8Array([ED25519_ALG]), key))}`;
}

/** Parse a vkey; throws on a malformed one or a wrong key id. */
export function parseVkey(vkey: string): NoteKey {
  const m = /^([^\s+—]{1,120})\+([0-9a-f]{8})\+([A-Za-z0-9+/=]{1,100})$/.exec(vkey);
  if (!m) throw new Error('malformed checkpoint key');
  const raw = base64.decode(m[3]!);
  if (raw.length !== 33 || raw[0] !== ED25519_ALG) throw new Error('checkpoint key is not Ed25519');
  const key = raw.slice(1), id = keyId(m[1]!, key);
  if ([...id].map((b) => b.toString(16).padStart(2, '0')).join('') !== m[2]) throw new Error('checkpoint key id does not match');
  return { name: m[1]!, id, key };
}

/** The checkpoint body: origin, size and root, one per line (C2SP tlog-checkpoint), then the name index line if any. */
export function formatCheckpoint(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${base64.encode(c.root)}\n${c.index ? `${INDEX_LINE} ${base64.encode(c.index)}\n` : ''}`;
}

/** Split a signed note into its body and signature lines `{ name, id, sig }`; throws on a malformed note. */
export function splitNote(note: string): { body: string; sigs: { name: string; id: Uint8Array; sig: Uint8Array }[] } {
  if (note.length > MAX_NOTE) throw new Error('checkpoint too long');
  const at = note.indexOf('\n\n');
  if (at < 0 || !note.endsWith('\n')) throw new Error('checkpoint is not a signed note');
  const body = note.slice(0, at + 1);
  const sigs = note.slice(at + 2, -1).split('\n').map((line) => {
    const m = /^— (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m || !NAME.test(m[1]!)) throw new Error('malformed checkpoint signature line');
    const raw = base64.decode(m[2]!);
    if (raw.length < 5) throw new Error('checkpoint signature too short');
    return { name: m[1]!, id: raw.slice(0, 4), sig: raw.slice(4) };
  });
  return { body, sigs };
}

/** Parse a checkpoint body (the name index line is read, other extension lines are ignored); throws on a malformed one. */
export function parseCheckpoint(body: string): Checkpoint {
  const lines = body.split('\n');
  const [origin, size, root] = lines;
  if (lines.length < 4 || !origin || !NAME.test(origin)) throw new Error('checkpoint: bad origin line');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size ?? '') || !Number.isSafeInteger(Number(size))) throw new Error('checkpoint: bad tree size');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(root ?? '')) throw new Error('checkpoint: bad root hash');
  const hash = base64.decode(root!);
  if (hash.length !== HASH_BYTES) throw new Error('checkpoint: bad root hash');
  const ext = lines.slice(3, -1).find((l) => l.startsWith(`${INDEX_LINE} `));
  if (ext === undefined) return { origin, size: Number(size), root: hash };
  const m = new RegExp(`^${INDEX_LINE} ([A-Za-z0-9+/]{43}=)$`).exec(ext);
  if (!m) throw new Error('checkpoint: bad name index line');
  return { origin, size: Number(size), root: hash, index: base64.decode(m[1]!) };
}

/**
 * Whether `sig` is `key`'s Ed25519 signature of `message`: WebCrypto where it has Ed25519 (Node,
 * Firefox ≥ 129), else @noble/curves (Tor Browser 14.5's Firefox 128 has no Ed25519 in WebCrypto).
 */
export async function ed25519Verify(key: Uint8Array, sig: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (sig.length !== 64 || key.length !== 32) return false;
  let k: CryptoKey;
  try { k = await crypto.subtle.importKey('raw', key as BufferSource, { name: 'Ed25519' }, false, ['verify']); } catch {
    try { return ed25519.verify(sig, message, key); } catch { return false; }
  }
  try { return await crypto.subtle.verify({ name: 'Ed25519' }, k, sig as BufferSource, message as BufferSource); } catch { return false; }
}

/** Notes (with their key) whose signature has been checked: the same text needs no second check. */
const verified = new Set<string>();

/**
 * Open a signed checkpoint: parse it and check that the log's key signed it and that its origin
 * is the key's name. Throws a specific error otherwise.
 */
export async function openCheckpoint(note: string, key: NoteKey): Promise<SignedCheckpoint> {
  const { body, sigs } = splitNote(note);
  const c = parseCheckpoint(body);
  if (c.origin !== key.name) throw new Error(`checkpoint is for another log (${c.origin})`);
  const mine = sigs.find((s) => s.name === key.name && bytesEqual(s.id, key.id));
  if (!mine) throw new Error('checkpoint carries no signature by the Operator\'s checkpoint key');
  const memo = `${base64.encode(key.key)}\n${note}`;
  if (!verified.has(memo)) {
    if (!(await ed25519Verify(key.key, mine.sig, utf8(body)))) throw new Error('checkpoint signature is invalid');
    verified.add(memo);
    if (verified.size > 64) verified.delete(verified.values().next().value!);
  }
  return { ...c, note };
}
