// Look-alike names (PROTOCOL.md §5.7): case folding and the confusable skeleton.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { foldName, skeleton } from './names.ts';

test('names are folded to lower case for display and comparison', () => {
  assert.equal(foldName('@Alice_1'), 'alice_1');
  assert.equal(foldName('  BOB '), 'bob');
});

test('each confusable class maps look-alikes to one skeleton', () => {
  const alike: [string, string][] = [
    ['alice', 'aIice'], ['alice', 'a1ice'], ['alice', 'ALICE'], ['alice', 'alIce'],
    ['bob', 'b0b'], ['modern', 'rnodern'], ['william', 'vvilliam'], ['david', 'cIavid'], ['david', 'clavid'],
    ['alice', '_alice'], ['alice', 'alice__'],
  ];
  for (const [a, b] of alike) assert.equal(skeleton(a), skeleton(b), `${a} ~ ${b}`);
  const different: [string, string][] = [['alice', 'alicia'], ['bob', 'rob'], ['al_ice', 'alice'], ['mark', 'nark']];
  for (const [a, b] of different) assert.notEqual(skeleton(a), skeleton(b), `${a} ≁ ${b}`);
});

test('property: the skeleton ignores case and is stable (skeleton of a skeleton is itself)', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9_]{3,32}$/);
  fc.assert(fc.property(name, (n) => skeleton(n) === skeleton(n.toUpperCase()) && skeleton(n) === skeleton(n.toLowerCase())));
  fc.assert(fc.property(name, (n) => skeleton(skeleton(n)) === skeleton(n)));
});
