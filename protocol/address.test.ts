// Addresses that name their Operator (PROTOCOL.md §11): `@name` at home, `@name@<onion>`
// elsewhere, loopback Operators only in developer mode; bad input is refused with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomBytes } from './bytes.ts';
import { AddressError, checkOperator, formatAddress, handleOf, Handle, operatorFromHost, parseAddress, splitHandle } from './address.ts';
import { onionFromKey } from './onion.ts';

const A = `http://${onionFromKey(randomBytes(32))}`, B = `http://${onionFromKey(randomBytes(32))}`;
const host = (origin: string) => origin.slice('http://'.length);

test('a bare name is on the home Operator; a named one on its onion', () => {
  assert.deepEqual(parseAddress('@Bob', { home: A, allowLoopback: false }), { name: 'bob', operator: A });
  assert.deepEqual(parseAddress(' bob ', { home: A, allowLoopback: false }), { name: 'bob', operator: A });
  assert.deepEqual(parseAddress(`@bob@${host(B)}`, { home: A, allowLoopback: false }), { name: 'bob', operator: B });
  assert.deepEqual(parseAddress(`Bob@${host(B).toUpperCase()}`, { home: A, allowLoopback: false }), { name: 'bob', operator: B });
  assert.deepEqual(parseAddress(`@bob@${host(A)}`, { home: A, allowLoopback: false }), { name: 'bob', operator: A }, 'one’s own onion named in full is home');
});

test('the short form at home, the full form elsewhere; handles round-trip', () => {
  assert.equal(formatAddress({ name: 'Bob', operator: A }, A), '@bob');
  assert.equal(formatAddress({ name: 'bob' }, A), '@bob');
  assert.equal(formatAddress({ name: 'bob', operator: B }, A), `@bob@${host(B)}`);
  for (const op of [A, B, 'http://127.0.0.1:4567', 'http://localhost']) {
    const h = handleOf({ name: 'bob', operator: op }, A);
    assert.ok(Handle.safeParse(h).success, h);
    assert.deepEqual(splitHandle(h, A), { name: 'bob', operator: op });
  }
  assert.notEqual(handleOf({ name: 'bob', operator: B }, A), handleOf({ name: 'bob', operator: A }, A), 'bob on B is not bob on A');
});

test('a loopback Operator is written host:port, only in developer mode', () => {
  assert.deepEqual(parseAddress('@bob@127.0.0.1:4567', { home: A, allowLoopback: true }), { name: 'bob', operator: 'http://127.0.0.1:4567' });
  assert.deepEqual(parseAddress('@bob@localhost:80', { home: A, allowLoopback: true }), { name: 'bob', operator: 'http://localhost' });
  assert.deepEqual(parseAddress('@bob@127.0.0.1', { home: A, allowLoopback: true }), { name: 'bob', operator: 'http://127.0.0.1' });
  assert.throws(() => parseAddress('@bob@127.0.0.1:4567', { home: A, allowLoopback: false }), /developer option/);
  assert.ok(checkOperator('http://127.0.0.1:4567', true));
  assert.ok(!checkOperator('http://127.0.0.1:4567', false));
  assert.ok(checkOperator(B, false));
});

test('bad addresses are refused with a reason, never half-parsed', () => {
  const o = { home: A, allowLoopback: true };
  const flipped = host(B).replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
  const bad: [string, RegExp][] = [
    ['@', /name is 3 to 32/], ['@bo', /name is 3 to 32/], ['@bob@', /onion address/], ['@b-b', /name is 3 to 32/],
    ['@bob@example.com', /onion address/], ['@bob@10.0.0.1:80', /onion address/], [`@bob@${flipped}`, /checksum/],
    ['@bob@expyuzz4wqqyqhjn.onion', /onion address/], [`@bob@${host(B)}/path`, /onion address/], [`@bob@http://${host(B)}`, /onion address/],
    [`@bob@@${host(B)}`, /@name@operator/], [`@bob@${host(B)}@x`, /@name@operator/],
    ['@bob@127.0.0.1:0', /not a port/], ['@bob@127.0.0.1:70000', /not a port/], ['@bob@127.0.0.300:80', /not an address/],
    [`@${'a'.repeat(33)}`, /name is 3 to 32/], [`@bob@${'a'.repeat(300)}`, /too long/], ['@bob@[::1]:80', /onion address/],
  ];
  for (const [text, why] of bad) assert.throws(() => parseAddress(text, o), (e) => e instanceof AddressError && why.test(e.message), text);
  assert.throws(() => operatorFromHost('', true), AddressError);
  assert.ok(!checkOperator('https://' + host(B), true));
  assert.ok(!checkOperator(`http://${flipped}`, true));
});

test('any text either parses to a valid name and Operator or throws an AddressError', () => {
  fc.assert(fc.property(fc.string({ maxLength: 120 }), fc.boolean(), (text, allowLoopback) => {
    try {
      const a = parseAddress(text, { home: A, allowLoopback });
      assert.match(a.name, /^[a-z0-9_]{3,32}$/);
      assert.ok(a.operator === A || checkOperator(a.operator, allowLoopback));
    } catch (e) { assert.ok(e instanceof AddressError, String(e)); }
  }), { numRuns: 2000 });
});
