#!/usr/bin/env bash
# test/tempest/run.sh — run Tempest (OpenStack's conformance suite) against a fresh `nubo up`.
#
# usage:
#   test/tempest/run.sh                 the pass list test/tempest/pass.txt: every listed test must
#                                       pass; a listed test that fails, is skipped or is missing is a
#                                       regression (exit 1)
#   test/tempest/run.sh SELECTION...    exploration: any run-tempest selection (identity, compute,
#                                       a regex, a file of test IDs), no pass-list check; the passed
#                                       IDs land in WORKSPACE/passed.txt, and
#                                       `test/tempest/grow.sh WORKSPACE` appends the new ones to pass.txt
#
# environment:
#   NUBO_BIN            use this nubo binary (default: go build ./cmd/nubo into a temp dir)
#   NUBO_SHARED         the shared/ checkout (default: REPO/../shared)
#   NUBO_STORE          passed to `nubo up --store` (default: nubo's own default store)
#   NUBO_READY_TIMEOUT  seconds to wait for nubo to answer (default 30)
#   NUBO_COMPUTE_DRIVER `nubo up --compute-driver` (default fake: the simulated host)
#   NUBO_UP_ARGS        more `nubo up` flags (split on spaces), e.g. --host-ip 198.18.0.1
#   NUBO_PASS_LIST      the pass list of a run without SELECTION (default test/tempest/pass.txt)
#   NUBO_IMAGE_FILE     the bytes of the two public test images (default: 1 KiB of zeros, which
#                       the fake host never boots); test/tempest/run-guests.sh gives the test guest
#   NUBO_FLAVOR         VCPUS,RAM_MB,DISK_GB: create flavor nubo-test-flavor and make it
#                       compute.flavor_ref (default: run-tempest's pick, the smallest flavor)
#   TEMPEST_CONF_MODE   default here: template (it needs nothing but the catalog); discover also works
#   TEMPEST_OVERRIDES   default: test/tempest/overrides.conf; run.sh hands run-tempest a merged copy
#                       (WORKSPACE/overrides.conf) that first sets image.http_image to a file it
#                       serves on 127.0.0.1 (python3 -m http.server), so web-download needs no internet
#   TEMPEST_WORKDIR     default: a fresh /tmp/nubo-tempest.XXXXXX, kept (results.tsv, nubo.log, ...)
#   and every other run-tempest knob (TEMPEST_CONCURRENCY, TEMPEST_TIMEOUT, OS_TEST_TIMEOUT, ...).
#
# exit status: 0 good; 1 a test failed or a pass-list test did not pass; 2 setup error.
set -euo pipefail
exec </dev/null

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHARED=${NUBO_SHARED:-$REPO/../shared}
RUN_TEMPEST=$SHARED/conformance/tempest/run-tempest
PASS_LIST=${NUBO_PASS_LIST:-$REPO/test/tempest/pass.txt}
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

