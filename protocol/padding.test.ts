// Bucket padding has one home (padding.ts): a property test that it gives the bytes the two
// former copies in envelope.ts and posts.ts gave (kept here verbatim as references), and that
// unpad inverts it and refuses impossible length prefixes as the former copies did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pad, unpad } from './padding.ts';
import { LIMITS } from './wire.ts';

/** envelope.ts's seal before (throwing 'too-large' is `undefined` here). */
function envelopePadBefore(inner: Uint8Array): Uint8Array | undefined {
  const bucket = LIMITS.buckets.find((b) => b >= inner.length + 4);
  if (!bucket) return undefined;
  const padded = new Uint8Array(bucket);
  new DataView(padded.buffer).setUint32(0, inner.length);
  padded.set(inner, 4);
  return padded;
}
/** posts.ts's sealPost before (its output length was 1 + overhead + bucket: the padded length). */
function postPadBefore(body: Uint8Array): Uint8Array | undefined {
  const bucket = LIMITS.buckets.find((b) => b >= body.length + 4);
  if (!bucket) return undefined;
  const padded = new Uint8Array(bucket);
  new DataView(padded.buffer).setUint32(0, body.length);
  padded.set(body, 4);
  return padded;
}
/** envelope.ts's open before (throwing 'format' is `undefined` here). */
function envelopeUnpadBefore(padded: Uint8Array): Uint8Array | undefined {
  const len = padded.length >= 4 ? new DataView(padded.buffer, padded.byteOffset).getUint32(0) : -1;
  if (len < 2 || len + 4 > padded.length) return undefined;
  return padded.subarray(4, 4 + len);
}

const sizes = fc.oneof(fc.integer({ min: 0, max: 1100 }), fc.constantFrom(...LIMITS.buckets.flatMap((b) => [b - 5, b - 4, b - 3, b])), fc.integer({ min: 0, max: 70_000 }));
const content = sizes.chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));

test('pad gives the bytes both former copies gave, for every length (over the largest bucket: none)', () => {
  fc.assert(fc.property(content, (c) => {
    const now = pad(c);
    assert.deepEqual(now, envelopePadBefore(c));
    assert.deepEqual(now, postPadBefore(c));
    assert.equal(now === undefined, c.length + 4 > LIMITS.buckets.at(-1)!);
  }), { numRuns: 300 });
});

test('unpad inverts pad, and answers arbitrary buffers as the former copy did', () => {
  fc.assert(fc.property(content, (c) => {
    const padded = pad(c);
    if (padded) assert.deepEqual(unpad(padded), c.length >= 2 ? c : undefined);
  }), { numRuns: 300 });
  const buffers = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.tuple(fc.integer({ min: 0, max: 70 }), fc.uint8Array({ maxLength: 64 }))
    .map(([len, rest]) => { const b = new Uint8Array(4 + rest.length); new DataView(b.buffer).setUint32(0, len); b.set(rest, 4); return b; }));
  fc.assert(fc.property(buffers, fc.nat(8), (b, offset) => {
    const view = new Uint8Array(offset + b.length).fill(7, 0, offset); view.set(b, offset); // a view at an offset, as decrypt may hand
    assert.deepEqual(unpad(view.subarray(offset)), envelopeUnpadBefore(view.subarray(offset)));
  }), { numRuns: 1000 });
});
