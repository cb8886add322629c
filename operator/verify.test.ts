// The Operator's native signature check against wasm-themis: the same answer for valid
// signatures, for every single-byte change of signature, statement or key, and for forgeries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes, unb64 } from '../protocol/bytes.ts';
import { signAuth, verifyAuth } from '../protocol/identity.ts';
import { KeyPair, loadThemis } from '../protocol/themis.ts';
import type { Auth } from '../protocol/wire.ts';
import { checkAuth } from './verify.ts';

await loadThemis();

test('checkAuth answers as verifyAuth does, on valid, mutated and forged requests', () => {
  let checked = 0;
  for (let k = 0; k < 6; k++) {
    const pair = new KeyPair(), key = b64(pair.publicKey), id = b64(randomBytes(16));
    const auth = signAuth(pair.privateKey, 'fetch', id);
    // the first sight goes through Themis; after it the key is checked natively
    for (let round = 0; round < 2; round++) assert.equal(checkAuth(key, auth, 'fetch', id), true);
    const same = (a: Auth, action: 'fetch' | 'ack' = 'fetch', target = id, payload = '', k2 = key) => {
      assert.equal(checkAuth(k2, a, action, target, payload), verifyAuth(k2, a, action, target, payload), JSON.stringify({ a, action, target, payload }));
      checked++;
    };
    same(auth, 'ack'); same(auth, 'fetch', b64(randomBytes(16))); same(auth, 'fetch', id, 'x'); same({ ...auth, ts: auth.ts + 1 }); same({ ...auth, nonce: b64(randomBytes(16)) });
    same(signAuth(new KeyPair().privateKey, 'fetch', id)); // another key's signature
    same({ ...auth, sig: b64(randomBytes(120)) }); same({ ...auth, sig: '' }); same({ ...auth, sig: '!!' });
    const sig = unb64(auth.sig);
    for (let i = 0; i < sig.length; i++) {
      for (const flip of [1, 0x80, 0xff]) { const m = sig.slice(); m[i]! ^= flip; same({ ...auth, sig: b64(m) }); }
    }
    same({ ...auth, sig: b64(sig.subarray(0, sig.length - 1)) }); same({ ...auth, sig: b64(new Uint8Array([...sig, 0])) });
    // a mutated key: unknown to the cache, so Themis decides (and refuses)
    const kb = unb64(key);
    for (let i = 0; i < kb.length; i += 4) { const m = kb.slice(); m[i]! ^= 1; same(auth, 'fetch', id, '', b64(m)); }
  }
  assert.ok(checked > 2_500, `${checked} checks`);
});
