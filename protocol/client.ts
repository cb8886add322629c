/**
 * A typed client for the Operator's v1 API, used by the add-on's background script and by
 * the tests. Every response is validated against the shared schemas; every directory record
 * is verified against the identity key it carries before it is returned.
 */
import { b64, unb64 } from './bytes.ts';
import { signAuth, verifyRecord } from './identity.ts';
import type { PrivateKey } from './themis.ts';
import * as W from './wire.ts';
import type { z } from 'zod';

/** The Operator answered with an error status (or could not be reached: status 0). */
export class OperatorError extends Error {
  constructor(readonly status: number, readonly reason: string) { super(`${status || 'unreachable'}: ${reason}`); this.name = 'OperatorError'; }
}

/** Client for one Operator at `base` (e.g. http://<onion>.onion). */
export class OperatorClient {
  constructor(readonly base: string, private readonly timeoutMs = 90_000) {}

  private async call<S extends z.ZodType>(method: string, path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/v1${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
      });
    } catch (e) {
      throw new OperatorError(0, (e as Error).message || 'network error');
    }
    const json: unknown = await res.json().catch(() => undefined);
    if (!res.ok) throw new OperatorError(res.status, W.ErrorResponse.safeParse(json).data?.error ?? res.statusText);
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new OperatorError(res.status, 'malformed response');
    return parsed.data;
  }

  /** GET /v1/info */
  info() { return this.call('GET', '/info', undefined, W.InfoResponse); }

  /** Create mailbox `id` owned by the given mailbox key pair. */
  createMailbox(id: string, key: { privateKey: PrivateKey; publicKey: Uint8Array }) {
    const keyB64 = b64(key.publicKey);
    return this.call('POST', '/mailboxes', { id, key: keyB64, auth: signAuth(key.privateKey, 'create-mailbox', id, keyB64) }, W.OkResponse);
  }

  /** Deposit one sealed blob into mailbox `id` (no sender information is sent). */
  deposit(id: string, blob: Uint8Array) { return this.call('POST', `/mailboxes/${id}/deposit`, { blob: b64(blob) }, W.OkResponse); }

  /** Fetch pending blobs of mailbox `id`, proving the mailbox key. */
  async fetchBlobs(id: string, key: PrivateKey) {
    const r = await this.call('POST', `/mailboxes/${id}/fetch`, { auth: signAuth(key, 'fetch', id) }, W.FetchResponse);
    return { more: r.more, blobs: r.blobs.map((b) => ({ id: b.id, blob: unb64(b.blob) })) };
  }

  /** Acknowledge (and so delete) blobs of mailbox `id`. */
  ack(id: string, key: PrivateKey, ids: string[]) {
    return this.call('POST', `/mailboxes/${id}/ack`, { ids, auth: signAuth(key, 'ack', id, W.ackPayload(ids)) }, W.AckResponse);
  }

  /** Delete mailbox `id` and everything in it. */
  deleteMailbox(id: string, key: PrivateKey) {
    return this.call('POST', `/mailboxes/${id}/delete`, { auth: signAuth(key, 'delete-mailbox', id) }, W.OkResponse);
  }

  /** Register a name with its signed record and proof of work. */
  register(signed: W.SignedRecord, pow: string) { return this.call('POST', '/names', { ...signed, pow }, W.OkResponse); }

  /** Look a name up; the record is returned only if its signature and name check out. */
  async lookup(name: string): Promise<W.SignedRecord> {
    const rec = await this.call('GET', `/names/${encodeURIComponent(name)}`, undefined, W.SignedRecord);
    if (rec.record.name.toLowerCase() !== name.toLowerCase() || !verifyRecord(rec)) throw new OperatorError(200, 'record signature does not verify');
    return rec;
  }

  /** Replace one's record (prekey rotation). */
  replace(signed: W.SignedRecord) { return this.call('PUT', `/names/${signed.record.name}`, signed, W.OkResponse); }

  /** Delete one's name and intro mailbox. */
  deleteName(name: string, identity: PrivateKey) {
    const lower = name.toLowerCase();
    return this.call('POST', `/names/${lower}/delete`, { auth: signAuth(identity, 'delete-name', lower) }, W.OkResponse);
  }
}
