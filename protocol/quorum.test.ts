// Quorum rules: exact values for small collectives, schema bounds, and properties over all sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { quorum, QuorumRule, MAX_FIXED_QUORUM, type QuorumRule as Rule } from './quorum.ts';

const upTo = (rule: Rule, n: number) => Array.from({ length: n }, (_, i) => quorum(rule, i + 1));

test('log2 rises 1 → 4 while a collective grows to 16 members by vouching', () => {
  assert.deepEqual(upTo('log2', 16), [1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5]);
  // growing one admission at a time from the founder: the quorum each newcomer faced
  let members = 1;
  const faced: number[] = [];
  while (members < 16) { faced.push(quorum('log2', members)); members++; }
  assert.equal(faced[0], 1);
  assert.equal(faced.at(-1), 4);
  assert.equal(quorum('log2', 65535), 16);
  assert.equal(quorum('log2', 65536), 17);
});

test('one, sqrt, fixed:k and open', () => {
  assert.deepEqual(upTo('one', 5), [1, 1, 1, 1, 1]);
  assert.deepEqual(upTo('sqrt', 10), [1, 2, 2, 2, 3, 3, 3, 3, 3, 4]);
  assert.equal(quorum('sqrt', 65536), 256);
  assert.equal(quorum('sqrt', 65537), 257);
  assert.deepEqual(upTo('fixed:3', 5), [1, 2, 3, 3, 3]); // capped by the group's size while it is small
  assert.deepEqual(upTo('open', 3), [0, 0, 0]);
  for (const rule of ['one', 'log2', 'sqrt', 'fixed:7'] as const) assert.equal(quorum(rule, 0), 1);
  assert.throws(() => quorum('one', -1), RangeError);
  assert.throws(() => quorum('one', 1.5), RangeError);
  assert.throws(() => quorum('fixed:65' as Rule, 100), RangeError);
});

test('the schema accepts the five rule shapes and canonical fixed:1..64 only', () => {
  for (const ok of ['one', 'log2', 'sqrt', 'open', 'fixed:1', 'fixed:9', 'fixed:10', 'fixed:64']) assert.ok(QuorumRule.safeParse(ok).success, ok);
  for (const bad of ['fixed:0', 'fixed:65', 'fixed:01', 'fixed:-1', 'fixed:1.5', 'fixed:', 'fixed: 3', 'fixed:1e1', 'FIXED:3', 'Log2', 'all', '', 3, null])
    assert.ok(!QuorumRule.safeParse(bad).success, String(bad));
});

const rule = fc.oneof(
  fc.constantFrom<Rule>('one', 'log2', 'sqrt'),
  fc.integer({ min: 1, max: MAX_FIXED_QUORUM }).map((k): Rule => `fixed:${k}`),
);

test('property: every non-open rule needs >= 1 and <= max(n, 1) vouches, never fewer as the group grows, at most one more per admission', () => {
  fc.assert(fc.property(rule, fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 0, max: 1000 }), (r, n, grow) => {
    const q = quorum(r, n);
    assert.ok(QuorumRule.safeParse(r).success);
    assert.ok(Number.isInteger(q) && q >= 1 && q <= Math.max(n, 1));
    assert.ok(quorum(r, n + grow) >= q);
    assert.ok(quorum(r, n + 1) - q <= 1); // one admission raises the bar by at most one vouch
  }));
});
