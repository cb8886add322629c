// The documents give the right bytes: every signed or proved message whose bytes PROTOCOL.md,
// COLLECTIVES.md or POSTS.md specify is built here from the document's own words — with
// @noble/hashes, RFC 8785 canonical JSON and BigInt only, never the protocol's helpers — and
// compared with what the code computes, then sent to a real Operator, which must accept it (or,
// for Semaphore proofs, which are not made here, get past the scope and message checks to the
// root check: 403 `unknown root` instead of 401 `wrong scope`/`wrong message`). Last, the one
// table of PROTOCOL.md §6 must name exactly the sublevels the Operator's code opens.
import { test, before, after } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { canonicalJson } from '../protocol/bytes.ts';
import { newEpochBundle, sealPost } from '../protocol/posts.ts';
import { cursorBinding, epochBinding, keysStatement, postStatement } from '../protocol/posts-wire.ts';
import { KeyPair, SecureCellSeal, SecureMessageSign, SecureMessageVerify, loadThemis, publicKey, type PrivateKey } from '../protocol/themis.ts';
import { messageFor, scope } from '../protocol/vouch.ts';
import { statement } from '../protocol/wire.ts';
import { foldName } from '../protocol/names.ts';
import { raw, startTestOperator } from './support/operator.ts';

// ---- the documents' formulas, as worded -----------------------------------------------------
const te = new TextEncoder();
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));
/** COLLECTIVES.md §2: r, the BN254 scalar field order. */
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** COLLECTIVES.md §2 "H(text)": SHA-256 of the UTF-8 text, read as a big-endian unsigned integer, mod r. */
const H = (text: string) => BigInt(`0x${Buffer.from(sha256(te.encode(text))).toString('hex')}`) % R;
/** PROTOCOL.md §2: RFC 8785 (JCS) for the values Komrade signs (objects, arrays, strings, integers). */
const jcs = (v: unknown): string => Array.isArray(v) ? `[${v.map(jcs).join(',')}]`
  : v !== null && typeof v === 'object' ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${jcs((v as Record<string, unknown>)[k])}`).join(',')}}`
  : JSON.stringify(v);
const sign = (key: PrivateKey, text: string) => b64(new SecureMessageSign(key).sign(te.encode(text)));
/** PROTOCOL.md §4: the statement an Auth signs. */
const stmt = (action: string, target: string, ts: number, nonce: string, payload: string) => `komrade/v2\n${action}\n${target}\n${ts}\n${nonce}\n${payload}`;
const auth = (key: PrivateKey, action: string, target: string, payload = '') => {
  const ts = Date.now(), nonce = b64(rnd(16));
  return { ts, nonce, sig: sign(key, stmt(action, target, ts, nonce, payload)) };
};
/** PROTOCOL.md §5 "Proof of work": the least decimal counter (a JSON string) whose SHA-256(prefix + counter) starts with `bits` zero bits. */
function work(prefix: string, bits: number): string {
  for (let i = 0; ; i++) {
    const h = sha256(te.encode(prefix + i));
    let zeros = 0;
    for (const byte of h) { if (byte) { zeros += Math.clz32(byte) - 24; break; } zeros += 8; }
    if (zeros >= bits) return String(i);
  }
}
/** COLLECTIVES.md §2: scope and message of a Semaphore proof. */
const scopeDoc = (kind: string, c: string, subject: string, epoch: number) => H(`komrade/v2 scope\n${kind}\n${c}\n${subject}\n${epoch}`);
const messageDoc = (kind: string, c: string, subject: string, x: bigint) => H(`komrade/v2 message\n${kind}\n${c}\n${subject}\n${x}`);
/** POSTS.md §2 and §4: what an epoch and a cursor proof bind (the `x` of their message). */
const epochX = (postingKey: string, root: string) => H(`komrade/v2 epoch\n${postingKey}\n${root}`);
const cursorX = (key: string) => H(`komrade/v2 cursor\n${key}`);
/** A proof whose scope and message are right and whose root is none of the collective's (no proving here). */
const fakeProof = (s: bigint, m: bigint) => ({ merkleTreeDepth: 16, merkleTreeRoot: '7', nullifier: String(rnd(1)[0]! + 1), message: String(m), scope: String(s), points: Array(8).fill('1') });

