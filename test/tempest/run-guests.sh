#!/usr/bin/env bash
# test/tempest/run-guests.sh — the Tempest tests that need real guests: Tempest with validation on
# (it logs into the servers over SSH) against `nubo up --compute-driver qemu`, whose servers are
# QEMU guests of the test guest image (scripts/build-test-guest.sh), in a private network namespace.
#
# usage (root, or a user with passwordless sudo):
#   test/tempest/run-guests.sh              the pass list test/tempest/pass-guests.txt: every listed
#                                           test must pass (as test/tempest/run.sh does for pass.txt)
#   test/tempest/run-guests.sh SELECTION... exploration, as with run.sh (then
#                                           `test/tempest/grow.sh WORKSPACE test/tempest/pass-guests.txt`)
#
# What it does:
#   1. builds the test guest (scripts/build-test-guest.sh; a no-op when it is up to date) and, unless
#      NUBO_BIN is given, nubo;
#   2. creates a network namespace ntg-XXXXXX: loopback up, plus 198.18.0.1/32 on lo, the host's
#      underlay address (`nubo up --host-ip`; nothing leaves the namespace);
#   3. runs test/tempest/run.sh inside it (`ip netns exec`), in a new mount and PID namespace
#      (`unshare --mount --pid --fork --kill-child`): a private tmpfs on /run/netns, so the
#      qrouter-/qdhcp- namespaces nubo makes are its own and it cannot see or reap anyone else's;
#      and when run.sh ends, the kernel kills whatever is left in the PID namespace (nubo, QEMU).
#      run.sh starts nubo on 127.0.0.1 there with --compute-driver qemu, uploads disk.img as the two
#      test images, creates flavor nubo-test-flavor (NUBO_FLAVOR, default 2 vCPUs, 128 MiB, 1 GB:
#      two vCPUs so that test_verify_created_server_vcpus tells them from QEMU's default of one) and
#      runs Tempest with test/tempest/overrides.conf + test/tempest/overrides-guests.conf;
#   4. at the end, even on failure or interruption: waits for every process of the namespace to end
#      (killing them after a grace period), deletes the namespace and the run's directory (nubo's
#      data dir, the guests' disks). The Tempest workspace is kept.
#
# environment: NUBO_BIN, NUBO_TEST_GUEST (where the test guest is built), NUBO_FLAVOR, and every
# knob of run.sh and run-tempest; defaults here: TEMPEST_CONCURRENCY=2, TEMPEST_TIMEOUT=900,
# TEMPEST_WORKDIR=/tmp/nubo-tempest-guests.XXXXXX (kept).
# exit status: as run.sh (0 good; 1 a test failed or a pass-list test did not pass; 2 setup error).
set -euo pipefail
exec </dev/null

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
log() { printf 'tempest/run-guests.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

if [ "$(id -u)" != 0 ]; then
  # CI may run as a user with passwordless sudo (.ci/run)
  if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
    die "needs root (network namespaces, bridges, QEMU guests), or passwordless sudo"
  fi
  exec sudo -n --preserve-env PATH="$PATH" bash "${BASH_SOURCE[0]}" "$@"
fi
for t in ip unshare mount qemu-system-x86_64 qemu-img nft; do
  command -v "$t" >/dev/null 2>&1 || die "missing $t (scripts/install-deps.sh)"
done

NS=
INNER=
RUNDIR=
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$? pids
  trap - EXIT INT TERM
  if [ -n "$INNER" ] && kill -0 "$INNER" 2>/dev/null; then
    # Interrupted. unshare blocks SIGTERM while it waits for its child, and run.sh (PID 1 of the
    # PID namespace) runs its TERM trap only once the command it waits for ends: so TERM every
    # process of the namespace (Tempest, nubo, QEMU), then run.sh cleans up and exits, and with
    # it whatever is left. SIGKILL for run.sh (so for the whole PID namespace) after 30 s.
    log "interrupted: stopping everything in $NS"
    pids=$(ip netns pids "$NS" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$INNER" 2>/dev/null || break; sleep 0.5; done
    pids=$(cat "/proc/$INNER/task/$INNER/children" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    wait "$INNER" 2>/dev/null || true
  fi
  if [ -n "$NS" ] && ip netns list | grep -q "^$NS\b"; then
    for _ in $(seq 60); do
      [ -n "$(ip netns pids "$NS" 2>/dev/null)" ] || break
      sleep 0.5
    done
    pids=$(ip netns pids "$NS" 2>/dev/null || true)
    if [ -n "$pids" ]; then
      log "killing what is left in $NS: $(echo "$pids" | tr '\n' ' ')"
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
      sleep 0.5
    fi
    ip netns del "$NS" || log "could not delete namespace $NS"
  fi
  [ -z "$RUNDIR" ] || rm -rf "$RUNDIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ the test guest and nubo
GUEST_ENV=$(bash "$REPO/scripts/build-test-guest.sh") ||
  { log "building the test guest failed; apt-get update and retry"; apt-get update >/dev/null &&
    GUEST_ENV=$(bash "$REPO/scripts/build-test-guest.sh"); } || die "scripts/build-test-guest.sh failed"
eval "$GUEST_ENV"
IMAGE=$NUBO_TEST_GUEST/disk.img
[ -s "$IMAGE" ] || die "no $IMAGE"

# A short directory: nubo's data dir goes under it, and QEMU's unix sockets (data/agent/qemu/<server
# ID>/console.sock) must fit in 107 bytes.
RUNDIR=$(mktemp -d /tmp/ntg.XXXXXX)
if [ -z "${NUBO_BIN:-}" ]; then
  log "building ./cmd/nubo"
  (cd "$REPO" && go build -o "$RUNDIR/nubo" ./cmd/nubo) || die "go build ./cmd/nubo failed"
  NUBO_BIN=$RUNDIR/nubo
fi
[ -x "$NUBO_BIN" ] || die "NUBO_BIN=$NUBO_BIN is not an executable"
NUBO_BIN=$(cd "$(dirname "$NUBO_BIN")" && pwd)/$(basename "$NUBO_BIN")

if [ -z "${TEMPEST_WORKDIR:-}" ]; then
  TEMPEST_WORKDIR=$(mktemp -d "/tmp/nubo-tempest-guests.XXXXXX")
fi
mkdir -p "$TEMPEST_WORKDIR"
WS=$(cd "$TEMPEST_WORKDIR" && pwd)
cat "${TEMPEST_OVERRIDES:-$REPO/test/tempest/overrides.conf}" "$REPO/test/tempest/overrides-guests.conf" >"$RUNDIR/overrides.conf"

# ------------------------------------------------------------------ the namespace
NS=ntg-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
HOST_IP=198.18.0.1   # benchmarking range (RFC 2544), only ever on this namespace's loopback
ip netns add "$NS" || { NS=; die "ip netns add failed"; }
ip -n "$NS" link set lo up
ip -n "$NS" addr add "$HOST_IP/32" dev lo
log "namespace $NS; workspace $WS"
# the host agent refuses to start unless bridged traffic goes through netfilter (security groups)
for k in bridge-nf-call-iptables bridge-nf-call-ip6tables; do
  [ "$(ip netns exec "$NS" cat "/proc/sys/net/bridge/$k" 2>/dev/null)" = 1 ] ||
    die "net.bridge.$k is not 1 in a new namespace (modprobe br_netfilter; see README.md)"
done

# ------------------------------------------------------------------ run.sh inside it
# the inner command: a private /run/netns, then run.sh
# shellcheck disable=SC2016  # expanded by the inner bash
INNER_SH='mkdir -p /run/netns && mount -t tmpfs -o mode=0755 nubo-netns /run/netns && exec bash "$0" "$@"'
START=$SECONDS
set +e
env NUBO_BIN="$NUBO_BIN" NUBO_COMPUTE_DRIVER=qemu NUBO_UP_ARGS="--host-ip $HOST_IP" \
  NUBO_PASS_LIST="$REPO/test/tempest/pass-guests.txt" NUBO_IMAGE_FILE="$IMAGE" \
  NUBO_FLAVOR="${NUBO_FLAVOR:-2,128,1}" NUBO_READY_TIMEOUT="${NUBO_READY_TIMEOUT:-60}" \
  TEMPEST_OVERRIDES="$RUNDIR/overrides.conf" TEMPEST_WORKDIR="$WS" \
  TEMPEST_CONCURRENCY="${TEMPEST_CONCURRENCY:-2}" TEMPEST_TIMEOUT="${TEMPEST_TIMEOUT:-900}" \
  TMPDIR="$RUNDIR" \
  ip netns exec "$NS" unshare --mount --pid --fork --kill-child=SIGTERM --mount-proc -- \
  bash -c "$INNER_SH" "$REPO/test/tempest/run.sh" "$@" &
INNER=$!
wait "$INNER"
RC=$?
INNER=
set -e
log "real-guest phase: $((SECONDS - START)) s (exit $RC); workspace $WS"
exit "$RC"
