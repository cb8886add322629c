// End to end in real Firefox ESR (Debian's current and 140, Tor Browser 15's engine), with
// the built add-on, Tor Browser's proxy prefs and always-private mode, two profiles (alice,
// bob) and the real Operator on LevelDB, reached only by its .onion through a SOCKS proxy.
// Here the SOCKS proxy is a stand-in that maps the .onion to the Operator (fake: real tor is
// tor.e2e.ts). Each run is repeated with javascript.options.wasm=false (Tor Browser's
// Safer/Safest levels): web pages lose WebAssembly, the add-on keeps it and still works.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { randomBytes } from '../../protocol/bytes.ts';
import { loadThemis } from '../../protocol/themis.ts';
import { onionFromKey } from '../../extension/background/address.ts';
import { startTestOperator, pendingBlobs } from '../../operator/testing.ts';
import { forge } from '../forge.ts';
import { startFakeSocks } from './fakesocks.ts';
import { linkage } from './linkage.ts';
import { FIREFOXES, launch, click, fill, poll, shot, waitFor } from './firefox.ts';
import { account } from '../../extension/background/testkit.ts';
import { PASS, addContact, badgeText, checkNow, errorText, lastOutState, onboard, openThread, phase, received, send, waitPhase } from './popup.ts';

before(() => loadThemis());

