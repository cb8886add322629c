#!/usr/bin/env bash
# The test files, listed once. `bash scripts/tests.sh fast` (`npm run test:fast`) runs every Node
# test that needs no browser, no tor and no proving: the Operator's route tests verify proofs
# recorded in test/fixtures/proofs/ instead of making them, and the kill -9 and fuzz tests run
# 3 cycles and 2,000 + 400 requests (20 and 10,000 + 2,000 elsewhere). `bash scripts/tests.sh unit` adds the
# tests that prove (and makes the route tests prove afresh, KOMRADE_PROVE=1); `bash
# scripts/tests.sh all` (what `npm test` runs, after the type check) runs those two files at a time,
# then the lint and the browser and tor tiers one at a time, inside a loopback-only network namespace. `bash scripts/tests.sh record`
# (`npm run record-proofs`) proves the route tests' proofs afresh and rewrites the recording.
set -euo pipefail
cd "$(dirname "$0")/.."
FAST=(
  protocol/wire.test.ts
  protocol/bytes.test.ts
  protocol/envelope.test.ts
  protocol/identity.test.ts
  protocol/names.test.ts
  protocol/address.test.ts
  protocol/moved.test.ts
  protocol/invite.test.ts
  protocol/posts.test.ts
  protocol/quorum.test.ts
  protocol/client.test.ts
  protocol/padding.test.ts
  test/schedule-classifier.test.ts
  protocol/canonical.test.ts
  protocol/transparency/merkle.test.ts
  protocol/transparency/checkpoint.test.ts
  protocol/transparency/name-index.test.ts
  operator/app.test.ts
  operator/fetch-padding.test.ts
  operator/names.test.ts
  operator/root-page.test.ts
  operator/log.test.ts
  operator/verify.test.ts
  operator/intro.test.ts
  operator/limits.test.ts
  operator/store.test.ts
  operator/forget.test.ts
  operator/log-forget.test.ts
  operator/log-index.test.ts
  operator/witness.test.ts
  operator/posts.test.ts
  operator/posts-life.test.ts
  operator/fuzz.test.ts
  operator/framing.test.ts
  operator/crash.test.ts
  operator/collectives.test.ts
  operator/collectives-removal.test.ts
  operator/main.test.ts
  operator/held.test.ts
  operator/held-log.test.ts
  operator/held-requests.test.ts
  operator/collectives-foreign.test.ts
  operator/collectives-move.test.ts
  extension/background/core/account.test.ts
  extension/background/core/invite.test.ts
  extension/background/core/availability.test.ts
  extension/background/core/cancel-step.test.ts
  extension/background/core/messaging.test.ts
  extension/background/core/federation.test.ts
  extension/background/core/move-home.test.ts
  extension/background/core/federation-claims.test.ts
  extension/background/core/sending.test.ts
  extension/background/core/forward-secrecy.test.ts
  extension/background/core/forward-secrecy-grace.test.ts
  extension/background/core/forward-secrecy-versions.test.ts
  extension/background/core/forward-secrecy-queued.test.ts
  extension/background/timers.test.ts
  extension/background/core/transparency.test.ts
  extension/background/core/transparency-index.test.ts
  extension/background/core/receipts.test.ts
  extension/background/core/keys.test.ts
  extension/background/core/pending.test.ts
  extension/background/core/vault.test.ts
  extension/background/core/disappearing.test.ts
  extension/background/core/reach.test.ts
  extension/background/core/feed-order.test.ts
  extension/background/core/requests.test.ts
  extension/background/address.test.ts
  extension/background/circuits.test.ts
  extension/background/live.test.ts
  extension/background/requests-live.test.ts
  test/operator-view.test.ts test/structure.test.ts test/documents.test.ts
)
# Tests that make Semaphore proofs (in the add-on's core, or of the protocol itself)
PROVING=(protocol/vouch.test.ts extension/background/core/collectives.test.ts extension/background/core/feed-concurrent.test.ts extension/background/core/federation-collectives.test.ts extension/background/core/collective-move.test.ts extension/background/core/join-requests.test.ts extension/background/core/posts.test.ts test/operator-view-posts.test.ts)
# Route tests whose proofs are recorded (test/support/proofs.ts)
RECORDED=(operator/collectives.test.ts operator/collectives-removal.test.ts operator/posts.test.ts operator/posts-life.test.ts)
UNIT=("${FAST[@]}" "${PROVING[@]}")
BROWSER=(test/lint.test.ts test/e2e/messaging.e2e.ts test/e2e/holds-background.e2e.ts test/e2e/transparency.e2e.ts test/e2e/collectives.e2e.ts test/e2e/tor.e2e.ts test/e2e/federation.e2e.ts)
case "${1:-all}" in
  fast) CRASH_CYCLES=3 FUZZ_RUNS=2000 exec node --import tsx --test --test-reporter=tap --test-concurrency=4 "${FAST[@]}" ;;
  record) KOMRADE_RECORD=1 exec node --import tsx --test --test-reporter=tap "${RECORDED[@]}" ;;
  unit) KOMRADE_PROVE=1 exec node --import tsx --test --test-reporter=tap "${UNIT[@]}" ;;
  # the Node tests two files at a time (two cores), then the browser and tor tier one file at a time
  all) KOMRADE_PROVE=1 bash scripts/in-netns.sh node --import tsx --test --test-reporter=tap --test-concurrency=2 "${UNIT[@]}"
       exec bash scripts/in-netns.sh node --import tsx --test --test-reporter=tap --test-concurrency=1 "${BROWSER[@]}" ;;
  *) echo "usage: scripts/tests.sh [fast|unit|all|record]" >&2; exit 2 ;;
esac
