// Package qemu is the hypervisor.Driver that runs each guest as a plain
// qemu-system-x86_64 child process, without libvirt (docs/adr/0003).
//
// Per guest it keeps a state directory <Root>/<id>/ holding spec.json (the
// definition), state.json (suspended flag, last exit), qemu.pid (written by
// QEMU), qemu.log (QEMU's stderr), console.log (the serial console, kept
// across restarts), and the qmp.sock, console.sock and vnc.sock unix
// sockets. QEMU runs in the foreground in its own process group, so it
// survives an agent restart; a new Driver on the same Root re-adopts running
// guests through their pidfile and QMP socket (List, or first use of an ID)
// and KillStrays removes QEMU processes under Root that no definition owns.
//
// Acceleration: KVM is used only when /dev/kvm opens and a 512-byte probe
// guest (a boot sector that writes "K" to the serial port) prints under
// -accel kvm -cpu host within a few seconds; otherwise TCG with a 32 MiB
// translation cache. /dev/kvm existing is not enough: on nested or PVM hosts
// it can exist and still abort or hang (docs: research/dataplane.md §0).
//
// Suspend is honest about TCG and the absence of libvirt's managed save: it
// pauses the vCPUs and records the guest as suspended; the QEMU process and
// its RAM stay resident, and a host reboot loses the guest's memory state.
//
// The package imports no domain package; it speaks in paths, tap names and
// MAC addresses.
package qemu
