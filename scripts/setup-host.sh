#!/usr/bin/env bash
# Prepares a Debian host for kiln and its tests (idempotent; run as root, or as a user with sudo):
#  - Debian packages: docker.io (the engine, only when dockerd is missing), xz-utils and
#    bzip2 (archive inputs), busybox-static (sandbox tests' image), docker-registry (a local
#    OCI registry on 127.0.0.1 for the pull-by-digest test), python3-securesystemslib and
#    openssh-client (tests check kiln's signatures and key ids with tools kiln did not write),
#    dpkg-dev and apt-utils (tests build a local Debian archive on 127.0.0.1 with dpkg-deb,
#    dpkg-scanpackages and apt-ftparchive), python3-venv (scripts/test-peers.sh installs the
#    Python interop peers in a venv), libfaketime (kiln check injects it for its shifted clock),
#    patch, openssl and curl (scripts/buildbarn.sh: the REAPI tests' Buildbarn cluster);
#  - starts dockerd when no engine answers, and waits for it.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v bzip2 >/dev/null 2>&1 || need+=(bzip2)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v git >/dev/null 2>&1 || need+=(git)
# tests only: an independent DSSE/ed25519/ECDSA verifier (for /usr/bin/python3), ssh-keygen for key ids
/usr/bin/python3 -c 'import securesystemslib' >/dev/null 2>&1 || need+=(python3-securesystemslib)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
# tests only: a local Debian archive (test/helpers/apt-repo.ts)
command -v dpkg-scanpackages >/dev/null 2>&1 || need+=(dpkg-dev)
command -v apt-ftparchive >/dev/null 2>&1 || need+=(apt-utils)
# scripts/test-peers.sh makes a venv for the Python test peers (Debian splits ensurepip out)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# tests only: the libfaketime `kiln check` injects into images without their own (time variation)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || need+=(libfaketime)
# tests only: scripts/buildbarn.sh (a local Buildbarn cluster, built with the machine's Go) patches
# Buildbarn's dependencies as its Bazel build does, makes a TLS pair, polls the scheduler's page
command -v patch >/dev/null 2>&1 || need+=(patch)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)

# `debsrc` inputs (recipes/hello) need source indexes: mirror the machine's own `deb` entries as
# `deb-src` (same archives, suites, components and keys), never naming an archive here.
if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "setup-host: adding deb-src entries mirroring the configured deb sources"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in *kiln-deb-src*) continue ;; esac
    sed -n '/^Types:/{s/^Types:.*/Types: deb-src/};p' "$f"
    echo
  done | $SUDO tee /etc/apt/sources.list.d/kiln-deb-src.sources >/dev/null
  if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list | $SUDO tee /etc/apt/sources.list.d/kiln-deb-src.list >/dev/null
  fi
fi

# apt-get update once: kiln's `deb` inputs are fetched through apt, which needs fresh lists.
$SUDO apt-get update -qq
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup-host: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# the Debian docker-registry package starts a service on :5000 where systemd runs; tests start their own
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  $SUDO systemctl stop docker-registry || true
fi

if ! $SUDO docker version >/dev/null 2>&1; then
  echo "setup-host: starting dockerd"
  $SUDO sh -c 'nohup dockerd >/var/log/kiln-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    $SUDO docker version >/dev/null 2>&1 && break
    sleep 1
  done
  $SUDO docker version >/dev/null 2>&1 || { echo "setup-host: dockerd did not start; see /var/log/kiln-dockerd.log" >&2; $SUDO tail -20 /var/log/kiln-dockerd.log >&2 || true; exit 1; }
fi
# Run as a user with sudo: let that user reach the engine now, without a new login (a group
# change would need one): an ACL on the socket for this user only.
if [ -n "$SUDO" ] && ! docker version >/dev/null 2>&1; then
  command -v setfacl >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends acl >/dev/null
  $SUDO setfacl -m "u:$(id -un):rw" /var/run/docker.sock
fi
echo "setup-host: engine $(docker version --format '{{.Server.Version}}')"
