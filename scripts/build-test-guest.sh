#!/usr/bin/env bash
# scripts/build-test-guest.sh — build Nubo's tiny test guest from Debian packages only.
#
# Output (in $NUBO_TEST_GUEST, default /var/cache/nubo/test-guest):
#   vmlinuz              the Debian cloud kernel (virtio, ACPI and PCI hot-plug)
#   initramfs.cpio.gz    static busybox, the virtio/ATA/isofs modules and an /init (below)
# and prints `export NUBO_TEST_GUEST=<dir>` on stdout (progress goes to stderr), so that
#   eval "$(scripts/build-test-guest.sh)"
# works. Idempotent: it does nothing when the outputs exist and were built by this same script.
#
# Needs: apt-get (download only: the packages are NOT installed), dpkg-deb, depmod/modprobe
# (package kmod), cpio and gzip. Installs nothing. Run `apt-get update` first on a fresh machine.
#
# The guest's /init prints console markers (with the guest uptime) that the tests wait for:
#   FZ-USERSPACE            /init started
#   FZ-CD-BEGIN … FZ-CD-END the config drive's openstack/latest/meta_data.json (ISO labelled config-2)
#   FZ-LEASE <ip>           udhcpc got a lease on eth0 (only when the guest has a NIC)
#   FZ-MD-BEGIN … FZ-MD-END meta_data.json from http://169.254.169.254 (only after a lease)
#   FZ-READY                boot finished
#   FZ-BLK [ vda:serial … ] the virtio disks, printed at boot and whenever the set changes
#   FZ-NET [ eth0:mac … ]   the NICs, likewise (printed before DHCP starts)
#   FZ-POWEROFF             the ACPI power button was pressed; the guest powers off
# With root=/dev/X on the kernel command line it mounts X and switch_roots into it instead.
set -euo pipefail
exec </dev/null

OUT=${NUBO_TEST_GUEST:-/var/cache/nubo/test-guest}
KPKG=${NUBO_GUEST_KERNEL_PKG:-}   # e.g. linux-image-6.1.0-56-cloud-amd64; default: what linux-image-cloud-amd64 depends on
MODULES="virtio_pci virtio_blk virtio_net button evdev ata_piix sr_mod isofs"

log() { printf 'build-test-guest: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for t in apt-get apt-cache dpkg-deb depmod modprobe cpio gzip sha256sum; do
  command -v "$t" >/dev/null 2>&1 || die "missing $t (apt-get install kmod cpio)"
done

self_sum=$(sha256sum "$0" | cut -d' ' -f1)
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initramfs.cpio.gz" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$self_sum" ]; then
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

log "downloading $KPKG busybox-static"
apt-get -o APT::Sandbox::User=root download "$KPKG" busybox-static >&2 || die "apt-get download failed"
dpkg-deb -x "$KPKG"_*.deb k
dpkg-deb -x busybox-static_*.deb bb

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
case "$1" in
  deconfig) ifconfig "$interface" 0.0.0.0 ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" ${broadcast:+broadcast $broadcast}
    [ -n "$mtu" ] && ifconfig "$interface" mtu "$mtu"
    if [ -n "$router" ]; then
      while route del default gw 0.0.0.0 dev "$interface" 2>/dev/null; do :; done
      for r in $router; do route add default gw "$r" dev "$interface"; break; done
    fi
    [ -n "$hostname" ] && hostname "$hostname"
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
up() { cut -d' ' -f1 /proc/uptime; }
mark() { echo "FZ-$* t=$(up)" > /dev/console; }
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

# Config drive: any CD-ROM or disk with an openstack/latest/meta_data.json.
for d in /dev/sr0 /dev/sr1 /dev/vd?; do
  [ -b "$d" ] || continue
  if mount -t iso9660 -o ro "$d" /mnt/cd 2>/dev/null; then
    if [ -f /mnt/cd/openstack/latest/meta_data.json ]; then
      mark CD-BEGIN "$d"
      cat /mnt/cd/openstack/latest/meta_data.json > /dev/console
      echo > /dev/console
      mark CD-END "$d"
      ud=/mnt/cd/openstack/latest/user_data
      if [ -f $ud ] && [ "$(head -c 2 $ud)" = "#!" ]; then sh $ud > /dev/console 2>&1; fi
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
    timeout 10 wget -q -O - http://169.254.169.254/openstack/latest/meta_data.json > /dev/console 2>&1
    echo > /dev/console
    mark MD-END
    timeout 10 wget -q -O /tmp/user_data http://169.254.169.254/openstack/latest/user_data 2>/dev/null
    if [ -s /tmp/user_data ] && [ "$(head -c 2 /tmp/user_data)" = "#!" ]; then sh /tmp/user_data > /dev/console 2>&1; fi
  else
    mark NO-LEASE
  fi
  mkdir -p /www && hostname > /www/index.html
  httpd -p 80 -h /www
  httpd -p 22 -h /www
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
echo "$KPKG" > "$OUT/kernel-package"
echo "$self_sum" > "$OUT/.stamp"
log "kernel:    $OUT/vmlinuz ($KPKG)"
log "initramfs: $OUT/initramfs.cpio.gz ($(du -h "$OUT/initramfs.cpio.gz" | cut -f1))"
echo "export NUBO_TEST_GUEST='$OUT'"