log() { printf 'tempest/run.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

[ -f "$RUN_TEMPEST" ] || die "no run-tempest at $RUN_TEMPEST (set NUBO_SHARED to the shared/ checkout)"

# ------------------------------------------------------------------ workspace and state
if [ -n "${TEMPEST_WORKDIR:-}" ]; then
  mkdir -p "$TEMPEST_WORKDIR"
else
  TEMPEST_WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/nubo-tempest.XXXXXX")
fi
WS=$(cd "$TEMPEST_WORKDIR" && pwd)
export TEMPEST_WORKDIR=$WS
STATE=$(mktemp -d "${TMPDIR:-/tmp}/nubo-state.XXXXXX")   # data dir (+ binary); removed at exit
NUBO_LOG=$WS/nubo.log
NUBO_PID=
HTTP_PID=

stop_nubo() {
  [ -n "$NUBO_PID" ] || return 0
  if kill -0 "$NUBO_PID" 2>/dev/null; then
    kill -TERM "$NUBO_PID" 2>/dev/null || true          # graceful shutdown
    for _ in $(seq 100); do kill -0 "$NUBO_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$NUBO_PID" 2>/dev/null; then
      log "nubo did not stop within 10s of SIGTERM; killing it"
      kill -KILL "$NUBO_PID" 2>/dev/null || true
    fi
  fi
  wait "$NUBO_PID" 2>/dev/null || true
  NUBO_PID=
}
# QEMU guests of this run's data dir (--compute-driver qemu): a stopped nubo leaves its guests
# running (a restarted one adopts them), so kill them before the data dir goes
# shellcheck disable=SC2317  # invoked by the EXIT trap
kill_guests() {
  local p cmd pids=()
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    case "$cmd" in qemu-system*"$STATE/"*|*/qemu-system*"$STATE/"*) pids+=("${p#/proc/}") ;; esac
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  log "killing ${#pids[@]} QEMU process(es) left in $STATE"
  kill -KILL "${pids[@]}" 2>/dev/null || true
}
stop_http() {
  [ -n "$HTTP_PID" ] || return 0
  kill -TERM "$HTTP_PID" 2>/dev/null || true
  wait "$HTTP_PID" 2>/dev/null || true
  HTTP_PID=
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  stop_nubo
  stop_http
  kill_guests
  rm -rf "$STATE"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ nubo binary
if [ -n "${NUBO_BIN:-}" ]; then
  NUBO=$NUBO_BIN
  [ -x "$NUBO" ] || die "NUBO_BIN=$NUBO_BIN is not an executable"
else
  NUBO=$STATE/nubo
  log "building ./cmd/nubo"
  (cd "$REPO" && go build -o "$NUBO" ./cmd/nubo) || die "go build ./cmd/nubo failed"
fi

# ------------------------------------------------------------------ start nubo
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
http_status() {  # prints the HTTP status of a GET, or 000
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true
  else
    "$PY" - "$1" <<'PY' || true
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
PY
  fi
}
show_log() { log "nubo log ($NUBO_LOG), last 100 lines:"; tail -n 100 "$NUBO_LOG" >&2 || true; }

PORT=$(free_port)
ADMIN_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')
STORE_ARGS=()
[ -n "${NUBO_STORE:-}" ] && STORE_ARGS=(--store "$NUBO_STORE")
# --bcrypt-cost 4: Tempest authenticates all the time (a new project, user and token per test
# class, and a token request for each client it builds). At the production bcrypt cost every
# password check burns ~50-250 ms of CPU; on a 2-core runner that serialises the run and makes
# tests time out. Cost 4 (the minimum) checks a password in well under a millisecond. Fine for
# a throwaway test cloud, never for a real one.
# Security compliance on, with the values overrides.conf gives Tempest (identity.user_lockout_*,
# identity.user_unique_last_password_count), so Tempest's lockout and password-history tests run.
# Servers run on the simulated host (--compute-driver fake): Tempest's hundreds of servers would
# not boot as real TCG guests on two cores in time; the real host agent has its own tests (make e2e).
# Two simulated hosts, so that Tempest's multi-node tests (migrations, affinity) run.
FAKE_ARGS=()
[ "${NUBO_COMPUTE_DRIVER:-fake}" = fake ] && FAKE_ARGS=(--fake-hosts 2)
# (test/tempest/run-guests.sh runs this script with NUBO_COMPUTE_DRIVER=qemu, for the few tests
# that need real guests.)
read -r -a UP_ARGS <<<"${NUBO_UP_ARGS:-}"
"$NUBO" up --data-dir "$STATE/data" --listen "127.0.0.1:$PORT" --admin-password "$ADMIN_PASSWORD" \
  --compute-driver "${NUBO_COMPUTE_DRIVER:-fake}" "${FAKE_ARGS[@]}" --bcrypt-cost 4 --lockout-failure-attempts 2 --lockout-duration 5s --unique-last-password-count 2 \
  "${STORE_ARGS[@]}" "${UP_ARGS[@]}" >"$NUBO_LOG" 2>&1 &
NUBO_PID=$!
log "nubo up (pid $NUBO_PID) on 127.0.0.1:$PORT, log $NUBO_LOG"

READY_URL=http://127.0.0.1:$PORT/identity/v3
deadline=$(( SECONDS + ${NUBO_READY_TIMEOUT:-30} ))
until [ "$(http_status "$READY_URL")" = 200 ]; do
  if ! kill -0 "$NUBO_PID" 2>/dev/null; then
    wait "$NUBO_PID" && nrc=0 || nrc=$?
    NUBO_PID=
    show_log; die "nubo exited (status $nrc) before answering $READY_URL"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    show_log; die "nubo did not answer 200 on $READY_URL within ${NUBO_READY_TIMEOUT:-30}s"
  fi
  sleep 0.2
done
log "nubo is ready"

# ------------------------------------------------------------------ credentials
OPENRC=$("$NUBO" admin openrc --data-dir "$STATE/data") || { show_log; die "nubo admin openrc failed"; }
# drop any OS_* left in the caller's environment (OS_CLOUD, OS_AUTH_TYPE, OS_TOKEN, ...) so
# only nubo's credentials reach Tempest; OS_TEST_TIMEOUT is a run-tempest knob and stays.
while read -r v; do
  [ "$v" = OS_TEST_TIMEOUT ] || unset "$v"
done < <(compgen -v | grep '^OS_' || true)
eval "$OPENRC"
if [ -z "${OS_AUTH_URL:-}" ] || [ -z "${OS_PASSWORD:-}" ]; then
  die "nubo admin openrc printed no OS_AUTH_URL/OS_PASSWORD: $(printf '%s' "$OPENRC" | sed 's/PASSWORD=.*/PASSWORD=***/')"
fi
export OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME OS_USER_DOMAIN_NAME OS_PROJECT_DOMAIN_NAME OS_REGION_NAME

# ------------------------------------------------------------------ test images
# Tempest boots servers from compute.image_ref/image_ref_alt, which run-tempest's template takes
# from the active images; a fresh nubo has none, so upload two public ones: tiny ones by default
# (the fake hypervisor never boots their bytes; snapshots copy them), NUBO_IMAGE_FILE if given.
# With NUBO_FLAVOR, also a flavor, whose ID goes to $WS/flavor-ref.
if [ -n "${NUBO_IMAGE_FILE:-}" ]; then
  [ -f "$NUBO_IMAGE_FILE" ] || die "NUBO_IMAGE_FILE=$NUBO_IMAGE_FILE is not a file"
fi
rm -f "$WS/flavor-ref"
export NUBO_IMAGE_FILE NUBO_FLAVOR FLAVOR_REF_FILE=$WS/flavor-ref
"$PY" - <<'PY' || die "could not upload the test images"
import json, os, urllib.request
E = os.environ
auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": E["OS_USERNAME"],
    "password": E["OS_PASSWORD"], "domain": {"name": E["OS_USER_DOMAIN_NAME"]}}}},
    "scope": {"project": {"name": E["OS_PROJECT_NAME"], "domain": {"name": E["OS_PROJECT_DOMAIN_NAME"]}}}}}
