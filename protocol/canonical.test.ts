// Canonical JSON for signatures is RFC 8785 (JCS), by the `canonicalize` package: RFC 8785's own
// examples, and the same bytes as the former sorted-keys JSON.stringify (kept here verbatim) for
// every shape of record we sign or hash — name records, charters, join requests, log entries —
// so every signature and log hash made before still verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson } from './bytes.ts';
import { Charter } from './collective.ts';

/** protocol/bytes.ts's canonicalJson before RFC 8785, the reference for "bytes unchanged". */
function canonicalBefore(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
      : v);
}

test('RFC 8785 §3.2.2: the example object', () => {
  const input = JSON.parse('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
    + ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}') as unknown;
  assert.equal(canonicalJson(input), '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
});

test('RFC 8785 §3.2.3: properties sorted by UTF-16 code units', () => {
  const input = JSON.parse('{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",'
    + ' "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}') as unknown;
  assert.equal(canonicalJson(input), '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",'
    + '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
});

test('RFC 8785 Appendix B: numbers as ECMAScript writes them', () => {
  const cases: [number, string][] = [[0, '0'], [-0, '0'], [5e-324, '5e-324'], [-1.7976931348623157e308, '-1.7976931348623157e+308'],
    [9007199254740992, '9007199254740992'], [1e21, '1e+21'], [999999999999999900000, '999999999999999900000'], [1e-7, '1e-7'], [0.000001, '0.000001']];
  for (const [n, text] of cases) assert.equal(canonicalJson([n]), `[${text}]`, text);
  for (const bad of [NaN, Infinity]) assert.throws(() => canonicalJson({ n: bad }));
});

test('what JCS refuses, a lone surrogate, the charter schema refuses first', () => {
  assert.throws(() => canonicalJson({ description: 'a\ud800' }), /surrogate/i);
  const charter = { v: 2, name: 'coop', description: 'a\ud800', quorum: 'one', created: 0, founder: 'ann', founderKey: 'A'.repeat(60), founderCommitment: '1' };
  assert.ok(!Charter.safeParse(charter).success);
  assert.ok(Charter.safeParse({ ...charter, description: 'a 😀 ö' }).success);
});

const b64 = (n: number) => fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: n, maxLength: n });
const name = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_'), minLength: 3, maxLength: 32 });
const decimal = fc.bigInt({ min: 0n, max: 2n ** 253n }).map(String);
const ms = fc.nat({ max: 2 ** 45 });
const nameRecord = fc.record({ v: fc.constant(1), name, identityKey: b64(60), intro: b64(22), prekey: fc.record({ id: b64(11), key: b64(60) }), ts: ms });
const charter = fc.record({
  v: fc.constant(2), name, description: fc.string({ unit: 'grapheme', maxLength: 100 }), quorum: fc.constantFrom('one', 'log2', 'sqrt', 'open', 'fixed:3'),
  created: ms, founder: name, founderKey: b64(60), founderCommitment: decimal,
});
const join = fc.record({ v: fc.constant(2), collective: name, name, identityKey: b64(60), commitment: decimal, prekey: fc.record({ id: b64(11), key: b64(60) }), ts: ms });
const proof = fc.record({ merkleTreeDepth: fc.constant(16), merkleTreeRoot: decimal, nullifier: decimal, message: decimal, scope: decimal, points: fc.array(decimal, { minLength: 8, maxLength: 8 }) });
const auth = fc.record({ ts: ms, nonce: b64(22), sig: b64(100) });
const logEntry = fc.record({
  seq: fc.nat(), prev: fc.oneof(fc.constant(''), b64(43)), ts: ms, type: fc.constantFrom('found', 'admit', 'leave', 'expel'), name, leaf: fc.nat(), commitment: decimal,
  epoch: fc.nat(), charter: fc.record({ charter, sig: b64(120) }), request: fc.record({ request: join, sig: b64(120) }), leave: fc.record({ auth }),
  proofs: fc.array(proof, { maxLength: 3 }), root: decimal,
}, { requiredKeys: ['seq', 'prev', 'ts', 'type', 'name', 'leaf', 'commitment', 'epoch', 'proofs', 'root'] });

test('the bytes of every record shape we sign or hash are unchanged from the former canonical JSON', () => {
  fc.assert(fc.property(fc.oneof(nameRecord, charter, join, logEntry), (record) => {
    assert.equal(canonicalJson(record), canonicalBefore(record));
  }), { numRuns: 3000 });
});

/** True if some object in `v` has an array-index-like key ("0", "17"): JS puts those first whatever the insertion order. */
const hasIndexKey = (v: unknown): boolean => typeof v === 'object' && v !== null
  && (Array.isArray(v) ? v.some(hasIndexKey) : Object.entries(v).some(([k, x]) => /^(0|[1-9][0-9]*)$/.test(k) || hasIndexKey(x)));

test('any JSON: the same bytes, except where the former function did not sort (index-like keys, in no record we sign)', () => {
  fc.assert(fc.property(fc.jsonValue().filter((v) => !hasIndexKey(v)), (value) => { assert.equal(canonicalJson(value), canonicalBefore(value)); }), { numRuns: 3000 });
  assert.equal(canonicalBefore({ '': 1, 0: 2 }), '{"0":2,"":1}', 'the former function: "0" before ""');
  assert.equal(canonicalJson({ '': 1, 0: 2 }), '{"":1,"0":2}', 'RFC 8785: sorted');
});
