/**
 * Onboarding steps of the collectives browser test (issue #19 items 4, 5, 10): a wait on a
 * connection that never answers explains itself, says when it is slower than usual and can be
 * cancelled; a look-alike name is refused as one; alice's invite (copied from Contacts) brings
 * bob to the Operator and offers alice, checked against the directory, as his first contact.
 * New screens are photographed in light and dark, contrast measured, axe-core clean.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Page } from 'puppeteer-core';
import { formatInvite, parseInvite } from '../../protocol/invite.ts';
import { axeSerious, click, colorScheme, contrast, fill, poll, shot, textColours, waitFor, type Profile } from './firefox.ts';
import { PASS, errorText, onboard, waitPhase } from './popup.ts';

/** Photograph a screen in both themes; every text at least 4.5:1 and axe-core finds nothing serious (the onboarding and collectives e2e). */
export async function snapBoth(pr: Profile, name: string) {
  for (const scheme of ['light', 'dark'] as const) {
    await colorScheme(pr, scheme);
    await shot(pr.page, `${name}-${scheme}`);
    const low = (await textColours(pr.page)).map((x) => ({ ...x, ratio: contrast(x.fg, x.bg) })).filter((x) => x.ratio < 4.5);
    assert.deepEqual(low.map((x) => `${x.where} "${x.text}" ${x.ratio.toFixed(2)}:1`), [], `${name}, ${scheme}: text under 4.5:1`);
    assert.deepEqual(await axeSerious(pr.page), [], `${name}, ${scheme}: axe-core finds serious or critical violations`);
  }
  await colorScheme(pr, 'light');
}

/** A TCP server that accepts and never answers: a stuck Operator (or circuit). */
export async function hungServer(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => { sockets.add(s); s.on('error', () => undefined); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => { for (const s of sockets) s.destroy(); srv.close(); } };
}

/** Carol's onboarding hangs (the onion leads to a server that never answers): explained, slow, cancelled. Nobody else is onboarded yet. */
export async function cancelStuckOnboarding(c: Profile, onion: string, route: { port: number }, label: string) {
  const hung = await hungServer(), real = route.port;
  route.port = hung.port;
  try {
    await onboard(c.page, onion, 'carol');
    const wait = await poll(c.page, () => document.querySelector('#pow-progress[role="status"]')?.textContent, null, 10_000, 'the wait explained');
    assert.match(wait ?? '', /Registering @carol: connecting to the Operator through Tor, then your computer solves\s+its proof of work/);
    assert.match(await poll(c.page, () => document.querySelector('#pow-progress .elapsed')?.textContent, null, 10_000, 'seconds so far') ?? '', /^\(\d+ s\)$/);
    // past twice the usual time (15 s) it says so, and that cancelling is possible
    const slow = await poll(c.page, () => document.querySelector('#pow-progress[data-slow="true"] .slow')?.textContent, null, 60_000, 'slower than usual');
    assert.match(slow ?? '', /slower than usual.*You can keep waiting or cancel/s);
    await snapBoth(c, `${label}-onboarding-slow`);
    await click(c.page, '#pow-progress .cancel');
    assert.match(await errorText(c.page, '#onboarding-error'), /Cancelled: nothing was registered/);
    assert.equal(await c.page.evaluate(() => [...document.querySelectorAll('#onboarding input')].some((i) => i.matches(':disabled')) || !!document.querySelector('#pow-progress')), false, 'the form is free again');
    await waitPhase(c.page, 'new');
  } finally { route.port = real; hung.close(); }
}

/** Alice (unlocked) copies her invite from Contacts; returns it. */
export async function copyInvite(a: Page): Promise<string> {
  await click(a, '#tab-contacts');
  const invite = await poll(a, () => (document.querySelector('#my-invite') as HTMLInputElement | null)?.value, null, 20_000, 'alice\'s invite');
  // a real click (the clipboard needs a person's gesture; the helper's synthetic click is none)
  await a.click('#copy-invite');
  const said = await poll(a, () => document.querySelector('#contacts-error')?.textContent || (document.querySelector('#copy-invite')?.textContent === 'Copied' && 'Copied'), null, 10_000, 'copied');
  assert.equal(said, 'Copied');
  return invite!;
}

