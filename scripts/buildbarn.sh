#!/usr/bin/env bash
# A real Buildbarn cluster on 127.0.0.1 for kiln's remote-execution tests and benches: a test
# peer, never a runtime dependency of kiln.
#
#   scripts/buildbarn.sh install   build the pinned binaries into the cache (skipped when present)
#   scripts/buildbarn.sh start     install, then start bb_storage (CAS + AC + frontend), bb_scheduler,
#                                  and two bb_workers each with a confined bb_runner; waits until
#                                  both workers have reported to the scheduler
#   scripts/buildbarn.sh stop      stop what `start` started (by the pids it recorded), remove the state
#   scripts/buildbarn.sh status    say what runs; exit 0 when the whole cluster is up, 3 when none of it
#   scripts/buildbarn.sh env       print the endpoints as shell assignments
#
# Environment:
#   KILN_BB_PORT_BASE  first of 5 ports on 127.0.0.1 (default 18980): base = the REAPI endpoint
#                      (plaintext), base+1 the same over TLS, base+2/+3 scheduler (clients/workers),
#                      base+4 the scheduler's admin web page
#   KILN_BB_STATE      where storage, build folders, logs and pids live (default
#                      ${TMPDIR:-/tmp}/kiln-buildbarn-<port base>); removed by `stop`
#   KILN_BB_CACHE      where binaries are built and kept (default
#                      ${XDG_CACHE_HOME:-$HOME/.cache}/kiln-test-peers/buildbarn)
#
# How the binaries are made (docs/remote-execution.md says why): Buildbarn publishes no tags and
# builds with Bazel, applying patches to some dependencies; its go.mod carries replace directives,
# so `go install module@version` refuses it. This script downloads the pinned module from the Go
# module proxy (`go mod download -json`, checked against the h1: sum pinned below), copies it to a
# writable folder, applies Buildbarn's own dependency patches (shipped inside the modules, the same
# ones its MODULE.bazel applies) to copies of those dependencies, and runs `go build` there.
#
# The runners need root: chroot, user switching and namespaces. Nothing here touches a process it
# did not start; `stop` signals the pids recorded by `start`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONFIG_DIR="$HERE/buildbarn"

# --- pinned versions --------------------------------------------------------------------------
BB_RE_MODULE=github.com/buildbarn/bb-remote-execution
BB_RE_VERSION=v0.0.0-20260319042723-cd89f0554d18
BB_RE_SUM='h1:xDjczRdWxG2EIhqZbIR8gYLTKKLZezTFxKKe0fkihCo='
# bb_storage is built from the bb-storage version that bb-remote-execution's go.mod requires
# (and its go.sum checks): v0.0.0-20260317135248-dc342e1799d7.
BB_STORAGE_MODULE=github.com/buildbarn/bb-storage
BB_STORAGE_VERSION=v0.0.0-20260317135248-dc342e1799d7
# Dependency patches, as Buildbarn's MODULE.bazel files apply them (module version patch…).
# go-fuse: bb-remote-execution's go.mod already pins v2.5.1 with a replace directive.
# bytestream: the pinned v0.0.0-20260316180232-0b37fe3546d5 is not served by the module proxy
# reachable here; the nearest later one is used (generated code, same service).
PATCH_SET_VERSION=1
patched_deps() {
  local re="$1" st="$2"
  echo "github.com/hanwen/go-fuse/v2 v2.5.1 $re/patches/com_github_hanwen_go_fuse_v2/direntrylist-offsets-and-testability.diff $re/patches/com_github_hanwen_go_fuse_v2/writeback-cache.diff $re/patches/com_github_hanwen_go_fuse_v2/notify-testability.diff"
  echo "github.com/grpc-ecosystem/go-grpc-prometheus v1.2.0 $st/patches/com_github_grpc_ecosystem_go_grpc_prometheus/client-metrics-prevent-handled-twice.diff"
  echo "google.golang.org/genproto/googleapis/bytestream v0.0.0-20260319201613-d00831a3d3e7 $st/patches/org_golang_google_genproto_googleapis_bytestream/service-registrar.diff"
}
BINARIES=(bb_storage bb_scheduler bb_worker bb_runner)

