// Cancel for the collectives waits (issue #19 item 5) against a real Operator: founding, asking
// to join and vouching are abandoned at once while nothing has reached the Operator (which then
// holds nothing of them), and once the request is on its way Cancel says it is too late.
// The client is the real one; one of its calls is held back (a gate) so Cancel lands mid-step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorClient } from '../../../protocol/client.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { shutdownCurve } from '../../../protocol/vouch.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { account, userError } from '../../../test/support/addon.ts';
import { STEP_CANCELLED } from './cancel-step.ts';

/** The call held back next (by client method), with what tells the test it was reached and what lets it go on. */
let gate: { method: string; reached: () => void; go: Promise<void> } | undefined;
/** Hold the next call of client method `method` until `release`; `reached` resolves once it is made. */
function holdNext(method: string): { reached: Promise<void>; release: () => void } {
  let release!: () => void, reached!: () => void;
  const go = new Promise<void>((r) => { release = r; });
  const at = new Promise<void>((r) => { reached = r; });
  gate = { method, reached, go };
  return { reached: at, release };
}
/** Wait at the gate if `method` is the one held back. */
async function pass(method: string) {
  if (gate?.method !== method) return;
  const g = gate; gate = undefined; g.reached(); await g.go;
}
class Gated extends OperatorClient {
  override async available(...a: Parameters<OperatorClient['available']>) { await pass('available'); return super.available(...a); }
  override async getCollective(...a: Parameters<OperatorClient['getCollective']>) { await pass('getCollective'); return super.getCollective(...a); }
  override async requestJoin(...a: Parameters<OperatorClient['requestJoin']>) { await pass('requestJoin'); return super.requestJoin(...a); }
  override async listRequests(...a: Parameters<OperatorClient['listRequests']>) { await pass('listRequests'); return super.listRequests(...a); }
}

type Op = Awaited<ReturnType<typeof startTestOperator>>;
let op: Op;
before(async () => { await loadThemis(); op = await startTestOperator(); });
after(async () => { await op?.close(); await shutdownCurve(); });
const cancelled = userError(new RegExp(`^${STEP_CANCELLED.replace(/[.:]/g, '\\$&')}$`));

test('founding, asking and vouching cancelled before they reach the Operator leave nothing there', { timeout: 60_000 }, async () => {
  const alice = await account(op.url, 'alice', undefined, { client: (base) => new Gated(base) });
  const bob = await account(op.url, 'bob', undefined, { client: (base) => new Gated(base) });
  assert.equal(await alice.k.cancelStep(), false, 'nothing to cancel');
  // founding: cancelled while the name's availability is asked (before the proof of work)
  let g = holdNext('available');
  const founding = alice.k.createCollective({ name: 'portland', description: '', rule: 'one' });
  await g.reached;
  assert.equal(await alice.k.cancelStep(), true);
  await assert.rejects(founding, cancelled);
  g.release();
  await assert.rejects(op.client.getCollective('portland'), /404|no such/i);
  assert.deepEqual(await alice.k.collectives(), []);
  // founded for real, then bob's request cancelled while the charter is read
  await alice.k.createCollective({ name: 'portland', description: '', rule: 'one' });
  g = holdNext('getCollective');
  const asking = bob.k.askToJoin({ name: 'portland' });
  await g.reached;
  assert.equal(await bob.k.cancelStep(), true);
  await assert.rejects(asking, cancelled);
  g.release();
  assert.deepEqual((await op.client.listRequests('portland')).requests, []);
  assert.deepEqual(await bob.k.collectives(), []);
  // a request that is on its way cannot be cancelled: it arrives
  g = holdNext('requestJoin');
  const sent = bob.k.askToJoin({ name: 'portland' });
  await g.reached;
  assert.equal(await bob.k.cancelStep(), false, 'too late');
  g.release();
  assert.equal((await sent).myStatus, 'requested');
  // alice's vouch cancelled while the open requests are read (before the proof): nothing counted
  g = holdNext('listRequests');
  const vouching = alice.k.vouch({ collective: 'portland', name: 'bob' });
  await g.reached;
  assert.equal(await alice.k.cancelStep(), true);
  await assert.rejects(vouching, cancelled);
  g.release();
  assert.equal((await op.client.listRequests('portland')).requests[0]?.vouches, 0);
  // a vouch that still waits for the state lock behind other work (a held read's filing, a poll) is cancelled too:
  // the popup shows Cancel at once, and nothing has been sent yet
  let free!: () => void;
  const busy = alice.k.ctx.serial(() => new Promise<void>((r) => { free = r; }));
  const queued = alice.k.vouch({ collective: 'portland', name: 'bob' });
  assert.equal(await alice.k.cancelStep(), true, 'a queued step can be cancelled');
  free(); await busy;
  await assert.rejects(queued, cancelled);
  assert.equal((await op.client.listRequests('portland')).requests[0]?.vouches, 0);
  // and she can vouch after all (the cancelled ones were never counted as hers)
  assert.equal((await alice.k.vouch({ collective: 'portland', name: 'bob' })).admitted, true);
});
