// A name that is taken or a look-alike is refused before any proof of work (PROTOCOL.md §5.12):
// the add-on asks the Operator first, so onboarding never registers and founding never sends a
// charter for such a name — the refusal comes in one round trip, in words that say why.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorClient } from '../../../protocol/client.ts';
import { loadThemis } from '../../../protocol/themis.ts';
import { startTestOperator } from '../../../test/support/operator.ts';
import { PASS, account, device, userError } from '../../../test/support/addon.ts';

before(() => loadThemis());

/** The real client, counting the calls that come after a proof of work. */
const worked = { register: 0, createCollective: 0 };
class Counting extends OperatorClient {
  override register(...a: Parameters<OperatorClient['register']>) { worked.register++; return super.register(...a); }
  override createCollective(...a: Parameters<OperatorClient['createCollective']>) { worked.createCollective++; return super.createCollective(...a); }
}

test('a taken or look-alike name: onboarding and founding are refused before the proof of work', async () => {
  const op = await startTestOperator();
  try {
    const alice = await account(op.url, 'alice', undefined, { client: (base) => new Counting(base) });
    worked.register = 0;
    const d = device(undefined, { client: (base) => new Counting(base) });
    for (const name of ['a1ice', 'aIice', '_alice']) await assert.rejects(d.k.create({ operator: op.url, name, passphrase: PASS, allowLoopback: true }), userError(/looks like an existing name/));
    await assert.rejects(d.k.create({ operator: op.url, name: 'Alice', passphrase: PASS, allowLoopback: true }), userError(/is taken/));
    for (const name of ['a1ice', 'alice']) await assert.rejects(alice.k.createCollective({ name, description: '', rule: 'one' }), userError(/looks like an existing name|is taken/));
    assert.deepEqual(worked, { register: 0, createCollective: 0 }, 'nothing was sent that needed a proof of work');
  } finally { await op.close(); }
});