PORT_BASE="${KILN_BB_PORT_BASE:-18980}"
STATE="${KILN_BB_STATE:-${TMPDIR:-/tmp}/kiln-buildbarn-$PORT_BASE}"
CACHE="${KILN_BB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln-test-peers/buildbarn}"
PREFIX="$CACHE/$BB_RE_VERSION"
BIN="$PREFIX/bin"
STAMP="$BB_RE_VERSION patches-$PATCH_SET_VERSION"
WORKERS=(1 2)

log() { echo "buildbarn: $*" >&2; }
die() { log "$*"; exit 1; }

# --- install ----------------------------------------------------------------------------------
installed() {
  [ -f "$PREFIX/stamp" ] && [ "$(cat "$PREFIX/stamp")" = "$STAMP" ] || return 1
  local b
  for b in "${BINARIES[@]}"; do [ -x "$BIN/$b" ] || return 1; done
}

# `go mod download -json` prints one object; pick a string field out of it.
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p" | head -1; }

install() {
  if installed; then return 0; fi
  command -v go >/dev/null || die "go is not installed"
  command -v patch >/dev/null || die "patch is not installed (scripts/setup-host.sh installs it)"
  mkdir -p "$CACHE"
  local work
  work="$(mktemp -d "$CACHE/build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  export GOMODCACHE="$CACHE/gomod"
  # The checksum database answers nothing for Buildbarn's pseudo-versions here: the top module
  # is checked against BB_RE_SUM instead, and everything below it against its go.sum.
  export GONOSUMDB=github.com/buildbarn GOFLAGS="-buildvcs=false -modcacherw -mod=mod"
  log "downloading $BB_RE_MODULE@$BB_RE_VERSION"
  local info dir sum
  info="$(cd "$work" && go mod download -json "$BB_RE_MODULE@$BB_RE_VERSION")"
  dir="$(json_field Dir <<<"$info")"
  sum="$(json_field Sum <<<"$info")"
  [ -n "$dir" ] || die "go mod download failed: $info"
  [ "$sum" = "$BB_RE_SUM" ] || die "$BB_RE_MODULE@$BB_RE_VERSION has sum $sum, expected $BB_RE_SUM"
  cp -r "$dir" "$work/src"
  chmod -R u+w "$work/src"
  cd "$work/src"
  local storage_dir
  storage_dir="$(go list -m -f '{{.Dir}}' "$BB_STORAGE_MODULE")"
  [ "$(go list -m -f '{{.Version}}' "$BB_STORAGE_MODULE")" = "$BB_STORAGE_VERSION" ] \
    || die "$BB_RE_MODULE@$BB_RE_VERSION no longer requires $BB_STORAGE_MODULE@$BB_STORAGE_VERSION"
  local module version patches dep_dir copy p n=0
  while read -r module version patches; do
    n=$((n + 1))
    dep_dir="$(go mod download -json "$module@$version" | json_field Dir)"
    [ -n "$dep_dir" ] || die "cannot download $module@$version"
    copy="$work/deps/$n"
    mkdir -p "$work/deps"
    cp -r "$dep_dir" "$copy"
    chmod -R u+w "$copy"
    # A module from before go.mod (go-grpc-prometheus v1.2.0) needs one to be a replacement.
    [ -f "$copy/go.mod" ] || echo "module $module" >"$copy/go.mod"
    for p in $patches; do
      log "patching $module@$version with $(basename "$p")"
      patch -d "$copy" -p0 --batch --forward --quiet <"$p" || die "patch $p did not apply to $module@$version"
    done
    go mod edit -replace "$module=$copy"
  done < <(patched_deps "$work/src" "$storage_dir")
  log "building ${BINARIES[*]} (several minutes the first time)"
  go build -trimpath -o "$work/bin/" ./cmd/bb_scheduler ./cmd/bb_worker ./cmd/bb_runner "$BB_STORAGE_MODULE/cmd/bb_storage"
  cd "$CACHE"
  rm -rf "$PREFIX.new"
  mkdir -p "$PREFIX.new"
  mv "$work/bin" "$PREFIX.new/bin"
  echo "$STAMP" >"$PREFIX.new/stamp"
  rm -rf "$PREFIX"
  mv "$PREFIX.new" "$PREFIX"
  rm -rf "$work"
  trap - EXIT
  log "installed into $BIN"
}