req = urllib.request.Request(E["OS_AUTH_URL"] + "/auth/tokens", data=json.dumps(auth).encode(), headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=60) as r:
    token, catalog = r.headers["X-Subject-Token"], json.load(r)["token"]["catalog"]
glance = next(e["url"] for s in catalog if s["type"] == "image" for e in s["endpoints"] if e["interface"] == "public").rstrip("/")
def call(method, url, body, ctype):
    r = urllib.request.Request(url, data=body, method=method, headers={"X-Auth-Token": token, "Content-Type": ctype})
    with urllib.request.urlopen(r, timeout=60) as resp:
        return json.load(resp) if resp.status in (200, 201) and resp.headers.get("Content-Type", "").startswith("application/json") else None
data = b"\0" * 1024
if E.get("NUBO_IMAGE_FILE"):
    with open(E["NUBO_IMAGE_FILE"], "rb") as f:
        data = f.read()
for name in ("nubo-test-image", "nubo-test-image-alt"):
    im = call("POST", glance + "/v2/images", json.dumps({"name": name, "disk_format": "raw", "container_format": "bare",
              "visibility": "public"}).encode(), "application/json")
    call("PUT", glance + "/v2/images/" + im["id"] + "/file", data, "application/octet-stream")
if E.get("NUBO_FLAVOR"):
    vcpus, ram, disk = (int(x) for x in E["NUBO_FLAVOR"].split(","))
    nova = next(e["url"] for s in catalog if s["type"] == "compute" for e in s["endpoints"] if e["interface"] == "public").rstrip("/")
    fl = call("POST", nova + "/flavors", json.dumps({"flavor": {"name": "nubo-test-flavor", "vcpus": vcpus, "ram": ram,
              "disk": disk}}).encode(), "application/json")
    with open(E["FLAVOR_REF_FILE"], "w") as f:
        f.write(fl["flavor"]["id"] + "\n")
PY

# ------------------------------------------------------------------ image.http_image, served locally
# Tempest's web-download import test fetches [image] http_image (a cirros URL on the internet by
# default). Serve a small file on 127.0.0.1 instead, for the length of the run.
HTTP_DIR=$STATE/http
mkdir -p "$HTTP_DIR"
head -c 1048576 /dev/urandom >"$HTTP_DIR/cirros.img"
HTTP_PORT=$(free_port)
"$PY" -m http.server --bind 127.0.0.1 "$HTTP_PORT" --directory "$HTTP_DIR" >"$WS/http-image.log" 2>&1 &
HTTP_PID=$!
HTTP_IMAGE=http://127.0.0.1:$HTTP_PORT/cirros.img
deadline=$(( SECONDS + 10 ))
until [ "$(http_status "$HTTP_IMAGE")" = 200 ]; do
  kill -0 "$HTTP_PID" 2>/dev/null || die "the image HTTP server exited; see $WS/http-image.log"
  [ "$SECONDS" -lt "$deadline" ] || die "the image HTTP server did not answer on $HTTP_IMAGE within 10s"
  sleep 0.1
done
log "serving image.http_image at $HTTP_IMAGE (pid $HTTP_PID)"

