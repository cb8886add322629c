/**
 * A typed client for the Operator's v2 API, used by the add-on's background script and by
 * the tests. Every response is validated against the shared schemas; every directory record
 * is verified against the identity key it carries before it is returned.
 */
import { b64, unb64 } from './bytes.ts';
import { leavePayload, movePayload, signCharter, signJoin, verifyCharter, type Charter, type JoinRequest } from './collective.ts';
import { depositPowPrefix, mailboxPowPrefix, signAuth, solvePow, solveWork, verifyRecord } from './identity.ts';
import type { PrivateKey } from './themis.ts';
import { ROUTES, pathOf, type ParamsIn, type RequestOf, type ResponseOf, type Route, type RouteName } from './routes.ts';
import type { LookupResponse } from './transparency/wire.ts';
import type { VouchProof } from './vouch-wire.ts';
import { ackPostsPayload, keysStatement, postStatement, signPosting } from './posts-wire.ts';
import * as W from './wire.ts';

/** The Operator answered with an error status (or could not be reached: status 0). */
export class OperatorError extends Error {
  constructor(readonly status: number, readonly reason: string) { super(`${status || 'unreachable'}: ${reason}`); this.name = 'OperatorError'; }
}

/** `/v2/info` per Operator, asked once per process (the proof-of-work difficulty rarely changes). */
const infos = new Map<string, Promise<W.InfoResponse>>();

/** Client for one Operator at `base` (e.g. http://<onion>.onion). */
export class OperatorClient {
  constructor(readonly base: string, private readonly timeoutMs = 90_000) {}

  /** `info()`, remembered per Operator address (forgotten again if it fails). */
  private cachedInfo(): Promise<W.InfoResponse> {
    let p = infos.get(this.base);
    if (!p) { p = this.info(); infos.set(this.base, p); p.catch(() => infos.delete(this.base)); }
    return p;
  }

