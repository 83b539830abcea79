#!/usr/bin/env bash
# scripts/install-deps.sh — install what Nubo's tests need on Debian 12 and start PostgreSQL.
#
# Idempotent and non-interactive. Run it as root, or as a user with passwordless sudo.
# Installs (only what is missing): postgresql, tempest, python3-tempestconf,
# python3-openstackclient, python3-subunit, python3-stestr, nftables, busybox-static,
# qemu-system-x86, qemu-utils, kmod, cpio, dosfstools, mtools, syslinux, syslinux-common,
# iproute2, and git/make/gcc/curl.
# Then starts the PostgreSQL cluster and makes sure role `nubo` (password `nubo`, superuser)
# and database `nubo` exist.
#
# stdout: exactly one line, so that `eval "$(scripts/install-deps.sh)"` works:
#   export TEST_POSTGRES_URL='postgres://nubo:nubo@127.0.0.1:5432/nubo?sslmode=disable'
# Progress and errors go to stderr.
set -euo pipefail
exec </dev/null

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ "$(id -u)" = 0 ]; then
  SUDO=()
  AS_POSTGRES=(runuser -u postgres --)
else
  command -v sudo >/dev/null 2>&1 || die "run as root, or install sudo"
  SUDO=(sudo -n)
  AS_POSTGRES=(sudo -n -u postgres)
fi
export DEBIAN_FRONTEND=noninteractive

# ------------------------------------------------------------------ packages
missing=()
# nftables and busybox-static: the host networking drivers' netns tests (make e2e-netns);
# qemu-system-x86, qemu-utils, kmod and cpio: real guests (make e2e-qemu builds its test guest with them);
# dosfstools, mtools, syslinux and syslinux-common: the test guest's bootable disk.img
# (its dropbear and libraries are only downloaded, by scripts/build-test-guest.sh);
# iproute2 (ip netns): the real-guest Tempest phase (test/tempest/run-guests.sh)
for p in postgresql tempest python3-tempestconf python3-openstackclient python3-subunit python3-stestr \
         nftables busybox-static qemu-system-x86 qemu-utils kmod cpio \
         dosfstools mtools syslinux syslinux-common iproute2; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
# tools: any provider will do (e.g. gcc may come from gcc-12)
for t in git make gcc curl; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  apt_install() { "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >&2; }
  # 'apt-get update' only when the install fails: the package lists are usually fresh enough.
  apt_install || { log "install failed; running apt-get update and retrying"
                   "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update >&2 && apt_install; } ||
    die "apt-get install failed"
else
  log "all packages present"
fi

# ------------------------------------------------------------------ noVNC
# The console proxy (internal/consoleproxy) serves noVNC's page and scripts; Nubo is the
# WebSocket proxy itself, so only the files of Debian's novnc package are needed, not its
# nodejs/websockify dependencies: unpack them into /usr/share/nubo/novnc (nubo up looks there
# after /usr/share/novnc).
if [ ! -f /usr/share/novnc/vnc_lite.html ] && [ ! -f /usr/share/nubo/novnc/vnc_lite.html ]; then
  log "unpacking noVNC into /usr/share/nubo/novnc"
  novnc_tmp=$(mktemp -d)
  ( cd "$novnc_tmp" && apt-get download novnc >&2 2>/dev/null ) ||
    { "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update >&2 && ( cd "$novnc_tmp" && apt-get download novnc >&2 ); } ||
    die "apt-get download novnc failed"
  dpkg-deb -x "$novnc_tmp"/novnc_*.deb "$novnc_tmp/root"
  "${SUDO[@]}" mkdir -p /usr/share/nubo
  "${SUDO[@]}" rm -rf /usr/share/nubo/novnc
  "${SUDO[@]}" cp -a "$novnc_tmp/root/usr/share/novnc" /usr/share/nubo/novnc
  rm -rf "$novnc_tmp"
fi

# ------------------------------------------------------------------ PostgreSQL cluster
# Debian's policy-rc.d (containers) blocks service starts during apt-get install,
# so start the cluster directly with pg_ctlcluster.
PGVER=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n1)
[ -n "$PGVER" ] || die "no PostgreSQL server found under /usr/lib/postgresql"
cluster_field() {  # cluster_field N  -> Nth column of 'pg_lsclusters -h' for $PGVER/main
  pg_lsclusters -h 2>/dev/null | awk -v v="$PGVER" -v n="$1" '$1 == v && $2 == "main" { print $n }'
}
if [ -z "$(cluster_field 2)" ]; then
  log "creating PostgreSQL $PGVER cluster 'main'"
  "${SUDO[@]}" pg_createcluster "$PGVER" main --start >&2 || die "pg_createcluster $PGVER main failed"
fi
case "$(cluster_field 4)" in
  online*) log "PostgreSQL $PGVER/main is running" ;;
  *) log "starting PostgreSQL $PGVER/main"
     "${SUDO[@]}" pg_ctlcluster "$PGVER" main start >&2 ||
       case "$(cluster_field 4)" in online*) ;; *) die "pg_ctlcluster $PGVER main start failed (see /var/log/postgresql/)";; esac ;;
esac
PGPORT=$(cluster_field 3)
[ -n "$PGPORT" ] || die "cannot find the port of PostgreSQL $PGVER/main"
for _ in $(seq 60); do
  pg_isready -q -h 127.0.0.1 -p "$PGPORT" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PGPORT" || die "PostgreSQL does not accept connections on 127.0.0.1:$PGPORT"

# ------------------------------------------------------------------ role and database
psql_admin() {  # run SQL as the postgres superuser over the local socket
  (cd / && "${AS_POSTGRES[@]}" psql -X -q -t -A -v ON_ERROR_STOP=1 -p "$PGPORT" -d postgres "$@")
}
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'nubo'")" = 1 ]; then
  # re-assert the attributes so a half-made or altered role converges
  psql_admin -c "ALTER ROLE nubo WITH LOGIN SUPERUSER PASSWORD 'nubo'" >&2
else
  log "creating role nubo"
  psql_admin -c "CREATE ROLE nubo WITH LOGIN SUPERUSER PASSWORD 'nubo'" >&2
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'nubo'")" != 1 ]; then
  log "creating database nubo"
  psql_admin -c "CREATE DATABASE nubo OWNER nubo" >&2
fi

URL="postgres://nubo:nubo@127.0.0.1:$PGPORT/nubo?sslmode=disable"
# prove the URL works over TCP with the password (pg_hba: scram-sha-256 on 127.0.0.1)
(cd / && psql -X -q -t -A "$URL" -c 'SELECT 1' >/dev/null) || die "cannot connect with $URL"
log "PostgreSQL ready: $URL"
printf "export TEST_POSTGRES_URL='%s'\n" "$URL"
