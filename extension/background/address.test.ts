// The Operator address setting accepts v3 onions (checksum verified) and, only with the
// developer option, loopback; never clearnet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { concat, randomBytes, utf8 } from '../../protocol/bytes.ts';
import { checkOperatorAddress, isV3Onion, onionFromKey } from './address.ts';

test('v3 onions are recognised by their checksum', () => {
  const onion = onionFromKey(randomBytes(32));
  assert.match(onion, /^[a-z2-7]{56}\.onion$/);
  assert.ok(isV3Onion(onion));
  const flipped = (onion[0] === 'a' ? 'b' : 'a') + onion.slice(1);
  assert.ok(!isV3Onion(flipped), 'one changed character breaks the checksum');
  assert.ok(!isV3Onion('a'.repeat(56) + '.onion'));
  assert.ok(!isV3Onion('expyuzz4wqqyqhjn.onion'), 'v2 onions are gone');
});

test('addresses: onion only, loopback with the developer option, never clearnet', () => {
  const onion = onionFromKey(randomBytes(32));
  assert.equal(checkOperatorAddress(`http://${onion}`, false), `http://${onion}`);
  assert.equal(checkOperatorAddress(` ${onion.toUpperCase()}/ `, false), `http://${onion}`);
  assert.throws(() => checkOperatorAddress(`https://${onion}`, false), /http:\/\//);
  assert.throws(() => checkOperatorAddress(`http://${onion}/path`, false), /only the address/);
  assert.throws(() => checkOperatorAddress('http://example.com', true), /Only onion/);
  assert.throws(() => checkOperatorAddress('http://10.0.0.1:80', true), /Only onion/);
  assert.throws(() => checkOperatorAddress('http://127.0.0.1:7657', false), /developer option/);
  assert.equal(checkOperatorAddress('http://127.0.0.1:7657', true), 'http://127.0.0.1:7657');
  assert.throws(() => checkOperatorAddress('javascript:alert(1)', true));
});

/** address.ts's own base32 loop before @scure/base, kept as the reference. */
function onionBefore(raw: Uint8Array): string {
  const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0, value = 0, s = '';
  for (const byte of raw) { value = (value << 8) | byte; bits += 8; while (bits >= 5) { s += B32[(value >>> (bits - 5)) & 31]; bits -= 5; } }
  return `${s}.onion`;
}

test('base32 from @scure/base gives the names the former loop gave; a published onion checks out', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
    const check = sha3_256(concat(utf8('.onion checksum'), key, Uint8Array.of(3))).subarray(0, 2);
    assert.equal(onionFromKey(key), onionBefore(concat(key, check, Uint8Array.of(3))));
  }), { numRuns: 500 });
  assert.ok(isV3Onion('2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion'), "the Tor Project's own onion");
});
