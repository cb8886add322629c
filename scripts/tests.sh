#!/usr/bin/env bash
# The test files, listed once. `bash scripts/tests.sh unit` runs the Node tiers (protocol,
# Operator, add-on core); `bash scripts/tests.sh all` (what `npm test` runs, after the type
# check) adds the lint and the browser and tor tiers, inside a loopback-only network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
UNIT=(
  protocol/wire.test.ts
  protocol/bytes.test.ts
  protocol/envelope.test.ts
  protocol/identity.test.ts
  protocol/names.test.ts
  protocol/posts.test.ts
  protocol/quorum.test.ts
  protocol/vouch.test.ts
  protocol/client.test.ts
  protocol/padding.test.ts
  protocol/canonical.test.ts
  operator/app.test.ts
  operator/verify.test.ts
  operator/intro.test.ts
  operator/limits.test.ts
  operator/store.test.ts
  operator/forget.test.ts
  operator/posts.test.ts
  operator/fuzz.test.ts
  operator/framing.test.ts
  operator/crash.test.ts
  operator/collectives.test.ts
  operator/main.test.ts
  extension/background/core/account.test.ts
  extension/background/core/messaging.test.ts
  extension/background/core/keys.test.ts
  extension/background/core/pending.test.ts
  extension/background/core/vault.test.ts
  extension/background/core/disappearing.test.ts
  extension/background/core/reach.test.ts
  extension/background/core/collectives.test.ts
  extension/background/core/posts.test.ts
  extension/background/core/requests.test.ts
  extension/background/address.test.ts
  extension/background/circuits.test.ts
  test/operator-view.test.ts test/structure.test.ts
)
BROWSER=(test/lint.test.ts test/e2e/messaging.e2e.ts test/e2e/collectives.e2e.ts test/e2e/tor.e2e.ts)
case "${1:-all}" in
  unit) exec node --import tsx --test --test-reporter=tap "${UNIT[@]}" ;;
  all) exec bash scripts/in-netns.sh node --import tsx --test --test-reporter=tap --test-concurrency=1 "${UNIT[@]}" "${BROWSER[@]}" ;;
  *) echo "usage: scripts/tests.sh [unit|all]" >&2; exit 2 ;;
esac
