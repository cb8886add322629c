// The Operator address setting accepts v3 onions (checksum verified) and, only with the
// developer option, loopback; never clearnet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from '../../protocol/bytes.ts';
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
