// Key transparency end to end in Firefox 140 (Tor Browser 15's engine), with the built add-on
// and the real Operator behind the stand-in SOCKS proxy (PROTOCOL.md §5.11): when the Operator
// enters another key under bob's name in its log, bob's own add-on raises the alarm at its next
// check, and the popup shows it, loud, above the status line.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { b64, randomBytes } from '../../protocol/bytes.ts';
import { KeyPair, loadThemis } from '../../protocol/themis.ts';
import { onionFromKey } from '../../extension/background/address.ts';
import { startTestOperator } from '../support/operator.ts';
import { forgeLeaf } from '../support/equivocate.ts';
import { startFakeSocks } from './fakesocks.ts';
import { FIREFOXES, launch, poll } from './firefox.ts';
import { checkNow, onboard, waitPhase } from './popup.ts';

before(() => loadThemis());

test('bob sees the key-transparency alarm in the popup of Firefox 140', { timeout: 180_000 }, async () => {
  const executablePath = FIREFOXES.esr140!;
  assert.ok(existsSync(executablePath), `Firefox 140 missing at ${executablePath}: run scripts/setup-debian.sh`);
  assert.ok(existsSync('dist/extension/manifest.json'), 'build the add-on first (npm run build)');
  const op = await startTestOperator();
  const onion = onionFromKey(randomBytes(32));
  const socks = await startFakeSocks(onion, () => op.port);
  const bob = await launch({ executablePath, socksPort: socks.port, extDir: 'dist/extension', wasm: true, uuid: '0b0b0000-0000-4000-8000-0000000000e7' });
  try {
    await onboard(bob.page, onion, 'bob');
    await waitPhase(bob.page, 'unlocked');
    await checkNow(bob.page);
    assert.equal(await bob.page.evaluate(() => !!document.querySelector('#log-alarms')), false, 'no alarm while the log is honest');
    await forgeLeaf(op, 'bob', b64(new KeyPair().publicKey));
    await checkNow(bob.page);
    const shown = await poll(bob.page, () => document.querySelector('#log-alarms')?.textContent ?? '', undefined, 30_000, '#log-alarms');
    assert.match(shown, /failed a key-transparency check/);
    assert.match(shown, /someone else's key was entered in the log under your name @bob/);
  } finally {
    await bob.close().catch(() => undefined);
    await socks.close();
    await op.close();
  }
});