/** Bob onboards from alice's invite (pasted whole) and is offered alice, checked, then added. */
export async function onboardFromInvite(b: Profile, invite: string, label: string, snaps: boolean) {
  const p = b.page;
  await waitPhase(p, 'new');
  await fill(p, '#operator', invite);
  assert.match(await poll(p, () => document.querySelector('#operator-check[data-valid="true"]')?.textContent, null, 10_000, 'the invite read') ?? '', /An invite from @alice/);
  await fill(p, '#name', 'bob'); await fill(p, '#pass', PASS); await fill(p, '#pass2', PASS);
  if (snaps) await snapBoth(b, `${label}-onboarding-invite`);
  await click(p, '#create');
  await waitPhase(p, 'unlocked', 60_000);
  assert.match(await poll(p, () => document.querySelector('#invite-offer #invite-offer-title')?.textContent, null, 10_000, 'alice offered') ?? '', /@alice invited you\. Add @alice as a contact\?/);
  if (snaps) await snapBoth(b, `${label}-invite-offer`);
  await click(p, '#add-inviter');
  assert.match(await poll(p, () => document.querySelector('#inviter-added, #inviter-error')?.textContent, null, 30_000, 'alice added') ?? '', /@alice is now a contact/);
  await click(p, '#close-invite-offer');
  await click(p, '#tab-contacts');
  await waitFor(p, '.contact[data-name="alice"] .safety-words', 20_000);
}

/** The onboarding steps for alice (already in), bob and carol, in the order the test needs. */
export async function onboardRest(pr: [Profile, Profile, Profile], onion: string, label: string, snaps: boolean) {
  const [a, b, c] = pr;
  const invite = await copyInvite(a.page);
  assert.deepEqual(parseInvite(invite)?.from?.name, 'alice');
  if (snaps) await snapBoth(a, `${label}-my-invite`);
  await onboardFromInvite(b, invite, label, snaps);
  // carol first tries a look-alike of alice: refused as one (not "taken"), before any proof of work
  await onboard(c.page, onion, 'a1ice');
  assert.match(await errorText(c.page, '#onboarding-error'), /@a1ice looks like an existing name/);
  if (!snaps) { await onboard(c.page, onion, 'carol'); await waitPhase(c.page, 'unlocked', 60_000); return; }
  await onboardFromMismatchedInvite(c, invite, label);
}

/** Carol onboards from alice's invite with its key altered: the account is made, but @alice is not added and a loud warning says why. */
async function onboardFromMismatchedInvite(c: Profile, invite: string, label: string) {
  const p = c.page, parsed = parseInvite(invite)!, key = parsed.from!.key;
  const forged = formatInvite({ ...parsed, from: { name: 'alice', key: (key[0] === 'A' ? 'B' : 'A') + key.slice(1) } });
  await fill(p, '#operator', forged);
  await fill(p, '#name', 'carol'); await fill(p, '#pass', PASS); await fill(p, '#pass2', PASS);
  await click(p, '#create');
  await waitPhase(p, 'unlocked', 60_000);
  await click(p, '#add-inviter');
  assert.match(await poll(p, () => document.querySelector('#inviter-error, #inviter-added')?.textContent, null, 30_000, 'the invite checked') ?? '', /key|invite/i);
  assert.equal(await p.evaluate(() => document.querySelector('#invite-offer')?.getAttribute('data-state')), 'refused');
  await snapBoth(c, `${label}-invite-mismatch`);
  await click(p, '#skip-inviter');
  await click(p, '#tab-contacts');
  assert.equal(await p.evaluate(() => !!document.querySelector('.contact[data-name="alice"]')), false, 'nobody added');
}
