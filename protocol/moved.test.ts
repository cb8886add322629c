/** The "moved" body's shape (END-TO-END.md §7, PROTOCOL.md §11.4): what it carries and what it refuses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { b64, randomBytes } from './bytes.ts';
import { MovedMessage } from './message.ts';

const good = () => ({
  kind: 'moved', from: 'carol', name: 'carol', home: 'http://127.0.0.1:4101',
  replyTo: b64(randomBytes(16)), prekey: { id: b64(randomBytes(8)), key: b64(randomBytes(45)) },
});

test('a moved body names the new name, home, replyTo and prekey', () => {
  const m = MovedMessage.parse(good());
  assert.equal(m.home, 'http://127.0.0.1:4101');
  assert.equal(m.name, 'carol');
});

test('a moved body without a home, with a clearnet home, or with an extra field is refused', () => {
  const { home: _, ...noHome } = good();
  assert.equal(MovedMessage.safeParse(noHome).success, false);
  assert.equal(MovedMessage.safeParse({ ...good(), home: 'https://example.com' }).success, false);
  assert.equal(MovedMessage.safeParse({ ...good(), text: 'hi' }).success, false);
  assert.equal(MovedMessage.safeParse({ ...good(), name: 'no spaces' }).success, false);
});
