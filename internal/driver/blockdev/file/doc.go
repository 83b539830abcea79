// Package file is the blockdev driver that keeps each volume as one file
// (qcow2 by default, raw on request) in a directory, and snapshots and
// clones as full copies made with qemu-img. It needs qemu-img (Debian:
// qemu-utils). Files are written under a temporary name and renamed into
// place, so a crash never leaves a half-written file under a volume's name.
package file
