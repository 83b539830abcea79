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
# Needs: apt-get (download only: the kernel and busybox packages are NOT installed),
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
#   FZ-READY                boot finished; with a NIC, the guest now serves HTTP on ports
#                           80 and 22 (busybox httpd: index.html = its hostname) and TCP echo
#                           on port 7 (busybox nc -ll -e cat)
#   FZ-BLK [ vda:serial … ] the virtio disks, printed at boot and whenever the set changes
#                           (partitions such as disk.img's vda1 are not listed)
#   FZ-NET [ eth0:mac … ]   the NICs, likewise (printed before DHCP starts)
#   FZ-POWEROFF             the ACPI power button was pressed; the guest powers off
# With root=/dev/X on the kernel command line it mounts X and switch_roots into it instead.
set -euo pipefail
exec </dev/null

OUT=${NUBO_TEST_GUEST:-/var/cache/nubo/test-guest}
KPKG=${NUBO_GUEST_KERNEL_PKG:-}   # e.g. linux-image-6.1.0-56-cloud-amd64; default: what linux-image-cloud-amd64 depends on
# The kernel command line of disk.img (syslinux.cfg); the tests pass the same to -append.
CMDLINE="console=ttyS0 quiet clocksource=hpet panic=-1"
MODULES="virtio_pci virtio_blk virtio_net button evdev ata_piix sr_mod isofs"

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
# userdata FILE SOURCE: print FILE base64-encoded between FZ-UD markers (so that
# its text cannot fake a marker), then run it when it is a script (#!).
userdata() {
  [ -s "$1" ] || return 0
  mark UD-BEGIN "$2"
  base64 "$1" > /dev/console
  mark UD-END "$2"
  if [ "$(head -c 2 "$1")" = "#!" ]; then sh "$1" > /dev/console 2>&1; fi
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
    timeout 10 wget -q -O - http://169.254.169.254/openstack/latest/meta_data.json > /dev/console 2>&1
    echo > /dev/console
    mark MD-END
    timeout 10 wget -q -O /tmp/user_data http://169.254.169.254/openstack/latest/user_data 2>/dev/null
    userdata /tmp/user_data metadata
  else
    mark NO-LEASE
  fi
  mkdir -p /www && hostname > /www/index.html
  httpd -p 80 -h /www
  httpd -p 22 -h /www
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