# --- processes --------------------------------------------------------------------------------
# The pid in file $1 still runs one of this cache's Buildbarn binaries (a stale pid file, e.g.
# after a reboot, may name a pid that another process now has: that one is never signalled).
pid_alive() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$BIN/bb_"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# `name` still runs and `test...` holds; a dead process fails at once with its log's tail.
alive_and() { # name test...
  local name="$1"
  shift
  if ! pid_alive "$STATE/pids/$name.pid"; then
    log "$name exited; the end of $STATE/logs/$name.log:"
    tail -n 20 "$STATE/logs/$name.log" >&2
    exit 1
  fi
  "$@"
}

wait_for() { # seconds description command...
  local deadline=$((SECONDS + $1)) what="$2"
  shift 2
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { log "timed out waiting for $what"; return 1; }
    sleep 0.2
  done
}

export_config_env() {
  export KILN_BB_PORT_BASE="$PORT_BASE" KILN_BB_STATE="$STATE"
}

launch() { # name command...
  local name="$1" pid
  shift
  setsid "$@" </dev/null >>"$STATE/logs/$name.log" 2>&1 &
  pid=$!
  echo "$pid" >"$STATE/pids/$name.pid"
  # Until the forked shell has exec'd, the pid's command line is this script's and `pid_alive`
  # would call it dead: wait (5 s at most) until it names the binary or the process is gone.
  for _ in $(seq 1 50); do
    pid_alive "$STATE/pids/$name.pid" || [ ! -e "/proc/$pid" ] && break
    sleep 0.1
  done
}

make_tls_pair() {
  mkdir -p "$STATE/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$STATE/tls/server.key" -out "$STATE/tls/server.crt" >/dev/null 2>&1 \
    || die "openssl could not make the TLS pair"
  chmod 600 "$STATE/tls/server.key"
}

# Both workers show on the scheduler's admin page of the platform queue (OSFamily=linux, as in
# buildbarn/common.libsonnet) once they have synchronized.
WORKERS_PAGE='workers?filter=%7b%22all%22%3a%7b%22platformQueueName%22%3a%7b%22platform%22%3a%7b%22properties%22%3a%5b%7b%22name%22%3a%22OSFamily%22%2c%22value%22%3a%22linux%22%7d%5d%7d%7d%7d%7d'
workers_registered() {
  local page w
  page="$(curl -fsS --max-time 2 "http://127.0.0.1:$((PORT_BASE + 4))/$WORKERS_PAGE" 2>/dev/null)" || return 1
  for w in "${WORKERS[@]}"; do grep -q "worker=&#34;$w&#34;" <<<"$page" || return 1; done
}

# The Docker sandbox's limits (sandbox/profile.json: pidsLimit 1024, memoryBytes 4 GiB) for each
# runner and the steps it starts (one at a time), through a cgroup of its own. Best effort: a
# host whose cgroup hierarchy cannot be written runs without them, and `status` says so.
RUNNER_PIDS_MAX=1024
RUNNER_MEMORY_MAX=$((4 * 1024 * 1024 * 1024))

# Prints the cgroup folders made for runner $1 (none when the host does not let us).
make_runner_cgroups() {
  local name="kiln-bb-$PORT_BASE-runner-$1" dirs=() d self
  if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
    # v2: beside everything else at the root, whose controllers any child may use.
    d="/sys/fs/cgroup/$name"
    if grep -qw pids /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null && grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null &&
      mkdir -p "$d" 2>/dev/null && echo "$RUNNER_PIDS_MAX" >"$d/pids.max" 2>/dev/null && echo "$RUNNER_MEMORY_MAX" >"$d/memory.max" 2>/dev/null; then
      dirs+=("$d")
    fi
  else
    # v1: one folder per controller, below the cgroup this script runs in.
    self="$(sed -n 's/^[0-9]*:pids:\(.*\)$/\1/p' /proc/self/cgroup)"
    d="/sys/fs/cgroup/pids${self%/}/$name"
    if mkdir -p "$d" 2>/dev/null && echo "$RUNNER_PIDS_MAX" >"$d/pids.max" 2>/dev/null; then dirs+=("$d"); fi
    self="$(sed -n 's/^[0-9]*:memory:\(.*\)$/\1/p' /proc/self/cgroup)"
    d="/sys/fs/cgroup/memory${self%/}/$name"
    if mkdir -p "$d" 2>/dev/null && echo "$RUNNER_MEMORY_MAX" >"$d/memory.limit_in_bytes" 2>/dev/null; then dirs+=("$d"); fi
  fi
  echo "${dirs[*]}"
}