// ---- a real Operator --------------------------------------------------------------------------
type Op = Awaited<ReturnType<typeof startTestOperator>>;
let op: Op;
const BITS = { powBits: 8, mailboxPowBits: 4, depositPowBits: 4 };
const post = async (path: string, body: unknown, status: number, error?: string) => {
  const r = await raw(op.url, 'POST', path, body);
  assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body)}`);
  if (error) assert.equal(r.body?.error, error);
  return r.body!;
};
/** A mailbox made as PROTOCOL.md §5.2 says. */
async function mailbox() {
  const key = new KeyPair(), id = b64(rnd(16)), pub = b64(key.publicKey);
  await post('/mailboxes', { id, key: pub, pow: work(`komrade/v2 mailbox-pow\n${id}\n${pub}\n`, BITS.mailboxPowBits), auth: auth(key.privateKey, 'create-mailbox', id, pub) }, 201);
  return { id, key };
}
/** A name registered as PROTOCOL.md §5.7 says. */
async function register(name: string) {
  const identity = new KeyPair(), intro = await mailbox(), prekey = new KeyPair();
  const record = { v: 1, name, identityKey: b64(identity.publicKey), intro: intro.id, prekey: { id: b64(rnd(8)), key: b64(prekey.publicKey) }, ts: Date.now() };
  const lower = name.toLowerCase();
  await post('/names', {
    record, sig: sign(identity.privateKey, `komrade/v1 record\n${jcs(record)}`),
    pow: work(`komrade/v1 pow\n${lower}\n${record.identityKey}\n`, BITS.powBits), introAuth: auth(intro.key.privateKey, 'claim-intro', intro.id, lower),
  }, 201);
  return { name: lower, identity, intro, prekey };
}
/** A collective founded and a name's join request, as COLLECTIVES.md §3 and §5.1 say. */
async function found(c: string, quorum: string, founder: Awaited<ReturnType<typeof register>>, commitment: string) {
  const charter = { v: 2, name: c, description: 'd', quorum, created: Date.now(), founder: founder.name, founderKey: b64(founder.identity.publicKey), founderCommitment: commitment };
  return post('/collectives', { charter, sig: sign(founder.identity.privateKey, `komrade/v2 charter\n${jcs(charter)}`), pow: work(`komrade/v1 pow\n${c}\n${charter.founderKey}\n`, BITS.powBits) }, 201);
}
function joinBody(c: string, who: Awaited<ReturnType<typeof register>>, commitment: string) {
  const request = { v: 2, collective: c, name: who.name, identityKey: b64(who.identity.publicKey), commitment, prekey: { id: b64(rnd(8)), key: b64(who.prekey.publicKey) }, ts: Date.now() };
  return { request, sig: sign(who.identity.privateKey, `komrade/v2 join\n${jcs(request)}`) };
}

before(async () => {
  await loadThemis();
  op = await startTestOperator(BITS);
});
after(() => op.close());

test('the canonical JSON of PROTOCOL.md §2 (RFC 8785) is the code\'s', () => {
  const v = { z: 1, a: { é: 'x\u2028"', b: [3, { y: null, x: true }] }, A: -0, n: 1e21, s: '\u{1F600}' };
  assert.equal(jcs(v), canonicalJson(v));
});

test('PROTOCOL.md §4, §5.2, §5.7: auth statement, proofs of work and the name record, accepted', async () => {
  assert.deepEqual(te.encode(stmt('ack', 'id', 5, 'n', 'a,b')), statement('ack', 'id', 5, 'n', 'a,b'));
  const alice = await register('Alice_Doc');
  const r = await raw(op.url, 'GET', '/names/alice_doc');
  assert.equal((r.body!.record as { name: string }).name, 'Alice_Doc', 'stored as signed');
  // a proof-of-work counter is a JSON string: the same counter as a number is malformed
  const m = new KeyPair(), id = b64(rnd(16)), pub = b64(m.publicKey);
  const pow = work(`komrade/v2 mailbox-pow\n${id}\n${pub}\n`, BITS.mailboxPowBits);
  await post('/mailboxes', { id, key: pub, pow: Number(pow), auth: auth(m.privateKey, 'create-mailbox', id, pub) }, 400);
  assert.ok(alice.intro.id);
});

test('PROTOCOL.md §5.3–§5.5: an intro deposit\'s work, fetch, and an ack of [x, x] counted once', async () => {
  const bob = await register('bob_doc');
  const blob = rnd(1024 + 106), ts = Date.now(), id = bob.intro.id;
  await post(`/mailboxes/${id}/deposit`, { blob: b64(blob), pow: { ts, counter: work(`komrade/v2 deposit-pow\n${id}\n${ts}\n${b64(sha256(blob))}\n`, BITS.depositPowBits) } }, 201);
  const f = await post(`/mailboxes/${id}/fetch`, { auth: auth(bob.intro.key.privateKey, 'fetch', id) }, 200) as { blobs: { id: string; blob: string }[] };
  assert.equal(f.blobs[0]!.blob, b64(blob));
  const x = f.blobs[0]!.id;
  assert.deepEqual(await post(`/mailboxes/${id}/ack`, { ids: [x, x], auth: auth(bob.intro.key.privateKey, 'ack', id, `${x},${x}`) }, 200), { deleted: 1 });
});

test('PROTOCOL.md §5.10: deleting a name with the intro mailbox\'s introAuth takes the intro too', async () => {
  const carol = await register('carol_doc');
  await post('/names/carol_doc/delete', { auth: auth(carol.identity.privateKey, 'delete-name', 'carol_doc'), introAuth: auth(carol.intro.key.privateKey, 'delete-mailbox', carol.intro.id) }, 200);
  assert.equal((await raw(op.url, 'GET', '/names/carol_doc')).status, 404);
  await post(`/mailboxes/${carol.intro.id}/fetch`, { auth: auth(carol.intro.key.privateKey, 'fetch', carol.intro.id) }, 404);
});

test('COLLECTIVES.md §2, §5, §7: charter, join, vouch and expel scope and message, leave, a replayed join', async () => {
  for (const [kind, subject, epoch, x] of [['vouch', 'dora', 0, 5n], ['expel', 'eve_1', 3, R - 1n]] as const) {
    assert.equal(scopeDoc(kind, 'folk', subject, epoch), scope(kind, 'folk', subject, epoch));
    assert.equal(messageDoc(kind, 'folk', subject, x), messageFor(kind, 'folk', subject, x));
  }
  const dan = await register('dan_doc'), eve = await register('eve_doc');
  await found('folk', 'one', dan, '11');
  await post('/collectives/folk/requests', joinBody('folk', eve, '22'), 201);
  // right scope and message: past them to the root check; the scope of another epoch: refused on it
  await post('/collectives/folk/vouches/eve_doc', { proof: fakeProof(scopeDoc('vouch', 'folk', 'eve_doc', 0), messageDoc('vouch', 'folk', 'eve_doc', 22n)) }, 403, 'unknown root');
  await post('/collectives/folk/vouches/eve_doc', { proof: fakeProof(scopeDoc('vouch', 'folk', 'eve_doc', 1), messageDoc('vouch', 'folk', 'eve_doc', 22n)) }, 401, 'wrong scope');
  await post('/collectives/folk/members/dan_doc/expel', { proof: fakeProof(scopeDoc('expel', 'folk', 'dan_doc', 0), messageDoc('expel', 'folk', 'dan_doc', 11n)) }, 403, 'unknown root');
  // an open collective admits at once; the same signed request again is 409 while a member, 403 once spent
  await found('open_folk', 'open', dan, '33');
  const join = joinBody('open_folk', eve, '44');
  await post('/collectives/open_folk/requests', join, 201);
  await post('/collectives/open_folk/requests', join, 409, 'already a member');
  await post('/collectives/open_folk/members/eve_doc/leave', { auth: auth(eve.identity.privateKey, 'leave-collective', 'open_folk', 'eve_doc\n44') }, 200);
  await post('/collectives/open_folk/requests', join, 403, 'replayed request');
});

test('POSTS.md §2–§4: epoch and cursor proofs, the posting key\'s statements, cursor reads and acks', async () => {
  const fay = await register('fay_doc');
  const { root } = await found('posters', 'one', fay, '55') as { root: string };
  const posting = new KeyPair(), postingKey = b64(posting.publicKey), c = 'posters';
  assert.equal(epochX(postingKey, root), epochBinding(postingKey, root));
  assert.equal(messageDoc('epoch', c, 'epoch', epochX(postingKey, root)), messageFor('epoch', c, 'epoch', epochBinding(postingKey, root)));
  const proof = fakeProof(scopeDoc('epoch', c, 'epoch', 1), messageDoc('epoch', c, 'epoch', epochX(postingKey, root)));
  await post(`/collectives/${c}/epochs`, { epoch: 1, postingKey, root, proof }, 403, 'unknown root');
  // what POSTS.md §2 once said: "the message binds SHA-256(…) reduced into the field", taken as the message itself
  await post(`/collectives/${c}/epochs`, { epoch: 1, postingKey, root, proof: { ...proof, message: String(epochX(postingKey, root)) } }, 401, 'wrong message');
  // epoch 1 opened straight in the store (a real proof is not made here)
  await op.store.posts.openEpoch(foldName(c), 1, { postingKey, root, members: 1 }, '1');
  const cursor = new KeyPair(), cursorKey = b64(cursor.publicKey);
  assert.equal(cursorX(cursorKey), cursorBinding(cursorKey));
  await post(`/collectives/${c}/cursors`, { epoch: 1, key: cursorKey, proof: fakeProof(scopeDoc('cursor', c, 'epoch', 1), messageDoc('cursor', c, 'epoch', cursorX(cursorKey))) }, 403, 'unknown root');
  // key envelopes and a post, signed by the posting key over the statements of §2 and §3
  const blobs = [rnd(1130), rnd(1130)], concat = Buffer.concat(blobs);
  const keys = `komrade/v2 keys\n${c}\n1\n${b64(sha256(concat))}`;
  assert.deepEqual(te.encode(keys), keysStatement(c, 1, blobs));
  assert.deepEqual(await post(`/collectives/${c}/epochs/1/keys`, { blobs: blobs.map(b64), sig: sign(posting.privateKey, keys) }, 201), { stored: 2 });
  const blob = rnd(1130), deleteHash = b64(sha256(rnd(32)));
  const postText = `komrade/v2 post\n${c}\n1\n${b64(sha256(blob))}\n${deleteHash}`;
  assert.deepEqual(te.encode(postText), postStatement(c, 1, blob, deleteHash));
  const { seq } = await post(`/collectives/${c}/posts`, { epoch: 1, blob: b64(blob), deleteHash, sig: sign(posting.privateKey, postText) }, 201) as { seq: number };
  // a cursor (opened in the store) reads and acknowledges with Auth by its key (§4)
  const id = await op.store.posts.openCursor(foldName(c), 1, cursorKey, '2');
  const read = await post(`/collectives/${c}/cursors/${id}/read`, { auth: auth(cursor.privateKey, 'read-posts', id) }, 200) as { posts: { seq: number }[] };
  assert.deepEqual(read.posts.map((p) => p.seq), [seq]);
  await post(`/collectives/${c}/cursors/${id}/ack`, { upTo: seq, auth: auth(cursor.privateKey, 'ack-posts', id, String(seq)) }, 200);
});

test('POSTS.md §1, §3: a post blob opened with the key, context and layout the document gives', () => {
  const bundle = newEpochBundle('Posters', 3, '9'), author = new KeyPair();
  const { blob } = sealPost(bundle, { name: 'Fay_Doc', identity: author }, { text: 'hello' });
  const B = blob.length - 106;
  assert.ok([1024, 4096, 16384, 65536].includes(B) && blob[0] === 2, 'an envelope size, first byte 0x02');
  const postKey = hkdf(sha256, Buffer.from(bundle.key, 'base64url'), te.encode('posters|3'), te.encode('komrade/v2 post'), 32);
  const padded = SecureCellSeal.withKey(postKey).decrypt(blob.subarray(1, 1 + B + 44), te.encode('komrade/v2 post\nposters\n3'));
  assert.ok(blob.subarray(1 + B + 44).every((b) => b === 0), 'zeros after the cell');
  const len = Buffer.from(padded).readUInt32BE(0), body = padded.subarray(4, 4 + len);
  assert.ok(padded.subarray(4 + len).every((b) => b === 0), 'zero padding');
  assert.deepEqual(Buffer.from(body.subarray(1, 1 + body[0]!)), Buffer.from(author.publicKey));
  const payload = JSON.parse(Buffer.from(new SecureMessageVerify(publicKey(body.subarray(1, 1 + body[0]!))).verify(body.subarray(1 + body[0]!))).toString());
  assert.deepEqual({ ...payload, id: 0, t: 0, deleteHash: 0 }, { v: 2, kind: 'post', id: 0, collective: 'posters', epoch: 3, author: 'fay_doc', t: 0, text: 'hello', deleteHash: 0 });
});

test("PROTOCOL.md §6 lists every sublevel the Operator's store registers, and only those", () => {
  const doc = readFileSync(new URL('../PROTOCOL.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## 6. What the Operator stores'), doc.indexOf('### 6.1'));
  const documented = new Set([...section.matchAll(/^\| `(\w)` \|/gm)].map((m) => m[1]));
  const opened = new Set(op.store.prefixes);
  assert.ok(opened.size >= 20, `found the sublevels (${[...opened]})`);
  assert.deepEqual([...documented].sort(), [...opened].sort());
});
