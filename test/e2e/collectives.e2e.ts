// Collectives end to end in real Firefox (140 with WebAssembly on and off for web pages, and
// Debian's current ESR), three profiles with the built add-on, the real Operator behind the
// SOCKS stand-in: alice founds @portland, bob asks and alice vouches (quorum 1), carol asks and
// alice and bob vouch (quorum 2) — real Semaphore proofs made in the add-on's background page
// from its packaged circuit. Everyone sees carol's count 2, and no collectives screen shows
// who vouched. Prints the time of each vouch (proof + replay + send) per browser. Then the feed
// (POSTS.md): alice, bob and carol post in @portland and each reads the others' posts in the
// Feed tab; carol leaves and does not read bob's next post (the keys were rotated without her).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import { randomBytes } from '../../protocol/bytes.ts';
import { loadThemis } from '../../protocol/themis.ts';
import { onionFromKey } from '../../extension/background/address.ts';
import { startTestOperator } from '../support/operator.ts';
import { holdRequests } from '../support/hold-requests.ts';
import { until } from '../support/until.ts';
import { startFakeSocks } from './fakesocks.ts';
import { FIREFOXES, launch, click, fill, poll, shot, text, waitFor, type Profile } from './firefox.ts';
import { addContact, checkNow, onboard, waitPhase } from './popup.ts';
import { checked, feedTexts, openPortland, post, reads, screenText, vouch } from './collectives-popup.ts';
import { cancelStuckOnboarding, hungServer, onboardRest, snapBoth } from './onboarding.ts';

before(() => loadThemis());

const EXT = 'dist/extension';
const RUNS: [string, boolean][] = [['esr140', true], ['esr140', false], ['esr', true]];

