#!/usr/bin/env bash
# scripts/build-test-guest.sh — build Nubo's tiny test guest from Debian packages only.
#
# Output (in $NUBO_TEST_GUEST, default /var/cache/nubo/test-guest):
#   vmlinuz              the Debian cloud kernel (virtio, ACPI and PCI hot-plug)
#   initramfs.cpio.gz    static busybox, the virtio/ATA/isofs modules and an /init (below)
#   disk.img             a bootable raw disk (32 MiB) of the same guest, what a user would
#                        upload to the image service: an MBR (syslinux's mbr.bin) and one
#                        active FAT16 partition with syslinux, vmlinuz, the initramfs and a
#                        syslinux.cfg that boots them with $CMDLINE (below: console=ttyS0
#                        and the rest of the cmdline the QEMU driver tests pass to -append).
#                        SeaBIOS boots it on its own, no -kernel:
#                          qemu-system-x86_64 -accel tcg -m 128 -nographic \
#                            -drive file=disk.img,if=virtio,format=raw,snapshot=on
#                        (use a qcow2 overlay on it, or snapshot=on: the guest never
#                        writes to it, but QEMU would open it read-write)
# and prints `export NUBO_TEST_GUEST=<dir>` on stdout (progress goes to stderr), so that
#   eval "$(scripts/build-test-guest.sh)"
# works. Idempotent: it does nothing when the outputs exist and were built by this same
# script (.stamp holds the script's sha256).
#
# Needs: apt-get (download only: the kernel, busybox and dropbear packages are NOT installed),
# dpkg-deb, depmod/modprobe (package kmod), cpio, gzip, and for disk.img mkfs.vfat
# (dosfstools), mcopy (mtools), syslinux (syslinux) and mbr.bin (syslinux-common); no loop
# device, no mount. Installs nothing (scripts/install-deps.sh does). Run `apt-get update`
# first on a fresh machine.
#
# The guest's /init prints console markers (with the guest uptime) that the tests wait for:
#   FZ-USERSPACE            /init started (from disk.img, syslinux's "SYSLINUX 6.04" banner
#                           comes first)
#   FZ-CD-BEGIN <dev> … FZ-CD-END <dev>
#                           the config drive's openstack/latest/meta_data.json: the first
#                           CD-ROM or unpartitioned virtio disk with an ISO 9660 filesystem
#                           holding it (so disk.img's partitioned root disk is never taken)
#   FZ-LEASE <ip>           udhcpc got a lease on eth0 (only when the guest has a NIC);
#                           FZ-NO-LEASE if it did not. Routes: DHCP option 121 (classless
#                           static routes, e.g. default and 169.254.169.254/32) when the
#                           server sends it, else option 3 (router) as the default route
#   FZ-MD-BEGIN … FZ-MD-END meta_data.json from http://169.254.169.254 (only after a lease)
#   FZ-UD-BEGIN <src> … FZ-UD-END <src>
#                           the user data, base64-encoded (so its text cannot fake a
#                           marker), from the config drive (<src> = its device) or the
#                           metadata service (<src> = metadata); user data starting with #!
#                           then runs, its output going to the console
#   FZ-READY                boot finished; with a NIC, the guest now serves HTTP on port 80
#                           (busybox httpd: index.html = its hostname) and TCP echo on port 7
#                           (busybox nc -ll -e cat)
#   FZ-SSH <fingerprint>    (only with a NIC) dropbear (Debian's dropbear-bin) listens on port
#                           22 with an ed25519 host key made at boot by dropbearkey; root logs
#                           in with the keys of meta_data.json, never with a password. Started
#                           in the background right after the metadata: the key waits for the
#                           kernel's random pool, so this may come after FZ-READY
#   FZ-BLK [ vda:serial … ] the virtio disks, printed at boot and whenever the set changes
#                           (partitions such as disk.img's vda1 are not listed)
#   FZ-NET [ eth0:mac … ]   the NICs, likewise (printed before DHCP starts)
#   FZ-POWEROFF             the ACPI power button was pressed; the guest powers off
# meta_data.json (the config drive's, then the metadata service's, which wins) is applied as
# cloud-init would: its "hostname" becomes the guest's hostname (the part before the first dot;
# a hostname from DHCP never replaces it) and every value of its "public_keys" a line of
# /root/.ssh/authorized_keys. The user data runs after that (and, with a NIC, after dropbear
# started), so a script can rely on both.
# With root=/dev/X on the kernel command line it mounts X and switch_roots into it instead.
set -euo pipefail
exec </dev/null