start_runner() { # worker id
  local id="$1" dir="$STATE/worker-$1" cgroups
  mkdir -p "$dir/build" "$dir/cache"
  cgroups="$(make_runner_cgroups "$id")"
  echo "$cgroups" >"$dir/cgroups"
  # New network (only `lo`, brought up as Docker does), UTS (hostname kiln, domain kiln.invalid
  # as in sandbox/profile.json), IPC, PID and mount namespaces (a /proc of its own, so the
  # runner's process-table cleaning sees only its own steps). --kill-child: when this unshare
  # dies, so does the runner.
  # Beside the runner, in the same namespaces: proc-installer.mjs, which bb_runner asks before
  # each command to mount a /proc into the action's input root (a step finds /proc, as in
  # Docker). --propagation private: those mounts never reach the host.
  KILN_BB_WORKER="$id" KILN_BB_CGROUPS="$cgroups" launch "runner-$id" unshare --net --uts --ipc --pid --mount --propagation private --fork --mount-proc --kill-child -- \
    /bin/sh -c 'set -e
      for cg in $KILN_BB_CGROUPS; do echo 0 >"$cg/cgroup.procs"; done
      if command -v ip >/dev/null 2>&1; then ip link set lo up; else /bin/busybox ip link set lo up; fi
      echo kiln >/proc/sys/kernel/hostname
      echo kiln.invalid >/proc/sys/kernel/domainname
      "$NODE" "$2" "$3/installer.sock" "$3/build" &
      exec "$0" "$1"' "$BIN/bb_runner" "$CONFIG_DIR/runner.jsonnet" "$CONFIG_DIR/proc-installer.mjs" "$dir"
}

start() {
  [ "$(id -u)" = 0 ] || die "the runners chroot, switch user and make namespaces: run as root"
  NODE="$(command -v node)" || die "node is not on PATH (the runners' /proc installer runs on it)"
  export NODE
  install
  if status >/dev/null 2>&1; then log "already running ($(endpoint))"; return 0; fi
  if [ -d "$STATE/pids" ]; then stop; fi
  for p in "$PORT_BASE" $((PORT_BASE + 1)) $((PORT_BASE + 2)) $((PORT_BASE + 3)) $((PORT_BASE + 4)); do
    ! port_open "$p" || die "port $p on 127.0.0.1 is taken; set KILN_BB_PORT_BASE"
  done
  mkdir -p "$STATE/logs" "$STATE/pids" "$STATE/storage-cas" "$STATE/storage-ac"
  # A start that fails half-way leaves nothing running (KILN_BB_KEEP_ON_FAILURE=1: keep it to look at).
  [ -n "${KILN_BB_KEEP_ON_FAILURE:-}" ] || trap 'stop >/dev/null 2>&1' EXIT
  export_config_env
  make_tls_pair
  launch storage "$BIN/bb_storage" "$CONFIG_DIR/storage.jsonnet"
  launch scheduler "$BIN/bb_scheduler" "$CONFIG_DIR/scheduler.jsonnet"
  wait_for 60 "bb_storage on :$PORT_BASE" alive_and storage port_open "$PORT_BASE"
  wait_for 60 "bb_scheduler on :$((PORT_BASE + 3))" alive_and scheduler port_open $((PORT_BASE + 3))
  local id
  for id in "${WORKERS[@]}"; do
    start_runner "$id"
    wait_for 30 "runner $id" alive_and "runner-$id" test -S "$STATE/worker-$id/runner.sock" -a -S "$STATE/worker-$id/installer.sock"
    # umask 000: a native build directory gets its folders (0777) and device nodes (0666) from
    # bb_worker's umask, and the step runs as another user (1000:1000) that must write kiln/out
    # and /dev/null. Input files stay 0444/0555 and root's: the step cannot change them.
    KILN_BB_WORKER="$id" launch "worker-$id" /bin/sh -c 'umask 000; exec "$0" "$1"' "$BIN/bb_worker" "$CONFIG_DIR/worker.jsonnet"
  done
  wait_for 60 "both workers to report to the scheduler" alive_and worker-1 alive_and worker-2 workers_registered
  config_stamp >"$STATE/config-stamp"
  trap - EXIT
  log "up: $(endpoint) (state in $STATE)"
}