const HTML_BODY = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script><b>bold?</b>`;
const EXT = 'dist/extension';

for (const [browserName, executablePath] of Object.entries(FIREFOXES)) {
  for (const wasm of [true, false]) {
    const label = `${browserName}${wasm ? '' : '-nowasm'}`;
    test(`alice and bob message each other in Firefox ${label}`, { timeout: 240_000 }, async (t) => {
      assert.ok(existsSync(executablePath), `Firefox missing at ${executablePath}: run scripts/setup-debian.sh`);
      assert.ok(existsSync(`${EXT}/manifest.json`), 'build the add-on first (npm run build)');
      let op = await startTestOperator();
      const { port, dataDir } = op;
      const onion = onionFromKey(randomBytes(32));
      const socks = await startFakeSocks(onion, () => port);
      const alice = await launch({ executablePath, socksPort: socks.port, extDir: EXT, wasm, uuid: '0a11ce00-0000-4000-8000-000000000001' });
      const bob = await launch({ executablePath, socksPort: socks.port, extDir: EXT, wasm, uuid: '0b0b0000-0000-4000-8000-000000000002' });
      const a = alice.page, b = bob.page;
      const snap = (p: Page, name: string) => shot(p, `${label}-${name}`);
      try {
        await t.test('WebAssembly: gone from web pages when the pref is off, kept by the add-on', async () => {
          assert.equal(await a.evaluate(() => typeof WebAssembly), 'object', 'the popup has WebAssembly');
          const web = await alice.browser.newPage();
          await web.goto(`http://${onion}/v2/info`);
          assert.match(await web.evaluate(() => document.body.textContent ?? ''), /"powBits"/, 'a web page reaches the onion through the proxy');
          assert.equal(await web.evaluate(() => typeof WebAssembly), wasm ? 'object' : 'undefined');
          await web.close();
          const page = socks.log.filter((e) => e.requests.includes('/v2/info'));
          assert.ok(page.length > 0 && page.every((e) => e.user === undefined), "the web page's request is left to the browser: no add-on credentials on it");
          // the browser itself may also probe https for that plain-http web page; what follows is the add-on's traffic only
          socks.log.length = 0;
        });

        await t.test('onboarding: weak passphrase, HTML name, taken name, then success', async () => {
          await snap(a, '01-onboarding');
          await onboard(a, onion, 'alice', 'short');
          assert.match(await errorText(a, '#onboarding-error'), /at least 10/);
          assert.equal(await a.evaluate(() => document.querySelector('#strength')?.getAttribute('data-strength')), 'weak');
          await onboard(a, onion, '<img src=x onerror=alert(1)>');
          assert.match(await errorText(a, '#onboarding-error'), /3 to 32/);
          await onboard(a, onion, 'alice');
          await waitPhase(a, 'unlocked');
          await snap(a, '02-inbox-empty');
          await onboard(b, onion, 'ALICE');
          assert.match(await errorText(b, '#onboarding-error'), /taken/);
          await onboard(b, onion, 'bob');
          await waitPhase(b, 'unlocked');
        });

        await t.test('add contact: both see the same safety words', async () => {
          const words = await addContact(a, '@bob');
          await snap(a, '03-contacts');
          await click(b, '#tab-contacts');
          const own = await poll(b, () => document.querySelector('#my-safety-words')?.textContent, null);
          assert.equal(words, own);
          await click(a, '.contact[data-name="bob"] .verify');
          await poll(a, () => !!document.querySelector('.contact[data-name="bob"] .verified'), null, 10_000, 'verified');
        });

        await t.test('alice → bob: popup and badge show it, HTML renders as text; bob replies', async () => {
          await click(a, '.contact[data-name="bob"] .open');
          await waitFor(a, '#thread[data-name="bob"]');
          await send(a, HTML_BODY);
          await lastOutState(a, 'sent');
          await snap(a, '04-thread-sent');
          await checkNow(b);
          // alice is not among bob's contacts yet: a request, counted apart, accepted into a thread
          await click(b, '#tab-inbox');
          await poll(b, () => document.querySelector('#open-requests')?.textContent === 'Requests (1)', null, 20_000, 'Requests (1)');
          assert.equal(await b.evaluate(() => document.querySelector('#unread-total')), null, 'a request is not unread');
          assert.equal(await badgeText(b), '+1', 'the badge counts the request apart');
          await click(b, '#open-requests');
          await waitFor(b, '.request[data-name="alice"]');
          await snap(b, '05a-request');
          await click(b, '.request[data-name="alice"] .accept');
          await waitFor(b, '#thread[data-name="alice"]');
          await click(b, '#tab-inbox');
          await poll(b, () => document.querySelector('#unread-total')?.textContent === '1', null, 20_000, 'unread 1');
          assert.equal(await badgeText(b), '1');
          await click(b, '#tab-inbox');
          await snap(b, '05-inbox-unread');
          await openThread(b, 'alice');
          await poll(b, (h: string) => document.querySelector('.msg.in .text')?.textContent === h, HTML_BODY, 10_000, 'html body as text');
          assert.equal(await b.evaluate(() => document.querySelectorAll('#thread img, #thread script, #thread b').length), 0, 'no element was made from the payload');
          assert.notEqual(await b.evaluate(() => document.title), 'pwned');
          await snap(b, '06-thread-html-as-text');
          await send(b, 'hello alice');
          await checkNow(a);
          await received(a, 'hello alice');
          assert.equal(await badgeText(b), '', 'reading cleared bob\'s badge');
        });

        await t.test('after both have read, the Operator holds nothing of the conversation', async () => {
          assert.equal(await pendingBlobs(op), 0);
        });

        await t.test('a stranger lands in Requests; blocked, their next message is dropped', async () => {
          const mallory = await account(op.url, 'mallory');
          await mallory.k.addContact({ name: 'alice' });
          await mallory.k.send({ name: 'alice', text: 'hello from a stranger' });
          await checkNow(a);
          await click(a, '#tab-inbox');
          await poll(a, () => document.querySelector('#open-requests')?.textContent === 'Requests (1)', null, 20_000, 'Requests (1)');
          assert.equal(await a.evaluate(() => !!document.querySelector('.conversation[data-name="mallory"]')), false, 'not among conversations');
          await click(a, '#open-requests');
          await poll(a, () => document.querySelector('.request[data-name="mallory"] .text')?.textContent, null, 10_000, 'request shown');
          await click(a, '.request[data-name="mallory"] .block');
          await poll(a, () => !document.querySelector('.request[data-name="mallory"]'), null, 10_000, 'request gone');
          await mallory.k.send({ name: 'alice', text: 'still here' });
          const intro = (await op.client.lookup('alice')).record.intro;
          await checkNow(a);
          for (let i = 0; i < 100 && (await pendingBlobs(op, intro)) > 0; i++) await new Promise((r) => setTimeout(r, 100));
          assert.equal(await pendingBlobs(op, intro), 0, 'fetched and acknowledged');
          await click(a, '#requests-back');
          assert.equal(await a.evaluate(() => !!document.querySelector('#open-requests')), false, 'no request: the message was dropped');
          assert.equal(await a.evaluate(() => document.body.textContent?.includes('still here')), false);
          await click(a, '#tab-settings');
          await waitFor(a, '.blocked-name[data-name="mallory"]');
          await snap(a, '07a-blocked');
          await click(a, '.blocked-name[data-name="mallory"] .unblock');
          await poll(a, () => !document.querySelector('.blocked-name[data-name="mallory"]'), null, 10_000, 'unblocked');
          await openThread(a, 'bob');
        });

        await t.test('Operator down: the message stays queued and is sent when it returns', async () => {
          await op.close();
          await send(a, 'are you there?');
          await lastOutState(a, 'queued');
          await poll(a, () => document.querySelector('#status-line')?.getAttribute('data-reachable') === 'false', null, 10_000, 'unreachable shown');
          await snap(a, '07-queued-operator-down');
          op = await startTestOperator({ port, dataDir });
          await click(a, '#retry');
          await lastOutState(a, 'sent');
          await checkNow(b);
          await received(b, 'are you there?');
        });

        await t.test('lock now, wrong passphrase, unlock', async () => {
          await click(a, '#tab-settings');
          await snap(a, '08-settings');
          await click(a, '#lock-now');
          await waitPhase(a, 'locked');
          await snap(a, '09-locked');
          await fill(a, '#unlock-pass', 'not my passphrase');
          await click(a, '#unlock');
          assert.match(await errorText(a, '#unlock-error'), /Wrong passphrase/);
          assert.equal(await phase(a), 'locked');
          await fill(a, '#unlock-pass', PASS);
          await click(a, '#unlock');
          await waitPhase(a, 'unlocked');
        });

        await t.test('a third party forges a message "from bob": alice sees a quiet refusal, no key-change warning, sending still works', async () => {
          // the attacker has no name and no add-on: an independent client (here in Node) seals a
          // message signed by its own key, claiming to be bob, and deposits it into alice's intro
          // mailbox through the real Operator, with the intro deposit's proof of work
          await forge(op.client, { to: 'alice', from: 'bob', text: 'FORGED: bob here, new key' });
          await checkNow(a);
          await openThread(a, 'bob');
          const notice = await poll(a, () => document.querySelector('#thread .notice[data-notice="forged"]')?.textContent ?? '', null, 20_000, 'forged notice');
          assert.match(notice, /a forged message for @bob was refused/);
          assert.equal(await a.evaluate(() => !!document.querySelector('#key-changed')), false, 'no key-change warning');
          assert.equal(await a.evaluate(() => document.body.textContent?.includes('FORGED')), false, 'the forged text is not shown');
          assert.equal(await a.evaluate(() => !!document.querySelector('#thread .verified')), true, 'bob is still verified');
          assert.equal(await a.evaluate(() => (document.querySelector('#compose') as HTMLTextAreaElement).disabled), false, 'sending is not blocked');
          await snap(a, '10a-forgery-refused');
          await click(a, '#tab-inbox');
          await waitFor(a, '.conversation[data-name="bob"]');
          assert.equal(await a.evaluate(() => !!document.querySelector('.conversation[data-name="bob"] .keychanged')), false, 'no key-changed mark in the inbox');
          await openThread(a, 'bob');
          await send(a, 'was that you?');
          await lastOutState(a, 'sent');
          await checkNow(b);
          await openThread(b, 'alice');
          await received(b, 'was that you?');
        });

        await t.test('a changed key is a loud warning and blocks sending until accepted', async () => {
          await click(b, '#tab-settings');
          await click(b, '#delete-account');
          await fill(b, '#delete-pass', PASS);
          await click(b, '#confirm-delete');
          await waitPhase(b, 'new');
          await onboard(b, onion, 'bob', 'another passphrase, new device');
          await waitPhase(b, 'unlocked');
          await addContact(b, 'alice');
          await click(b, '.contact[data-name="alice"] .open');
          await send(b, 'new device, same bob');
          await checkNow(a);
          await openThread(a, 'bob');
          await waitFor(a, '#key-changed');
          assert.equal(await a.evaluate(() => (document.querySelector('#compose') as HTMLTextAreaElement).disabled), true, 'sending is blocked');
          assert.equal(await a.evaluate(() => !!document.querySelector('#refuse-key')), true, 'refusing is offered beside accepting');
          assert.equal(await a.evaluate(() => !!document.querySelector('#thread .verified')), false, '"verified" is not shown while a change is pending');
          await snap(a, '10-key-changed');
          await click(a, '#accept-key');
          await poll(a, () => !document.querySelector('#key-changed'), null, 10_000, 'warning gone');
          await send(a, 'welcome back');
          await lastOutState(a, 'sent');
        });

        await t.test('the add-on only ever asked the proxy for the onion', () => {
          assert.ok(socks.log.length > 0);
          assert.deepEqual(socks.log.filter((e) => !e.routed), [], 'no request for any other host');
        });

        await t.test('one circuit per mailbox: no circuit carries requests for two mailboxes or names', async () => {
          assert.deepEqual(socks.log.filter((e) => e.user === undefined), [], 'every add-on request carried SOCKS credentials');
          const { touched, linked } = linkage(socks.byCircuit());
          // at least: two names, two intro mailboxes and one mailbox each way of the conversation
          assert.ok(touched.size >= 6, `the run touched too few mailboxes and names to tell: ${[...touched].join(", ")}`);
          assert.deepEqual(linked, [], 'requests on one circuit touched more than one mailbox or name');
          assert.equal(await a.evaluate(() => document.querySelector('#status-line')?.getAttribute('data-circuits')), 'per-mailbox');
        });
      } finally {
        await alice.close().catch(() => undefined);
        await bob.close().catch(() => undefined);
        await socks.close();
        await op.close().catch(() => undefined);
      }
    });
  }
}

