// Invites (PROTOCOL.md §10): one line that is also a link; written and read back; anything
// else pasted (too long, another page, a field wrong, an unknown version, half an inviter) is
// not an invite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, randomBytes } from './bytes.ts';
import { INVITE_VERSION, MAX_INVITE, fingerprint, formatInvite, parseInvite } from './invite.ts';

const onion = `http://${'a'.repeat(28)}${'b2'.repeat(14)}.onion`;
const key = fingerprint(b64(randomBytes(45)));

test('an invite is one line, a link to the Operator whose fragment names the inviter; it reads back the same', () => {
  const inv = { v: INVITE_VERSION, operator: onion, from: { name: 'alice', key } } as const;
  const line = formatInvite(inv);
  assert.equal(line, `${onion}/#komrade-invite=1&from=alice&key=${key}`);
  assert.ok(!/\s/.test(line) && line.length < MAX_INVITE);
  assert.deepEqual(parseInvite(`  ${line}\n`), inv);
  // the Operator's own invite names nobody
  const own = formatInvite({ v: 1, operator: onion });
  assert.equal(own, `${onion}/#komrade-invite=1`);
  assert.deepEqual(parseInvite(own), { v: 1, operator: onion });
  assert.deepEqual(parseInvite('http://127.0.0.1:7657/#komrade-invite=1'), { v: 1, operator: 'http://127.0.0.1:7657' });
  assert.equal(key.length, 43);
  assert.notEqual(fingerprint(b64(randomBytes(45))), key);
});

test('what is not an invite is refused whole', () => {
  const good = `${onion}/#komrade-invite=1&from=alice&key=${key}`;
  for (const bad of [
    '', onion, `${onion}/`, good.replace('komrade-invite=1', 'komrade-invite=2'), good.replace('from=alice', 'from=a'),
    good.replace(key, key.slice(1)), good.replace('&from=alice', ''), good.replace(`&key=${key}`, ''),
    good.replace('http://', 'https://'), good.replace('.onion/', '.onion.example.com/'), good.replace('.onion/', '.onion/page'),
    `${good}&from=bob`, `${good}&x=1`, good.replace('#', '?'), `${good} ${good}`, `http://example.com/#komrade-invite=1`,
    `${onion}/#komrade-invite=1&key=${'A'.repeat(MAX_INVITE)}`, 'javascript:alert(1)//#komrade-invite=1', 'not a link at all',
  ]) assert.equal(parseInvite(bad), undefined, bad.slice(0, 120));
});