stop() {
  local f pid cg
  [ -d "$STATE/pids" ] || { log "not running (no $STATE/pids)"; rm -rf "$STATE"; return 0; }
  # Workers first (they hold runner connections), storage last.
  for f in "$STATE"/pids/worker-*.pid "$STATE"/pids/runner-*.pid "$STATE/pids/scheduler.pid" "$STATE/pids/storage.pid"; do
    pid_alive "$f" || continue
    kill -TERM "$(cat "$f")" 2>/dev/null || true
  done
  for f in "$STATE"/pids/*.pid; do
    for _ in $(seq 1 50); do pid_alive "$f" || break; sleep 0.1; done
    if pid_alive "$f"; then kill -KILL "$(cat "$f")" 2>/dev/null || true; fi
  done
  # The runners' cgroups, once their processes are gone (rmdir refuses a cgroup still in use).
  for f in "$STATE"/worker-*/cgroups; do
    [ -f "$f" ] || continue
    for cg in $(cat "$f"); do
      for _ in $(seq 1 50); do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
    done
  done
  rm -rf "$STATE"
  log "stopped"
}

# What the running cluster was started from: this script and its configs. A cluster started from
# other ones is stale: `status` says so and `start` restarts it.
config_stamp() { cat "$HERE/buildbarn.sh" "$CONFIG_DIR"/* | sha256sum | cut -d' ' -f1; }

status() {
  local up=0 down=0 f name
  for name in storage scheduler runner-1 worker-1 runner-2 worker-2; do
    f="$STATE/pids/$name.pid"
    if pid_alive "$f"; then up=$((up + 1)); echo "$name: running (pid $(cat "$f"))"; else down=$((down + 1)); echo "$name: stopped"; fi
  done
  # What a step's network looks like: the interfaces of each runner's namespace.
  local id child
  for id in "${WORKERS[@]}"; do
    pid_alive "$STATE/pids/runner-$id.pid" || continue
    child="$(pgrep -P "$(cat "$STATE/pids/runner-$id.pid")" | head -1)"
    [ -n "$child" ] && command -v nsenter >/dev/null && command -v ip >/dev/null || continue
    echo "runner-$id network: $(nsenter --target "$child" --net ip -o link 2>/dev/null | cut -d: -f2 | tr -d ' ' | tr '\n' ' ')"
  done
  for f in "$STATE"/worker-*/cgroups; do
    [ -f "$f" ] || continue
    echo "$(basename "$(dirname "$f")") limits: $([ -s "$f" ] && echo "pids $RUNNER_PIDS_MAX, memory $RUNNER_MEMORY_MAX bytes ($(cat "$f"))" || echo "none (no writable cgroup hierarchy)")"
  done
  if [ $down -eq 0 ] && [ "$(cat "$STATE/config-stamp" 2>/dev/null)" != "$(config_stamp)" ]; then
    echo "config: started from another version of scripts/buildbarn*: stale (start restarts it)"
    return 1
  fi
  if [ $down -eq 0 ]; then echo "endpoint: $(endpoint)"; return 0; fi
  [ $up -eq 0 ] && return 3
  return 1
}

endpoint() { echo "grpc://127.0.0.1:$PORT_BASE"; }

print_env() {
  echo "KILN_BB_ENDPOINT=$(endpoint)"
  echo "KILN_BB_TLS_ENDPOINT=grpcs://127.0.0.1:$((PORT_BASE + 1))"
  echo "KILN_BB_TLS_CA=$STATE/tls/server.crt"
  echo "KILN_BB_SCHEDULER_ADMIN=http://127.0.0.1:$((PORT_BASE + 4))/"
  echo "KILN_BB_STATE=$STATE"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) print_env ;;
  *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
