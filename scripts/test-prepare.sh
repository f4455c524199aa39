#!/usr/bin/env bash
# What `npm test` needs beyond scripts/setup-host.sh, idempotent and cached between runs:
#  - the interop tests' peers at pinned versions (scripts/test-peers.sh);
#  - the REAPI tests' Buildbarn cluster on 127.0.0.1 (scripts/buildbarn.sh start: binaries built
#    once from the Go module proxy, then reused). Its runners chroot and make namespaces, so it
#    runs as root: through sudo when this is a user with sudo, keeping the user's cache folder.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-peers.sh

if [ "$(id -u)" = 0 ]; then
  bash scripts/buildbarn.sh start
else
  sudo env HOME="$HOME" XDG_CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}" PATH="$PATH" bash scripts/buildbarn.sh start
fi