for (const [browserName, wasm] of RUNS) {
  const executablePath = FIREFOXES[browserName]!;
  const label = `${browserName}${wasm ? '' : '-nowasm'}`;
  test(`collectives: found, ask, anonymous vouches to quorum, counts without vouchers, in Firefox ${label}`, { timeout: 600_000 }, async () => {
    assert.ok(existsSync(executablePath), `Firefox missing at ${executablePath}: run scripts/setup-debian.sh`);
    assert.ok(existsSync(`${EXT}/semaphore-16.zkey`), 'build the add-on first (npm run build)');
    const op = await startTestOperator();
    op.server.keepAliveTimeout = 10 * 60_000;
    const onion = onionFromKey(randomBytes(32));
    const route = { port: op.port };
    const socks = await startFakeSocks(onion, () => route.port);
    const ids = ['0a11ce00-0000-4000-8000-0000000000c1', '0b0b0000-0000-4000-8000-0000000000c2', '0ca40100-0000-4000-8000-0000000000c3'];
    const profiles = [];
    try {
      for (const uuid of ids) profiles.push(await launch({ executablePath, socksPort: socks.port, extDir: EXT, wasm, uuid }));
      const [a, b, c] = profiles.map((p) => p.page) as [Page, Page, Page];
      const first = wasm && browserName === 'esr140';
      // a stuck connection first, while nobody else is onboarded (the stand-in leads the onion to a server that never answers)
      if (first) await cancelStuckOnboarding(profiles[2]!, onion, route, label);
      await onboard(a, onion, 'alice'); await waitPhase(a, 'unlocked');
      await onboardRest(profiles as [Profile, Profile, Profile], onion, label, first);
      const screens: Record<string, string[]> = { bob: [], carol: [] };
      const keep = async (phase: 'bob' | 'carol', p: Page) => screens[phase]!.push(await screenText(p));

      // alice starts founding @portland while the Operator does not answer: the wait says what it does; Cancel leaves nothing
      await click(a, '#tab-collectives');
      await fill(a, '#new-collective-name', 'portland');
      const hung = await hungServer(), real = route.port;
      route.port = hung.port;
      try {
        await click(a, '#create-collective');
        await waitFor(a, '#founding .cancel', 10_000);
        if (first) await snapBoth(profiles[0]!, `${label}-c00-founding`);
        await click(a, '#founding .cancel');
        assert.match(await poll(a, () => document.querySelector('#collectives-notice, #collectives-error')?.textContent, null, 10_000, 'founding cancelled') ?? '', /^Cancelled: nothing was sent to the Operator\.$/);
      } finally { route.port = real; hung.close(); }
      assert.equal(await a.evaluate(() => !!document.querySelector('#founding') || (document.querySelector('#create-collective') as HTMLButtonElement).disabled), false, 'the form is free again');
      await assert.rejects(op.client.getCollective('portland'), /no such|404|not found/i, 'nothing was founded');
      // alice founds @portland (log2)
      await fill(a, '#new-collective-description', '<img src=x onerror="document.title=1">a city');
      assert.equal(await a.evaluate(() => (document.querySelector('#new-collective-rule') as HTMLSelectElement).value), 'log2');
      await click(a, '#create-collective');
      // founding takes seconds (the name checked, a proof of work, the first group key): the wait says what it is doing
      assert.match(await poll(a, () => document.querySelector('#founding[role="status"]')?.textContent, null, 10_000, 'founding explained') ?? '', /Founding @portland: checking the name is free, then .*proof of work/s);
      await waitFor(a, '#collective[data-name="portland"][data-status="member"]', 60_000);
      assert.match((await text(a, '#small-warning')) ?? '', /not anonymous: only 1 member/);
      assert.equal(await a.evaluate(() => document.querySelectorAll('#collective img').length), 0, 'the description is text');
      // a lone founder has nobody to vote out and nobody to let her back in: neither action is offered
      assert.deepEqual(await a.evaluate(() => ['#expel', '#leave-collective', '#only-member'].map((s) => !!document.querySelector(s))), [false, false, true]);
      await shot(a, `${label}-c01-founded`);
      // alice turns notifications on; her add-on checks (it has seen no request yet). First an
      // out-of-range interval: refused with a visible message, the field marked, nothing saved
      await click(a, '#tab-settings');
      await waitFor(a, '#set-poll');
      const interval = await a.evaluate(() => (document.querySelector('#set-poll') as HTMLInputElement).value);
      await fill(a, '#set-poll', '2');
      await click(a, '#save-settings');
      assert.match((await poll(a, () => document.querySelector('#settings-error')?.textContent, null, 10_000, 'the refusal')) ?? '', /every 30–3600 seconds on average/);
      assert.deepEqual(await a.evaluate(() => [document.querySelector('#set-poll')?.getAttribute('aria-invalid'), !!document.querySelector('#saved')]), ['true', false]);
      await fill(a, '#set-poll', interval);
      await click(a, '#set-notify');
      await click(a, '#save-settings');
      await waitFor(a, '#saved');
      await checked(a);

      // the notices alice's add-on puts up, seen by their events too: Firefox 153 headless closes one at once
      await a.evaluate(() => {
        const ev = (globalThis as unknown as { browser: { notifications: Record<'onShown' | 'onClosed', { addListener(f: (id: string) => void): void }> } }).browser.notifications;
        const seen: string[] = (globalThis as unknown as { notices: string[] }).notices = [];
        for (const e of [ev.onShown, ev.onClosed]) e.addListener((id) => seen.push(id));
      });
      // bob asks; alice vouches (quorum 1). Alice's popup is open on her Collectives tab
      await click(a, '#tab-collectives');
      await openPortland(b);
      await click(b, '#ask-to-join');
      await waitFor(b, '#collective[data-status="requested"]', 30_000);
      await keep('bob', b);
      // the request arrives live (a held requests read; no "Check now", no poll): counted on her Collectives tab,
      // on @portland's row, on the badge; a notice without names
      await poll(a, () => document.querySelector('#tab-collectives #join-requests-total')?.textContent === '+1', null, 20_000, 'alice: +1 on the Collectives tab, live');
      assert.deepEqual(await a.evaluate(async () => {
        const b = (globalThis as unknown as { browser: { action: { getBadgeText(d: object): Promise<string>; getTitle(d: object): Promise<string> }; notifications: { getAll(): Promise<Record<string, unknown>> } } }).browser;
        const row = document.querySelector('.collective-item[data-name="portland"] .asking')?.textContent;
        const notices = [...Object.keys(await b.notifications.getAll()), ...(globalThis as unknown as { notices: string[] }).notices];
        return [row, await b.action.getBadgeText({}), await b.action.getTitle({}), [...new Set(notices)]];
      }), ['1 asking to join', '+1', 'Komrade · 1 join request', ['komrade-join']]);
      // notifications off again, the notice closed (its window would stand in the way of the test's own pages)
      await a.evaluate(() => (globalThis as unknown as { browser: { notifications: { clear(id: string): Promise<boolean> } } }).browser.notifications.clear('komrade-join'));
      await click(a, '#tab-settings');
      await click(a, '#set-notify');
      await click(a, '#save-settings');
      await waitFor(a, '#saved');
      await new Promise((r) => setTimeout(r, 1000));
      await click(a, '#tab-collectives');
      await waitFor(a, '.collective-item[data-name="portland"] .asking');
      await snapBoth(profiles[0]!, `${label}-c01b-join-request`);
      await openPortland(a);
      await keep('bob', a);
      const t1 = await vouch(a, 'bob');
      await keep('bob', a);
      await shot(a, `${label}-c02-vouched`);
      // alice's add-on hands bob the group key at its poll; bob's receives it at his
      await checkNow(a);
      await poll(a, () => !document.querySelector('#join-requests-total'), null, 30_000, 'alice: bob admitted, nobody left asking');
      await new Promise((r) => setTimeout(r, 1500));
      await checkNow(b);
      await click(b, '#tab-collectives');
      if (await b.evaluate(() => !!document.querySelector('#collective-back'))) await click(b, '#collective-back');
      await poll(b, () => document.querySelector('.collective-item[data-name="portland"]')?.getAttribute('data-status') === 'member', null, 30_000, 'bob a member');
      await openPortland(b);
      await poll(b, () => document.querySelector('#collective-status')?.textContent?.trim() === 'You are a member.', null, 30_000, 'bob holds the key');
      await keep('bob', b);

      // carol asks; alice and bob vouch (quorum 2). Alice's page of @portland is open: carol appears on it by itself
      await openPortland(a);
      await openPortland(c);
      await click(c, '#ask-to-join');
      await waitFor(c, '#collective[data-status="requested"]', 30_000);
      await keep('carol', c);
      await waitFor(a, '.candidate[data-name="carol"] .vouch', 20_000);
      await keep('carol', a);
      const t2 = await vouch(a, 'carol');
      await keep('carol', a);
      await openPortland(b);
      await keep('carol', b);
      // bob's first try is cancelled before its proof is sent: nothing sent, carol's count unchanged. The Operator holds
      // the step's read of the open requests until Cancel is pressed, so the test never races the prover's speed
      await waitFor(b, '.candidate[data-name="carol"] .vouch', 30_000);
      const gate = holdRequests(op.server, 'GET', '/v2/collectives/portland/requests');
      try {
        await click(b, '.candidate[data-name="carol"] .vouch');
        await waitFor(b, '#proving .cancel', 10_000);
        assert.match((await text(b, '#proving')) ?? '', /Cancel works until the proof is sent/);
        await click(b, '#proving .cancel');
        assert.match(await poll(b, () => document.querySelector('#collective-notice, #collectives-error')?.textContent, null, 30_000, 'vouch cancelled') ?? '', /^Cancelled: nothing was sent to the Operator\.$/);
      } finally { gate.release(); }
      assert.equal((await op.client.listRequests('portland')).requests.find((r) => r.request.name === 'carol')?.vouches, 1, 'the cancelled vouch was not counted');
      // carol's held reads begin at random times within a minute of her unlocking (live.ts, so that their start does not
      // tell when she came online): the hand-overs wait in her intro until its hold begins. The test waits for it first
      const carolIntro = `mailbox:${(await op.client.lookup('carol')).record.intro}`;
      await until(() => op.holds.holding(carolIntro) > 0, 'carol\'s intro held', 700, 100);
      const t3 = await vouch(b, 'carol');
      // carol's popup is open on @portland's page: her admission and then the group key (handed over by alice's and bob's
      // add-ons, whose popups are open too) appear on it without "Check now" or reopening (held reads; the page reads itself again)
      await poll(c, () => document.querySelector('#collective[data-name="portland"]')?.getAttribute('data-status') === 'member'
        && document.querySelector('#collective-status')?.textContent?.trim() === 'You are a member.', null, 30_000, 'carol\'s open page shows her admission and the key by itself');
      await click(c, '#collective-back');
      await poll(c, () => document.querySelector('.collective-item[data-name="portland"]')?.getAttribute('data-status') === 'member', null, 15_000, 'carol: a member on her list');
      await keep('carol', b);
      await shot(b, `${label}-c03-carol-admitted`);
      console.log(`# Firefox ${label}: vouch (replay + prove + send) ${t1}, ${t2}, ${t3} ms`);

      // everyone sees carol's count 2: alice and bob on her contact card, carol on her own
      for (const p of [a, b]) {
        await addContact(p, 'carol');
        const card = await poll(p, () => document.querySelector('.contact[data-name="carol"] .vouch-counts')?.textContent, null, 20_000, 'carol\'s counts');
        assert.match((card ?? "").replace(/\s+/g, ' '), /^2 vouches ?· @portland 2$/);
      }
      await checkNow(c);
      // carol looks at @portland (her own counts are looked up then, never by a background poll)
      await openPortland(c);
      await keep('carol', c);
      await shot(c, `${label}-c04-carol-member`);
      await click(c, '#tab-contacts');
      const mine = await poll(c, () => document.querySelector('#my-vouches')?.textContent, null, 20_000, 'carol\'s own counts');
      assert.match((mine ?? "").replace(/\s+/g, ' '), /^2 vouches ?· @portland 2$/);

      // the feed: everyone posts in @portland and reads the others' posts
      const said = { alice: 'alice: the garden meets on Sunday', bob: 'bob: <b>I bring</b> the seeds', carol: 'carol: and I the tools' };
      const tf = Date.now();
      // first carol's keys (handed over at alice's or bob's check) and her reading cursor (opened at
      // her next check): the Operator keeps a post until as many cursors as the epoch had members
      // when it opened have passed it, so one admitted later reads only what comes after her cursor
      await click(c, '#tab-feed');
      // while her keys have not come, the empty feed does not invite her to write the first post
      const before = await poll(c, () => document.querySelector('#feed-empty')?.textContent?.replace(/\s+/g, ' ').trim(), null, 20_000, 'carol: the empty feed');
      if (await c.evaluate(() => !!document.querySelector('#post-waiting'))) assert.match(before ?? '', /^No posts yet\. The keys of @portland have not reached you yet/);
      else console.log('# carol\'s keys came before her feed opened: the keyless empty feed was not seen');
      for (const end = Date.now() + 60_000; await c.evaluate(() => !document.querySelector('#post-text') || !!document.querySelector('#post-waiting'));) {
        assert.ok(Date.now() < end, 'carol: the keys of @portland did not come');
        await checked(a); await checked(b); await checked(c);
      }
      await checked(c); await checked(b);
      await post(a, said.alice);
      await click(b, '#tab-contacts');
      await checkNow(b);
      // alice's post is unread on bob's Feed tab, and read once he looks
      await poll(b, () => Number(document.querySelector('#feed-unread-total')?.textContent ?? 0) > 0, null, 30_000, 'bob: unread posts on the Feed tab');
      await reads(b, [said.alice]);
      assert.equal(await b.evaluate(() => document.querySelector('#feed .post[data-author="alice"]')?.getAttribute('data-unread')), 'true', 'marked new');
      await poll(b, () => !document.querySelector('#feed-unread-total'), null, 10_000, 'viewing the feed read it');
      await post(b, said.bob);
      await post(c, said.carol);
      for (const p of [a, b, c]) await reads(p, Object.values(said));
      assert.equal(await b.evaluate(() => document.querySelectorAll('#feed .post b').length), 0, 'a post is text');
      await snapBoth(profiles[0]!, `${label}-c05-feed`);
      // carol's own post has Delete; alice's name on it filters the feed and offers her card
      assert.equal(await c.evaluate(() => [...document.querySelectorAll('#feed .post')].map((e) => `${e.getAttribute('data-author')}:${!!e.querySelector('.delete')}`).sort().join(' ')), 'alice:false bob:false carol:true');
      await click(c, '#feed .post[data-author="alice"] .author');
      await waitFor(c, '#feed-author[data-author="alice"]');
      await poll(c, (t: string) => { const s = [...document.querySelectorAll('#feed .post .text')].map((e) => e.textContent); return s.length === 1 && s[0] === t; }, said.alice, 10_000, 'only alice\'s posts');
      // alice is not carol's contact: "Add contact"; then her card is offered
      await click(c, '#feed-author-add');
      await waitFor(c, '#feed-author-card', 20_000);
      await click(c, '#feed-author-clear');
      // carol is bob's contact: her name on her post leads to her card in Contacts
      await click(b, '#feed .post[data-author="carol"] .author');
      await click(b, '#feed-author-card');
      await poll(b, () => document.activeElement?.closest('.contact')?.getAttribute('data-name') === 'carol', null, 10_000, 'bob: carol\'s card, focused');
      // a member's page of @portland shows its posts
      await openPortland(a);
      await poll(a, (n: number) => document.querySelectorAll('#collective #feed[data-collective="portland"] .post').length === n, Object.keys(said).length, 20_000, '@portland\'s page shows its posts');

      // carol leaves; the keys are rotated without her; bob's next post is not hers to read
      // leaving is confirmed in place: what it costs is said, Stay has the focus, Escape keeps her in
      await openPortland(c);
      await click(c, '#leave-collective');
      await waitFor(c, '#leave-confirm');
      assert.equal(await c.evaluate(() => document.activeElement?.id), 'leave-no', 'Stay has the focus');
      assert.match((await text(c, '#leave-cost')) ?? '', /ask to join again and need fresh vouches/);
      await snapBoth(profiles[2]!, `${label}-c06-leave-confirm`);
      await c.keyboard.press('Escape');
      await poll(c, () => !document.querySelector('#leave-confirm') && document.activeElement?.id === 'leave-collective', null, 5_000, 'Escape: still a member, the focus back on Leave');
      await click(c, '#leave-collective');
      await click(c, '#leave-yes');
      await poll(c, () => !document.querySelector('#collective') && document.querySelector('#collectives-notice')?.textContent === 'You left @portland.', null, 30_000, 'carol left, and is told');
      assert.equal(await c.evaluate(() => document.activeElement?.id), 'collectives-notice');
      await shot(c, `${label}-c07-left`);
      const after = 'bob: carol has left';
      await post(b, after, [a]); // refused until bob's add-on has renewed the keys (hurried by the attempt)
      await reads(a, [after], 90_000);
      for (let i = 0; i < 2; i++) { await checkNow(c); await new Promise((r) => setTimeout(r, 1000)); }
      await click(c, '#tab-feed');
      await waitFor(c, '#feed:not([aria-busy="true"])');
      assert.ok(!(await feedTexts(c)).includes(after), 'carol, who left, reads the next post');
      // alice deletes her first post (confirmed): gone from her feed at once, from bob's once his add-on reads the tombstone
      await click(a, '#tab-feed');
      await waitFor(a, '#feed .post[data-author="alice"] .delete');
      await click(a, '#feed .post[data-author="alice"] .delete');
      await click(a, '#feed .post[data-author="alice"] .delete-yes');
      await poll(a, (t: string) => ![...document.querySelectorAll('#feed .post .text')].some((e) => e.textContent === t), said.alice, 30_000, 'alice: her post deleted');
      await click(b, '#tab-feed');
      for (const end = Date.now() + 60_000; (await feedTexts(b)).includes(said.alice);) {
        assert.ok(Date.now() < end, 'bob still reads the deleted post');
        await checkNow(b); await new Promise((r) => setTimeout(r, 1000));
      }
      // carol left before the deletion: no tombstone can reach her, and her add-on kept none of @portland's posts
      await click(c, '#tab-contacts'); await click(c, '#tab-feed');
      await waitFor(c, '#feed:not([aria-busy="true"])');
      assert.deepEqual(await feedTexts(c), [], 'carol, who left, keeps no post of @portland (the deleted one included)');
      console.log(`# Firefox ${label}: feed (3 posts, reading, carol leaves, a post after, a deletion) ${Date.now() - tf} ms`);

      // no collectives screen shows who vouched: bob's vouch was alice's; carol's were alice's and bob's
      for (const s of screens.bob!) assert.doesNotMatch(s, /alice/i, `a screen names bob's voucher: ${s}`);
      for (const s of screens.carol!) assert.doesNotMatch(s, /alice|bob/i, `a screen names carol's vouchers: ${s}`);
      assert.ok(screens.carol!.some((s) => /carol\s*1 of 2/.test(s)), 'the count was shown beside the candidate');
      assert.deepEqual(socks.log.filter((e) => !e.routed), [], 'the add-on asked the proxy for nothing but the onion');
    } finally {
      for (const p of profiles) await p.close().catch(() => undefined);
      await socks.close();
      await op.close().catch(() => undefined);
    }
  });
}
