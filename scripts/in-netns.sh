#!/usr/bin/env bash
# Runs a command in a new network namespace where only loopback exists, so no test traffic
# (browsers, tor, the Operator) can leave the machine. Falls back to the host, saying so,
# where namespaces cannot be made.
set -euo pipefail
if [[ ${KOMRADE_NETNS:-} == 1 ]]; then exec "$@"; fi
if unshare -n true 2>/dev/null; then
  exec unshare -n bash -c 'ip link set lo up && KOMRADE_NETNS=1 exec "$@"' bash "$@"
fi
echo "in-netns: cannot create a network namespace here; running on the host (loopback addresses only)" >&2
exec "$@"
