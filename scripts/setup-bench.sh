#!/usr/bin/env bash
# Prepares a Debian host for the benches that compare kiln with peer tools (idempotent; needs
# root or sudo). Not run by CI: `.ci/run` calls only setup-host.sh.
#  - reprotest (bench/check-cost.ts compares `kiln check` with `reprotest --auto-build`), with
#    faketime (its time variation), disorderfs (its fileordering variation) and
#    diffoscope-minimal (its comparison);
#  - diffoscope (bench/diff-vs-diffoscope.ts) comes with diffoscope-minimal;
#  - mmdebstrap (bench/debian-assembly.ts assembles the toolchain's package set with it and with
#    kiln), apt-ftparchive (apt-utils: the .debs as a local repository, so neither tool touches
#    the network) and GNU time (/usr/bin/time: peak RSS of each side).
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
command -v reprotest >/dev/null 2>&1 || need+=(reprotest)
command -v faketime >/dev/null 2>&1 || need+=(faketime)
command -v disorderfs >/dev/null 2>&1 || need+=(disorderfs)
command -v diffoscope >/dev/null 2>&1 || need+=(diffoscope-minimal)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v apt-ftparchive >/dev/null 2>&1 || need+=(apt-utils)
[ -x /usr/bin/time ] || need+=(time)

if [ "${#need[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  echo "setup-bench: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "setup-bench: reprotest $(dpkg-query -W -f "\${Version}" reprotest 2>/dev/null), mmdebstrap $(dpkg-query -W -f "\${Version}" mmdebstrap 2>/dev/null)"