// Tor Browser on Linux and macOS reaches tor's SocksPort over a Unix socket (network.proxy.socks
// = file://…): the add-on must still reach its Operator that way, one circuit per mailbox.
test('SOCKS over a Unix socket, as Tor Browser on Linux: onboarding works and every request has its circuit', { timeout: 120_000 }, async () => {
  const executablePath = FIREFOXES.esr140!;
  assert.ok(existsSync(executablePath), `Firefox missing at ${executablePath}: run scripts/setup-debian.sh`);
  const op = await startTestOperator();
  const onion = onionFromKey(randomBytes(32));
  const path = join(mkdtempSync(join(tmpdir(), 'komrade-socks-')), 'socks.socket');
  const socks = await startFakeSocks(onion, () => op.port, path);
  const alice = await launch({ executablePath, socksPort: 0, socksHost: `file://${path}`, extDir: EXT, wasm: true, uuid: '0a11ce00-0000-4000-8000-000000000003' });
  try {
    const a = alice.page;
    await onboard(a, onion, 'alice');
    await waitPhase(a, 'unlocked');
    await checkNow(a);
    const fetched = () => socks.log.some((e) => e.requests.some((r) => /^\/v2\/mailboxes\/[^/]+\/fetch$/.test(r)));
    for (let i = 0; !fetched(); i++) { assert.ok(i < 200, 'no mailbox fetch went through the Unix socket'); await new Promise((r) => setTimeout(r, 100)); }
    assert.deepEqual(socks.log.filter((e) => e.user === undefined), [], 'every add-on request carried SOCKS credentials');
    const { touched, linked } = linkage(socks.byCircuit());
    assert.ok(touched.has('name alice') && [...touched].some((x) => x.startsWith('mailbox ')), `touched: ${[...touched].join(', ')}`);
    assert.deepEqual(linked, []);
    assert.equal(await a.evaluate(() => document.querySelector('#status-line')?.getAttribute('data-circuits')), 'per-mailbox');
  } finally {
    await alice.close().catch(() => undefined);
    await socks.close();
    await op.close();
  }
});
