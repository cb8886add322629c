/**
 * Loads wasm-themis once, in Node or in the add-on, and re-exports what Komrade uses.
 * In Node the loader would fetch() a file path and fail (wasm-themis issue #1062), so
 * fetch is hidden during the synchronous part of initialize(); in the add-on the caller
 * passes the packaged libthemis.wasm URL.
 */
import * as themis from 'wasm-themis';

export const { KeyPair, PrivateKey, PublicKey, SecureMessage, SecureMessageSign, SecureMessageVerify,
  SecureCellSeal, SymmetricKey, ThemisError } = themis;
export type KeyPair = themis.KeyPair;
export type PrivateKey = themis.PrivateKey;
export type PublicKey = themis.PublicKey;

let ready: Promise<void> | undefined;

/** Initialise wasm-themis (idempotent). `wasmUrl` is required in the browser. */
export function loadThemis(wasmUrl?: string): Promise<void> {
  if (!ready) {
    const isNode = typeof process !== 'undefined' && !!process.versions?.node;
    const savedFetch = globalThis.fetch;
    type Listener = (...args: unknown[]) => void;
    const proc = globalThis.process as unknown as { listeners(e: string): Listener[]; off(e: string, l: Listener): void };
    const events = ['unhandledRejection', 'uncaughtException'];
    const listeners = isNode ? events.map((e) => proc.listeners(e)) : [];
    if (isNode && !wasmUrl) (globalThis as { fetch?: unknown }).fetch = undefined;
    try {
      ready = themis.initialize(wasmUrl).then(() => {
        // Emscripten's Node glue installs process-wide handlers that rethrow; remove them
        if (isNode) events.forEach((e, i) => proc.listeners(e).filter((l) => !listeners[i]!.includes(l)).forEach((l) => proc.off(e, l)));
      });
    } finally {
      globalThis.fetch = savedFetch;
    }
    ready.catch(() => { ready = undefined; });
  }
  return ready;
}

/** Parse bytes as a Themis EC public key; throws ThemisError on anything else. */
export const publicKey = (bytes: Uint8Array): PublicKey => new PublicKey(bytes);

/** Parse bytes as a Themis EC private key. */
export const privateKey = (bytes: Uint8Array): PrivateKey => new PrivateKey(bytes);
