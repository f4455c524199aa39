#!/usr/bin/env bash
# Peers of bench/debian-assembly.ts (idempotent; needs root or sudo): Debian's `mmdebstrap`,
# the tool kiln's debian image assembly is measured against, and `apt-ftparchive` (apt-utils),
# which indexes the locked .debs as a local file:// repository so that neither tool touches
# the network during the comparison. Bench-only: kiln itself needs neither.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v apt-ftparchive >/dev/null 2>&1 || need+=(apt-utils)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup-debian: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "setup-debian: $(mmdebstrap --version 2>/dev/null)"
