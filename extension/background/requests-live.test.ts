// Join requests arriving live (requests-live.ts, issue #19 item 3) in the add-on's core against
// a real Operator, with a REAL Semaphore proof: with the held reads running (live.ts: all the
// time, popup open or not) a member learns of a new request (row count, status count for the tab and the badge, arrival
// told) and of a vouch counted on it (the digest the open page watches), with no poll.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadThemis } from '../../protocol/themis.ts';
import { shutdownCurve } from '../../protocol/vouch.ts';
import { account } from '../../test/support/addon.ts';
import { startTestOperator } from '../../test/support/operator.ts';
import { Live } from './live.ts';
import { until } from '../../test/support/until.ts';

before(() => loadThemis());
after(() => shutdownCurve());


test('with the held reads running a new join request and a vouch on it arrive by themselves (the test times out before any 60 s poll)', { timeout: 90_000 }, async () => {
  const op = await startTestOperator();
  op.server.keepAliveTimeout = 10 * 60_000; // proving blocks this process for seconds
  try {
    const alice = await account(op.url, 'alice'), bob = await account(op.url, 'bob'), carol = await account(op.url, 'carol');
    await alice.k.createCollective({ name: 'portland', description: '', rule: 'fixed:2' });
    // two members, so that a candidate needs two vouches (one vouch is then counted, not an admission)
    await carol.k.askToJoin({ name: 'portland' });
    assert.equal((await alice.k.vouch({ collective: 'portland', name: 'carol' })).admitted, true);
    await alice.k.checkNow();
    let told = 0;
    const live = new Live(alice.k, { onArrival: () => { told++; }, startMs: 300, gapMs: 50 }); // quick starts and gaps (live.ts spreads them over a minute)
    live.start();
    const row = async () => (await alice.k.collectives())[0]!;
    // her intro mailbox (no loop mailbox yet: no slot has run), the log and the requests of @portland
    await until(() => live.running === 3 && op.holds.size === 3, 'a held requests read besides the log and the mailbox');
    const empty = (await row()).asked;
    await bob.k.askToJoin({ name: 'portland' });
    await until(async () => (await row()).requests === 1, 'the row counts the request with no poll');
    assert.equal((await alice.k.status()).joinRequests, 1, 'the tab and the badge count it');
    await until(() => told >= 1, 'the popup was told');
    const asked = (await row()).asked;
    assert.notEqual(asked, empty);
    // a vouch counted (no log entry: not yet admitted) changes what the open page watches
    assert.equal((await alice.k.vouch({ collective: 'portland', name: 'bob' })).admitted, false);
    await until(async () => (await row()).asked !== asked, 'the vouch count seen with no poll');
    live.stop();
    await until(() => op.holds.size === 0, 'the Operator let go of every hold');
    const seen = (await row()).asked;

    // while no read is held (locked, or the background starting): dave asks, then carol's vouch admits bob. Held reads
    // that start afterwards begin from what each add-on last took in, so they answer at once: nothing waits for a poll
    const dave = await account(op.url, 'dave');
    await dave.k.askToJoin({ name: 'portland' });
    assert.equal((await carol.k.vouch({ collective: 'portland', name: 'bob' })).admitted, true);
    const lives = [new Live(alice.k, { startMs: 300, gapMs: 50 }), new Live(dave.k, { startMs: 300, gapMs: 50 })];
    lives.forEach((l) => l.start());
    // dave (asking, so no requests read, and nothing deposited for him) learns of bob's admission by his log read alone
    await until(async () => (await dave.k.collectives())[0]!.members === 3, 'dave\'s log read, begun after the admission, shows it');
    await until(async () => (await row()).asked !== seen, 'alice\'s requests read, begun after dave asked, shows it');
    lives.forEach((l) => l.stop());
    // and a request alone (no log entry): erin asks while alice holds nothing; her next held reads count it at once
    await until(async () => (await alice.k.status()).joinRequests === 1 && op.holds.size === 0, 'alice counts dave; no hold left');
    await alice.k.checkNow(); // everything deposited for her is taken in: only the requests read can tell her of erin
    await (await account(op.url, 'erin')).k.askToJoin({ name: 'portland' });
    const again = new Live(alice.k, { startMs: 300, gapMs: 50 });
    again.start();
    await until(async () => (await alice.k.status()).joinRequests === 2, 'alice\'s requests read, begun after erin asked, counts her');
    again.stop();
  } finally { await op.close(); }
});