OUT=${NUBO_TEST_GUEST:-/var/cache/nubo/test-guest}
KPKG=${NUBO_GUEST_KERNEL_PKG:-}   # e.g. linux-image-6.1.0-56-cloud-amd64; default: what linux-image-cloud-amd64 depends on
# The kernel command line of disk.img (syslinux.cfg); the tests pass the same to -append.
CMDLINE="console=ttyS0 quiet clocksource=hpet panic=-1"
MODULES="virtio_pci virtio_blk virtio_net button evdev ata_piix sr_mod isofs"
# The SSH server and the shared libraries it loads, from their Debian packages (the guest's
# own copies: nothing of the build machine's installation goes in).
SSH_PKGS="dropbear-bin libc6 libcrypt1 libtomcrypt1 libtommath1 libgmp10 zlib1g"

log() { printf 'build-test-guest: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for t in apt-get apt-cache dpkg-deb depmod modprobe cpio gzip sha256sum; do
  command -v "$t" >/dev/null 2>&1 || die "missing $t (apt-get install kmod cpio)"
done
for t in mkfs.vfat mcopy syslinux; do
  command -v "$t" >/dev/null 2>&1 || die "missing $t (apt-get install dosfstools mtools syslinux syslinux-common)"
done
MBR=
for f in /usr/lib/syslinux/mbr/mbr.bin /usr/lib/SYSLINUX/mbr.bin; do [ -f "$f" ] && { MBR=$f; break; }; done
[ -n "$MBR" ] || die "missing syslinux's mbr.bin (apt-get install syslinux-common)"

self_sum=$(sha256sum "$0" | cut -d' ' -f1)
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initramfs.cpio.gz" ] && [ -s "$OUT/disk.img" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$self_sum" ]; then
  log "up to date in $OUT"
  echo "export NUBO_TEST_GUEST='$OUT'"
  exit 0
fi

if [ -z "$KPKG" ]; then
  KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
  [ -n "$KPKG" ] || die "cannot resolve linux-image-cloud-amd64 (run apt-get update)"
