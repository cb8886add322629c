// The client against a hostile Operator (PROTOCOL.md §5): answers whose decimal fields are not
// numbers (field elements in trees, members, epochs, logs) are refused with a clear
// OperatorError 'malformed response', never a throw from inside the schema check.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OperatorClient, OperatorError } from './client.ts';

/** An Operator that answers every request with `body` (200, JSON). */
let body: unknown = {};
const server = createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(body)); });
await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
after(() => new Promise<void>((ok) => server.close(() => ok())));
const client = new OperatorClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);

const proof = { merkleTreeDepth: 16, merkleTreeRoot: '1', nullifier: '2', message: '3', scope: '4', points: Array(8).fill('5') as string[] };
const hostile: [string, () => Promise<unknown>, unknown][] = [
  ['tree: a leaf "x"', () => client.tree('coop'), { leaves: ['1', 'x'], root: '1', acceptedRoots: ['1'] }],
  ['tree: a root "1e3"', () => client.tree('coop'), { leaves: ['1'], root: '1e3', acceptedRoots: [] }],
  ['member: commitment "-1"', () => client.member('coop', 'ann'), { name: 'ann', leaf: 0, commitment: '-1', vouches: 0, vouchEpoch: 0, expelEpoch: 0, votes: 0, expelNeeded: 1 }],
  ['current epoch: root "0x10"', () => client.currentEpoch('coop'), { epoch: 1, postingKey: 'A'.repeat(60), root: '0x10', members: 1 }],
  ['log: a proof point "NaN"', () => client.log('coop'), { entries: [{ seq: 0, prev: '', ts: 0, type: 'admit', name: 'ann', leaf: 1, commitment: '5', epoch: 0, proofs: [{ ...proof, points: [...proof.points.slice(1), 'NaN'] }], root: '1' }], more: false }],
  ['log: a root " 1"', () => client.log('coop'), { entries: [{ seq: 0, prev: '', ts: 0, type: 'admit', name: 'ann', leaf: 1, commitment: '5', epoch: 0, proofs: [], root: ' 1' }], more: false }],
];
for (const [what, call, answer] of hostile) {
  test(`a hostile answer is a clear error, not a throw: ${what}`, async () => {
    body = answer;
    await assert.rejects(call(), (e) => e instanceof OperatorError && e.reason === 'malformed response');
  });
}
