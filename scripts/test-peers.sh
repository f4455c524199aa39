#!/usr/bin/env bash
# Installs the interop tests' peers (cosign, slsa-verifier, and the Python sigstore,
# securesystemslib, in-toto-attestation and cyclonedx-python-lib) at the versions pinned in
# scripts/test-peers.pins and scripts/test-peers-requirements.txt, into a cache outside the
# repository: ${KILN_TEST_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln-test-peers}
#   bin/<tool>   Go binaries
#   venv/        a Python venv (stamped with the hash of the requirements it holds)
# Idempotent: a peer already there at its pinned version is kept. Prints how long it took.
# Needs `go` and `python3` with venv; reaches only the Go module proxy and PyPI.
#
# Go tools are built from the module proxy's copy of the pinned version, not with
# `go install module@version`: that command also reads the module's version list to look for
# deprecation notices, and the proxy these machines reach answers 403 for that list for some
# modules (slsa-verifier) while serving the version itself. So: `go mod download -json
# module@version` (checked against the checksum database as usual), copy the module out of
# the read-only module cache, `go build` the command there with the release's flags (CGO off,
# -trimpath, the version stamped into sigs.k8s.io/release-utils/version as the upstream release
# does, so `<tool> version` names it).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

DIR="${KILN_TEST_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln-test-peers}"
BIN="$DIR/bin"
VENV="$DIR/venv"
mkdir -p "$BIN"

say() { echo "test-peers: $*"; }

# --- Go tools ---------------------------------------------------------------------------------
command -v go >/dev/null 2>&1 || { say "go is not installed (needed to build cosign and slsa-verifier)" >&2; exit 1; }

build_go_tool() { # name module@version package
  local name=$1 modver=$2 pkg=$3
  local version=${modver##*@}
  if [ -x "$BIN/$name" ] && "$BIN/$name" version 2>/dev/null | grep -Eq "^GitVersion: +$version\$"; then
    say "$name $version already installed"
    return
  fi
  say "building $name $version"
  local t0=$SECONDS src work
  src=$(go mod download -json "$modver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$src" ] && [ -d "$src" ] || { say "go mod download $modver gave no module directory" >&2; exit 1; }
  work=$(mktemp -d "$DIR/build-$name.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  cp -R "$src/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -tags=netgo \
    -ldflags "-X sigs.k8s.io/release-utils/version.gitVersion=$version" -o "$BIN/$name.tmp" "$pkg")
  mv -f "$BIN/$name.tmp" "$BIN/$name"
  "$BIN/$name" version 2>/dev/null | grep -Eq "^GitVersion: +$version\$" || { say "$name does not report version $version" >&2; exit 1; }
  say "$name $version built in $((SECONDS - t0))s"
}

while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  name=${line%%=*}
  rest=${line#*=}
  build_go_tool "$name" "${rest%% *}" "${rest#* }"
done < scripts/test-peers.pins

# --- Python packages --------------------------------------------------------------------------
REQS=scripts/test-peers-requirements.txt
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null 2>&1 || { say "$PYTHON is not installed" >&2; exit 1; }
stamp="$("$PYTHON" -c 'import sys; print(sys.version.split()[0])') $(sha256sum "$REQS" | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.kiln-peers-stamp" 2>/dev/null)" = "$stamp" ]; then
  say "python peers already installed ($VENV)"
else
  say "installing python peers into $VENV"
  t0=$SECONDS
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQS"
  echo "$stamp" > "$VENV/.kiln-peers-stamp"
  say "python peers installed in $((SECONDS - t0))s"
fi

say "ready in $((SECONDS - started))s: $("$BIN/cosign" version 2>/dev/null | sed -n 's/^GitVersion: *//p' | sed 's/^/cosign /'), $("$BIN/slsa-verifier" version 2>/dev/null | sed -n 's/^GitVersion: *//p' | sed 's/^/slsa-verifier /'), $("$VENV/bin/python" -m pip list --format=freeze 2>/dev/null | grep -E '^(sigstore|securesystemslib|in-toto-attestation|cyclonedx-python-lib)==' | tr '\n' ' ')"