# ------------------------------------------------------------------ run Tempest
# template: run-tempest's built-in tempest.conf needs nothing but the token's catalog.
# discover (python3-tempestconf 2.5.0) currently fails against nubo: its edit_identity_url()
# (config_tempest/services/services.py) rewrites any identity URL whose path contains
# "/identity" to host:PORT:PORT/identity/v3/v3, a devstack assumption; LocationParseError.
export TEMPEST_CONF_MODE=${TEMPEST_CONF_MODE:-template}
# 10 workers on 2 cores: Tempest's workers mostly wait (Debian's Tempest sleeps 10 s before every
# subnet delete, and every test class cleans up an isolated network), so more workers finish the
# pass list far sooner (978 tests: about 11 minutes at 10 workers) without starving nubo.
export TEMPEST_CONCURRENCY=${TEMPEST_CONCURRENCY:-10}
OVERRIDES_SRC=${TEMPEST_OVERRIDES:-$REPO/test/tempest/overrides.conf}
[ -f "$OVERRIDES_SRC" ] || die "no overrides file at $OVERRIDES_SRC"
# merged copy: our http_image (and flavor) first, so the same keys set in the overrides file win
{
  echo "image.http_image = $HTTP_IMAGE   # served by test/tempest/run.sh"
  [ ! -s "$WS/flavor-ref" ] || echo "compute.flavor_ref = $(cat "$WS/flavor-ref")   # NUBO_FLAVOR=$NUBO_FLAVOR, made by test/tempest/run.sh"
  cat "$OVERRIDES_SRC"
} >"$WS/overrides.conf"
export TEMPEST_OVERRIDES=$WS/overrides.conf
if [ $# -eq 0 ]; then
  MODE=passlist
  [ -f "$PASS_LIST" ] || die "no pass list at $PASS_LIST"
  SELECTION=("$PASS_LIST")
else
  MODE=explore
  SELECTION=("$@")
fi
log "running run-tempest ${SELECTION[*]} (conf mode $TEMPEST_CONF_MODE, workspace $WS)"
set +e +o pipefail
"$RUN_TEMPEST" "${SELECTION[@]}" 2>&1 | tee "$WS/run-tempest.out"
RC=${PIPESTATUS[0]}
set -e -o pipefail

if ! kill -0 "$NUBO_PID" 2>/dev/null; then
  log "nubo died during the run"; show_log
  [ "$RC" != 0 ] || RC=1
fi
stop_nubo
stop_http

[ "$RC" != 2 ] || die "run-tempest setup error (exit 2); see the output above and $WS"
RESULTS=$WS/results.tsv
[ -f "$RESULTS" ] || die "run-tempest wrote no $RESULTS"
CLOSING=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$WS/run-tempest.out" | tail -n1 || true)

# passed = success or xfail (as run-tempest counts them); IDs without their [id-...] suffix
awk -F'\t' '$1 == "success" || $1 == "xfail" { id = $2; sub(/\[.*$/, "", id); print id }' "$RESULTS" |
  sort -u >"$WS/passed.txt"
list_ids() { sed -e 's/#.*//' -e 's/[[:space:]]//g' -e 's/\[.*$//' "$1" | grep -v '^$' | sort -u; }

if [ "$MODE" = explore ]; then
  NEW=$(comm -23 "$WS/passed.txt" <(list_ids "$PASS_LIST") | wc -l)
  log "$(wc -l <"$WS/passed.txt") passed IDs in $WS/passed.txt; $NEW not yet in ${PASS_LIST#"$REPO"/}"
  [ "$NEW" = 0 ] || log "to add them: test/tempest/grow.sh $WS${NUBO_PASS_LIST:+ $PASS_LIST}"
  echo "${CLOSING:-no closing line from run-tempest}"
  exit "$RC"
fi

# pass-list check: every listed ID must have passed
comm -23 <(list_ids "$PASS_LIST") "$WS/passed.txt" >"$WS/regressions.txt"
if [ -s "$WS/regressions.txt" ]; then
  log "REGRESSION: $(wc -l <"$WS/regressions.txt") test(s) in ${PASS_LIST#"$REPO"/} did not pass:"
  while read -r id; do
    line=$(awk -F'\t' -v id="$id" '{ t = $2; sub(/\[.*$/, "", t) } t == id { print $1 "\t" $3; exit }' "$RESULTS")
    if [ -z "$line" ]; then
      printf '  %-8s %s\n           %s\n' missing "$id" "no result: not a Tempest test ID, or not selected" >&2
    else
      printf '  %-8s %s\n           %s\n' "${line%%$'\t'*}" "$id" "${line#*$'\t'}" >&2
    fi
  done <"$WS/regressions.txt"
  RC=1
else
  log "all $(list_ids "$PASS_LIST" | wc -l) tests of ${PASS_LIST#"$REPO"/} passed"
fi
echo "${CLOSING:-no closing line from run-tempest}"
exit "$RC"