  /** Call route `name` (protocol/routes.ts) with its path parameters and body; the answer is checked against the route's schema. */
  private async call<N extends RouteName>(name: N, params: ParamsIn<N>, body?: RequestOf<N>, signal?: AbortSignal): Promise<ResponseOf<N>> {
    const route: Route = ROUTES[name];
    let res: Response;
    try {
      res = await fetch(`${this.base}${pathOf(route, params)}`, {
        method: route.method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]) : AbortSignal.timeout(this.timeoutMs),
        credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
      });
    } catch (e) {
      throw new OperatorError(0, (e as Error).message || 'network error');
    }
    const json: unknown = await res.json().catch(() => undefined);
    if (!res.ok) throw new OperatorError(res.status, W.ErrorResponse.safeParse(json).data?.error ?? res.statusText);
    const parsed = route.response.safeParse(json);
    if (!parsed.success) throw new OperatorError(res.status, 'malformed response');
    return parsed.data as ResponseOf<N>;
  }

  /** GET /v2/info */
  info() { return this.call('info', {}); }

  /** Create mailbox `id` owned by the given mailbox key pair, with the proof of work the Operator asks for (§5.2). */
  async createMailbox(id: string, key: { privateKey: PrivateKey; publicKey: Uint8Array }) {
    const keyB64 = b64(key.publicKey);
    const pow = await solveWork(mailboxPowPrefix(id, keyB64), (await this.cachedInfo()).mailboxPowBits);
    return this.call('create-mailbox', {}, { id, key: keyB64, pow, auth: signAuth(key.privateKey, 'create-mailbox', id, keyB64) });
  }

  /**
   * Deposit one sealed blob into mailbox `id` (no sender information is sent). Deposits into
   * an intro mailbox (`intro: true`) carry a proof of work bound to the mailbox and the blob (§5.3).
   */
  async deposit(id: string, blob: Uint8Array, o: { intro?: boolean } = {}) {
    let pow: W.DepositPow | undefined;
    if (o.intro) {
      const ts = Date.now();
      pow = { ts, counter: await solveWork(depositPowPrefix(id, ts, blob), (await this.cachedInfo()).depositPowBits) };
    }
    return this.call('deposit', { id }, { blob: b64(blob), pow });
  }

  /** Fetch pending blobs of mailbox `id`, proving the mailbox key. */
  async fetchBlobs(id: string, key: PrivateKey, o: { wait?: number; signal?: AbortSignal } = {}) {
    const auth = signAuth(key, 'fetch', id, W.fetchPayload(o.wait));
    const r = await this.call('fetch', { id }, o.wait === undefined ? { auth } : { auth, wait: o.wait }, o.signal);
    return { more: r.more, blobs: r.blobs.map((b) => ({ id: b.id, blob: unb64(b.blob) })) };
  }

  /** Acknowledge (and so delete) blobs of mailbox `id`. */
  ack(id: string, key: PrivateKey, ids: string[]) {
    return this.call('ack', { id }, { ids, auth: signAuth(key, 'ack', id, W.ackPayload(ids)) });
  }

  /** Delete mailbox `id` and everything in it. */
  deleteMailbox(id: string, key: PrivateKey) {
    return this.call('delete-mailbox', { id }, { auth: signAuth(key, 'delete-mailbox', id) });
  }

  /** Register a name with its signed record and proof of work, proving the intro mailbox's key (§5.7). */
  register(signed: W.SignedRecord, pow: string, introKey: PrivateKey) {
    const introAuth = signAuth(introKey, 'claim-intro', signed.record.intro, signed.record.name.toLowerCase());
    return this.call('register', {}, { ...signed, pow, introAuth });
  }

  /** Look a name up; the record is returned only if its signature and name check out. */
  async lookup(name: string): Promise<W.SignedRecord> {
    const { record, sig } = await this.lookupWithProof(name);
    return { record, sig };
  }

  /** Look a name up with its log proof (§5.11), unchecked (protocol/transparency/verify.ts checks it); the record's signature is checked. */
  async lookupWithProof(name: string): Promise<LookupResponse> {
    const rec = await this.call('lookup', { name });
    if (rec.record.name.toLowerCase() !== name.toLowerCase() || !verifyRecord(rec)) throw new OperatorError(200, 'record signature does not verify');
    return rec;
  }

  /** Whether a name (a komrade's or a collective's) is free, taken, or a look-alike of one held (§5.12); costs no proof of work. */
  available(name: string) { return this.call('available', { name }); }

  /** The log's newest signed checkpoint (§5.11). */
  async checkpoint(): Promise<string> { return (await this.call('log-checkpoint', {})).checkpoint; }

  /** The consistency proof between two tree sizes (§5.11). */
  async consistency(from: number, to: number): Promise<string[]> { return (await this.call('log-consistency', { from: String(from), to: String(to) })).proof; }

  /** Log entries from index `from` (§5.11). */
  logEntries(from: number) { return this.call('log-entries', { from: String(from) }); }

  /** A folded name's proof in the name index at the newest checkpoint (§5.11.6). */
  logIndex(name: string) { return this.call('log-index', { name }); }

  /** Replace one's record (prekey rotation). */
  replace(signed: W.SignedRecord) { return this.call('replace', { name: signed.record.name }, signed); }

  /** Delete one's name, and the intro mailbox too when its key is given (§5.10). */
  deleteName(name: string, identity: PrivateKey, intro?: { id: string; key: PrivateKey }) {
    const lower = name.toLowerCase();
    const introAuth = intro && signAuth(intro.key, 'delete-mailbox', intro.id);
    return this.call('delete-name', { name: lower }, { auth: signAuth(identity, 'delete-name', lower), introAuth });
  }

  // ---- collectives (COLLECTIVES.md §10) ----

  /** Found a collective: the charter signed by the founder's identity key, with the name's proof of work (solved here unless given). */
  async createCollective(identity: PrivateKey, charter: Charter, solved?: string) {
    const pow = solved ?? await solvePow(charter.name, charter.founderKey, (await this.cachedInfo()).powBits);
    return this.call('create-collective', {}, { ...signCharter(identity, charter), pow });
  }

  /** A collective's charter and counts; the charter is returned only if the founder's signature checks out. */
  async getCollective(name: string) {
    const info = await this.call('get-collective', { collective: name });
    if (info.charter.name.toLowerCase() !== name.toLowerCase() || !verifyCharter(info)) throw new OperatorError(200, 'charter signature does not verify');
    return info;
  }

  /** The member tree: every leaf in order ("0" = removed), the root, the roots proofs may use. */
  tree(collective: string) { return this.call('tree', { collective }); }

  /** Up to 100 log entries from `from`. */
  log(collective: string, from = 0) { return this.call('log', { collective, from: String(from) }); }
  /** The log from `from`, held up to `wait` seconds while it has nothing there (COLLECTIVES.md §10). */
  waitLog(collective: string, from: number, wait: number, signal?: AbortSignal) { return this.call('wait-log', { collective, from: String(from) }, { wait }, signal); }

  /** A current member: leaf, commitment, vouches, and the epochs a vouch or an expel vote about them must name. */
  member(collective: string, name: string) { return this.call('member', { collective, name }); }

  /** Ask to join, signed by one's identity key (the directory's). */
  requestJoin(identity: PrivateKey, request: JoinRequest) {
    return this.call('join', { collective: request.collective }, signJoin(identity, request));
  }

  /** The open join requests (public). */
  listRequests(collective: string) { return this.call('list-requests', { collective }); }

  /** The open join requests, held up to `wait` seconds while their digest is still `seen` (COLLECTIVES.md §10). */
  waitRequests(collective: string, seen: string, wait: number, signal?: AbortSignal) { return this.call('wait-requests', { collective }, { wait, seen }, signal); }

  /** Vouch for a candidate or member with a proof of kind `vouch` (no Auth: send it over a circuit of its own). */
  vouch(collective: string, name: string, proof: VouchProof) { return this.call('vouch', { collective, name }, { proof }); }

  /** Vote to expel a member with a proof of kind `expel` (no Auth: a circuit of its own). */
  expel(collective: string, name: string, proof: VouchProof) { return this.call('expel', { collective, name }, { proof }); }

  /** Leave a collective, proving one's identity key; `commitment` is one's leaf. */
  leave(collective: string, name: string, identity: PrivateKey, commitment: string) {
    return this.call('leave', { collective, name }, { auth: signAuth(identity, 'leave-collective', collective.toLowerCase(), leavePayload(name, commitment)) });
  }

  /** Tell a collective that member `name` (same key and commitment) is now `to` (COLLECTIVES.md §15.1). */
  moveMember(collective: string, name: string, to: string, identity: PrivateKey, commitment: string) {
    return this.call('move', { collective, name }, { to, auth: signAuth(identity, 'move-collective', collective.toLowerCase(), movePayload(name, to, commitment)) });
  }

  /** The vouches counted for a komrade, overall and per collective (public). */
  vouchCounts(name: string) { return this.call('vouch-counts', { name }); }

  // ---- posts (POSTS.md §6) ----

  /** Open epoch `epoch` (= current + 1) with a proof of kind `epoch` binding the posting key and root (no Auth: a circuit of its own). */
  openEpoch(collective: string, body: { epoch: number; postingKey: string; root: string; proof: VouchProof }) { return this.call('open-epoch', { collective }, body); }

  /** The current epoch: number, posting public key, root, member count. */
  currentEpoch(collective: string) { return this.call('current-epoch', { collective }); }

  /** Upload sealed epoch bundles (≤ 1,000), signed with that epoch's posting key. */
  uploadKeys(collective: string, epoch: number, blobs: Uint8Array[], posting: PrivateKey) {
    return this.call('upload-keys', { collective, epoch: String(epoch) }, { blobs: blobs.map(b64), sig: signPosting(posting, keysStatement(collective, epoch, blobs)) });
  }

  /** The key envelopes of an epoch sealed to one's prekey id. */
  async fetchKeys(collective: string, epoch: number, prekey: string): Promise<Uint8Array[]> {
    return (await this.call('fetch-keys', { collective, epoch: String(epoch), prekey })).blobs.map(unb64);
  }

  /** Post one blob to the current epoch, signed with its posting key; `deleteHash` = SHA-256 of the delete secret. */
  post(collective: string, epoch: number, blob: Uint8Array, deleteHash: string, posting: PrivateKey) {
    return this.call('post', { collective }, { epoch, blob: b64(blob), deleteHash, sig: signPosting(posting, postStatement(collective, epoch, blob, deleteHash)) });
  }

  /** Delete a pending post with its delete secret. */
  deletePost(collective: string, seq: number, secret: Uint8Array) { return this.call('delete-post', { collective, seq: String(seq) }, { secret: b64(secret) }); }

  /** Open an anonymous cursor for an epoch: its public key bound in a proof of kind `cursor`. */
  openCursor(collective: string, epoch: number, key: Uint8Array, proof: VouchProof) { return this.call('open-cursor', { collective }, { epoch, key: b64(key), proof }); }

  /** Posts after the cursor's position (≤ 50), proving the cursor key. */
  async readCursor(collective: string, id: string, key: PrivateKey) {
    const r = await this.call('read-cursor', { collective, id }, { auth: signAuth(key, 'read-posts', id) });
    return { more: r.more, posts: r.posts.map((p) => ({ seq: p.seq, blob: unb64(p.blob) })) };
  }

  /** Acknowledge posts up to `upTo`. */
  ackCursor(collective: string, id: string, upTo: number, key: PrivateKey) {
    return this.call('ack-cursor', { collective, id }, { upTo, auth: signAuth(key, 'ack-posts', id, ackPostsPayload(upTo)) });
  }
}