fi
KVER=${KPKG#linux-image-}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

log "downloading $KPKG busybox-static $SSH_PKGS"
mkdir debs
# shellcheck disable=SC2086
(cd debs && apt-get -o APT::Sandbox::User=root download "$KPKG" busybox-static $SSH_PKGS >&2) || die "apt-get download failed"
dpkg-deb -x debs/"$KPKG"_*.deb k
dpkg-deb -x debs/busybox-static_*.deb bb
for p in $SSH_PKGS; do dpkg-deb -x debs/"$p"_*.deb ssh; done

log "resolving modules for $KVER"
depmod -b "$WORK/k" "$KVER"
R=initramfs
mkdir -p $R/bin $R/sbin $R/etc/acpi $R/lib/modules $R/proc $R/sys $R/dev $R/tmp $R/run $R/mnt/cd $R/newroot $R/usr/share/udhcpc
: > $R/etc/modules.order
for m in $MODULES; do
  modprobe -d "$WORK/k" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
  b=$(basename "$ko")
  cp "$ko" "$R/lib/modules/$b"
  echo "$b" >> $R/etc/modules.order
done
log "modules: $(tr '\n' ' ' < $R/etc/modules.order)"

cp bb/bin/busybox $R/bin/busybox
ln -s busybox $R/bin/sh

# dropbear and dropbearkey with the libraries they need, as the packages' own dynamic loader
# resolves them against the packages' library directories only (--list, like ldd).
log "adding dropbear"
LDSO=ssh/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
[ -x "$LDSO" ] || die "no dynamic loader in libc6 (not amd64?)"
mkdir -p $R/sbin $R/lib64 $R/lib/x86_64-linux-gnu $R/etc/dropbear $R/root $R/var/log $R/usr/share/nubo
cp ssh/usr/sbin/dropbear $R/sbin/dropbear
cp ssh/usr/bin/dropbearkey $R/bin/dropbearkey
cp "$LDSO" $R/lib64/ld-linux-x86-64.so.2
for b in ssh/usr/sbin/dropbear ssh/usr/bin/dropbearkey; do
  "$LDSO" --inhibit-cache --library-path "$WORK/ssh/lib/x86_64-linux-gnu:$WORK/ssh/usr/lib/x86_64-linux-gnu" --list "$b" ||
    die "cannot resolve the libraries of $b"
done | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u | while read -r soname path; do
  case "$path" in
    "$WORK"/ssh/*) cp -L "$path" "$R/lib/x86_64-linux-gnu/$soname" ;;
    *) die "$soname resolves to $path, outside the packages $SSH_PKGS (add its package to SSH_PKGS)" ;;
  esac
done
log "dropbear libraries: $(cd $R/lib/x86_64-linux-gnu && echo *)"
chmod 700 $R/root
echo 'root:x:0:0:root:/root:/bin/sh' > $R/etc/passwd
echo 'root:x:0:' > $R/etc/group
# "*": no password can match; dropbear runs with -s (keys only) anyway
echo 'root:*:19000:0:99999:7:::' > $R/etc/shadow
chmod 600 $R/etc/shadow
echo /bin/sh > $R/etc/shells
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' > $R/etc/nsswitch.conf

# json.awk: what the guest reads meta_data.json with (busybox has no JSON tool).
cat > $R/usr/share/nubo/json.awk <<'AWK'
# awk -v want=PATH -f json.awk FILE prints the values at PATH of a JSON document, one per
# line. A path joins object keys and array indexes (from 0) with "/": "hostname",
# "keys/0/data"; "public_keys/*" selects every value directly under "public_keys". String
# escapes are decoded (\uXXXX: printable ASCII only, anything else becomes "?"), trailing
# newlines dropped.
{ s = s $0 "\n" }
function hexval(h,   k, v) {
  v = 0
  for (k = 1; k <= length(h); k++) v = v * 16 + index("0123456789abcdef", tolower(substr(h, k, 1))) - 1
  return v
}
function str(   c, out, cp) {   # at the opening quote; returns with i after the closing one
  out = ""; i++
  while (i <= n) {
    c = substr(s, i, 1)
    if (c == "\"") { i++; return out }
    if (c == "\\") {
      i++; c = substr(s, i, 1)
      if (c == "n") c = "\n"; else if (c == "t") c = "\t"; else if (c == "r") c = "\r"
      else if (c == "b") c = "\b"; else if (c == "f") c = "\f"
      else if (c == "u") { cp = hexval(substr(s, i + 1, 4)); i += 4; c = (cp >= 32 && cp < 127) ? sprintf("%c", cp) : (cp == 10 ? "\n" : "?") }
    }
    out = out c; i++
  }
  return out
}
function emit(v,   p, k, parent) {
  p = ""; parent = ""
  for (k = 1; k <= d; k++) p = p (k > 1 ? "/" : "") key[k]
  for (k = 1; k < d; k++) parent = parent (k > 1 ? "/" : "") key[k]
  if (p == want || (all && parent == base)) { sub(/\n+$/, "", v); print v }
}
END {
  all = want ~ /\/\*$/; base = want; sub(/\/\*$/, "", base)
  n = length(s); i = 1; d = 0; expect = 0
  while (i <= n) {
    c = substr(s, i, 1)
    if (c == "{") { d++; typ[d] = "o"; key[d] = ""; expect = 1; i++ }
    else if (c == "[") { d++; typ[d] = "a"; key[d] = 0; expect = 0; i++ }
    else if (c == "}" || c == "]") { d--; expect = 0; i++ }
    else if (c == ",") { if (typ[d] == "a") key[d]++; else expect = 1; i++ }
    else if (c == "\"") { v = str(); if (typ[d] == "o" && expect) { key[d] = v; expect = 0 } else emit(v) }
    else if (c ~ /[-0-9a-z]/) {
      v = ""
      while (i <= n && substr(s, i, 1) ~ /[-+.0-9a-zA-Z]/) { v = v substr(s, i, 1); i++ }
      emit(v)
    }
    else i++
  }
}
AWK

cat > $R/etc/acpid.conf <<'EOF'
PWRF power
EOF
cat > $R/etc/acpi/power <<'EOF'
#!/bin/sh
echo "FZ-POWEROFF $(cut -d' ' -f1 /proc/uptime)" > /dev/console
sync
poweroff -f
EOF
chmod 755 $R/etc/acpi/power

cat > $R/usr/share/udhcpc/default.script <<'EOF'
#!/bin/sh
# udhcpc hook. With DHCP option 121 (classless static routes, requested with
# -O staticroutes) udhcpc exports $staticroutes = "dst/len gw dst/len gw ...",
# gw 0.0.0.0 meaning on-link; as RFC 3442 says, $router (option 3) is then
# ignored and only used when there are no static routes.
# The routes of a lease are remembered in /run/routes.$interface, so that a
# renew or deconfig removes what the previous lease added.
rt=/run/routes.$interface
droproutes() {
  [ -f "$rt" ] || return 0
  while read -r r; do ip route del $r 2>/dev/null; done < "$rt"
  rm -f "$rt"
}
addroute() {  # addroute dst gw
  d=$1; [ "$d" = 0.0.0.0/0 ] && d=default
  if [ "$2" = 0.0.0.0 ]; then set -- "$d" dev "$interface"
  else set -- "$d" via "$2" dev "$interface"; fi
  # a gateway outside the subnet is allowed by RFC 3442: retry as onlink
  { ip route replace "$@" 2>/dev/null || ip route replace "$@" onlink; } && echo "$*" >> "$rt"
}
case "$1" in
  deconfig)
    droproutes
    ifconfig "$interface" 0.0.0.0 ;;
  bound|renew)
    droproutes
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" ${broadcast:+broadcast $broadcast}
    [ -n "$mtu" ] && ifconfig "$interface" mtu "$mtu"
    : > "$rt"
    if [ -n "$staticroutes" ]; then
      set -- $staticroutes
      while [ $# -ge 2 ]; do addroute "$1" "$2"; shift 2; done
    else
      for r in $router; do addroute 0.0.0.0/0 "$r"; break; done
    fi
    # a hostname from meta_data.json (see /init) wins over DHCP's, as with cloud-init
    [ -n "$hostname" ] && [ ! -e /run/hostname.md ] && hostname "$hostname"
    echo "$ip" > /run/lease ;;
esac
exit 0
EOF
chmod 755 $R/usr/share/udhcpc/default.script

cat > $R/init <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
up() { cut -d' ' -f1 /proc/uptime; }
mark() { echo "FZ-$* t=$(up)" > /dev/console; }
# userdata FILE SOURCE: print FILE base64-encoded between FZ-UD markers (so that
# its text cannot fake a marker), then run it when it is a script (#!).
userdata() {
  [ -s "$1" ] || return 0
  mark UD-BEGIN "$2"
  base64 "$1" > /dev/console
  mark UD-END "$2"
  if [ "$(head -c 2 "$1")" = "#!" ]; then sh "$1" > /dev/console 2>&1; fi
}
# jget FILE PATH: the values at PATH of the JSON document FILE (see json.awk).
jget() { awk -v want="$2" -f /usr/share/nubo/json.awk "$1"; }
# metadata FILE: apply meta_data.json as cloud-init does: "hostname" (its first
# label; the rest is the DHCP domain, e.g. novalocal) becomes the hostname, and
# the values of "public_keys" root's authorized_keys.
metadata() {
  [ -s "$1" ] || return 0
  h=$(jget "$1" hostname | head -n 1)
  case "$h" in
    ""|*[!A-Za-z0-9.-]*) ;;
    *) hostname "${h%%.*}"
       echo "${h%%.*}" > /etc/hostname
       printf '127.0.0.1 localhost\n127.0.1.1 %s %s\n' "$h" "${h%%.*}" > /etc/hosts
       : > /run/hostname.md ;;
  esac
  jget "$1" 'public_keys/*' > /tmp/keys
  if [ -s /tmp/keys ]; then
    mkdir -p /root/.ssh && chmod 700 /root/.ssh
    mv /tmp/keys /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys
  fi
}
# sshd: start dropbear on port 22 (once), in the background: the host key
# (ed25519, made now) waits for the kernel's random pool, which takes a few
# seconds of a TCG guest's boot. Public key logins only (-s). FZ-SSH once
# port 22 listens.
sshd() {
  [ -e /run/sshd ] && return 0
  : > /run/sshd
  (
    k=/etc/dropbear/dropbear_ed25519_host_key
    dropbearkey -t ed25519 -f $k > /tmp/dropbearkey.log 2>&1
    dropbear -F -E -s -r $k -p 22 > /tmp/dropbear.log 2>&1 &
    for i in $(seq 50); do grep -q '^ *[0-9]*: 00000000:0016 00000000:0000 0A' /proc/net/tcp && break; sleep 0.1; done
    mark SSH "$(sed -n 's/^Fingerprint: //p' /tmp/dropbearkey.log)"
  ) &
}
for m in $(cat /etc/modules.order); do insmod /lib/modules/$m 2>/dev/null; done
mark USERSPACE

root=$(sed -n 's/.*root=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$root" ]; then
  for i in 1 2 3 4 5 6 7 8 9 10; do [ -b "$root" ] && break; sleep 0.5; done
  if mount -o rw "$root" /newroot; then
    mark SWITCH_ROOT "$root"
    umount /tmp; umount /sys; umount /proc
    exec switch_root /newroot /sbin/init
  fi
  mark ROOT_FAILED "$root"
fi

acpid -c /etc/acpi -a /etc/acpid.conf -l /tmp/acpid.log

# Config drive: any CD-ROM or whole disk holding an ISO 9660 filesystem with an
# openstack/latest/meta_data.json. A partitioned disk (the root disk when the
# guest boots from disk.img: /dev/vda with vda1) is never a config drive.
for d in /dev/sr0 /dev/sr1 /dev/vd?; do
  [ -b "$d" ] || continue
  n=${d#/dev/}
  ls /sys/block/$n/$n* >/dev/null 2>&1 && continue
  if mount -t iso9660 -o ro "$d" /mnt/cd 2>/dev/null; then
    if [ -f /mnt/cd/openstack/latest/meta_data.json ]; then
      mark CD-BEGIN "$d"
      cat /mnt/cd/openstack/latest/meta_data.json > /dev/console
      echo > /dev/console
      mark CD-END "$d"
      metadata /mnt/cd/openstack/latest/meta_data.json
      userdata /mnt/cd/openstack/latest/user_data "$d"
      break
    fi
    umount /mnt/cd
  fi
done

# Device watcher: prints the virtio disks (name:serial) and the NICs
# (name:mac) whenever either set changes (hot-plug).
(
  lastb=none; lastn=none
  while :; do
    cur=""
    for b in /sys/block/vd*; do
      [ -e "$b" ] || continue
      cur="$cur $(basename $b):$(cat $b/serial 2>/dev/null)"
    done
    if [ "$cur" != "$lastb" ]; then mark BLK "[$cur ]"; lastb=$cur; fi
    cur=""
    for n in /sys/class/net/eth*; do
      [ -e "$n" ] || continue
      cur="$cur $(basename $n):$(cat $n/address)"
    done
    if [ "$cur" != "$lastn" ]; then mark NET "[$cur ]"; lastn=$cur; fi
    sleep 0.3
  done
) &

if [ -e /sys/class/net/eth0 ]; then
  ifconfig lo 127.0.0.1 up
  ifconfig eth0 up
  if udhcpc -i eth0 -n -q -t 10 -T 1 -O mtu -O staticroutes -s /usr/share/udhcpc/default.script >/tmp/udhcpc.log 2>&1; then
    mark LEASE "$(cat /run/lease)"
    mark MD-BEGIN
    timeout 10 wget -q -O /tmp/meta_data.json http://169.254.169.254/openstack/latest/meta_data.json 2> /dev/console
    cat /tmp/meta_data.json > /dev/console 2>/dev/null
    echo > /dev/console
    mark MD-END
    metadata /tmp/meta_data.json
    sshd
    timeout 10 wget -q -O /tmp/user_data http://169.254.169.254/openstack/latest/user_data 2>/dev/null
    userdata /tmp/user_data metadata
  else
    mark NO-LEASE
  fi
  mkdir -p /www && hostname > /www/index.html
  httpd -p 80 -h /www
  sshd
  nc -ll -p 7 -e /bin/cat &
fi

mark READY
while :; do setsid cttyhack sh </dev/console >/dev/console 2>&1; sleep 1; done
EOF
chmod 755 $R/init

log "packing initramfs"
mkdir -p "$OUT"
(cd $R && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$WORK/initramfs.cpio.gz"
cp "k/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
cp "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz.tmp" && mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"

# disk.img: a raw disk with an MBR (syslinux's mbr.bin) and one active FAT16
# partition from 1 MiB to the end that holds syslinux, the kernel, the
# initramfs and syslinux.cfg. Built in plain files: no loop device, no mount.
log "building disk.img"
DISK_MB=32
PART_START=2048                                  # sectors
PART_SECTORS=$(( DISK_MB * 2048 - PART_START ))
cat > syslinux.cfg <<EOF
SERIAL 0 115200
DEFAULT nubo
PROMPT 0
TIMEOUT 0
LABEL nubo
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND $CMDLINE
EOF
truncate -s $(( PART_SECTORS * 512 )) part.img
# -h: the partition's first sector, for syslinux's boot sector; -i and --invariant:
# a fixed volume ID and timestamps
mkfs.vfat -F 16 -n NUBOGUEST -i 4e55424f -h $PART_START --invariant part.img >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -i part.img "k/boot/vmlinuz-$KVER" ::/vmlinuz
mcopy -i part.img initramfs.cpio.gz ::/initrd.gz
mcopy -i part.img syslinux.cfg ::/syslinux.cfg
syslinux --install part.img
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
truncate -s $(( DISK_MB << 20 )) disk.img
dd if="$MBR" of=disk.img bs=440 count=1 conv=notrunc status=none
# partition 1: active, CHS fields "use LBA", type 0x0e (FAT16, LBA)
printf "$(le32 0x4e55424f)\0\0\x80\xfe\xff\xff\x0e\xfe\xff\xff$(le32 $PART_START)$(le32 $PART_SECTORS)" |
  dd of=disk.img bs=1 seek=440 conv=notrunc status=none
printf '\x55\xaa' | dd of=disk.img bs=1 seek=510 conv=notrunc status=none
dd if=part.img of=disk.img bs=1M seek=1 conv=notrunc status=none
cp disk.img "$OUT/disk.img.tmp" && mv "$OUT/disk.img.tmp" "$OUT/disk.img"
echo "$KPKG" > "$OUT/kernel-package"
echo "$self_sum" > "$OUT/.stamp"
log "kernel:    $OUT/vmlinuz ($KPKG)"
log "initramfs: $OUT/initramfs.cpio.gz ($(du -h "$OUT/initramfs.cpio.gz" | cut -f1))"
log "disk:      $OUT/disk.img (raw, $DISK_MB MiB, $(du -h "$OUT/disk.img" | cut -f1) used)"
echo "export NUBO_TEST_GUEST='$OUT'"
