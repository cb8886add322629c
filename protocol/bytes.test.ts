// base64url (protocol/bytes.ts): the native paths (Node's Buffer here; Uint8Array.toBase64 in
// Firefox 133+, exercised by the browser tiers) agree with the portable code on any bytes, and
// anything that is not unpadded base64url is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { b64, portableB64, portableUnb64, unb64 } from './bytes.ts';

test('base64url: native and portable agree on any bytes, both ways', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(8), (bytes, off) => {
    const view = new Uint8Array([...new Uint8Array(off), ...bytes]).subarray(off); // a view with an offset
    const text = b64(view);
    assert.equal(text, portableB64(view));
    assert.deepEqual(unb64(text), portableUnb64(text));
    assert.deepEqual(unb64(text), new Uint8Array(bytes));
    assert.equal(unb64(text).byteOffset, 0, 'a fresh array of its own');
  }), { numRuns: 2000 });
});

test('base64url: padding, the standard alphabet and stray characters are refused', () => {
  for (const bad of ['AA==', 'A+B/', 'AB C', 'A', 'ABCDE', 'AB\n']) assert.throws(() => unb64(bad), /bad base64url/, bad);
});
