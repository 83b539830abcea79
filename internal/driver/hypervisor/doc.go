// Package hypervisor defines what the host agent needs from a hypervisor:
// define, start, stop, reboot and delete guests, report their power state
// (mapped to Nova's power_state numbers) and re-adopt guests that survived an
// agent restart. Optional abilities (pause and suspend, console, disk and NIC
// hot-plug, disk snapshots, stray-process cleanup) are separate small
// interfaces that a driver may implement; callers type-assert for them.
//
// Implementations live in subpackages (qemu); the hand-written fake for tests
// is in hypervisortest.
//
// This package must not import any domain package (compute, network, volume,
// image, store, …): it speaks in paths, tap names and MAC addresses, never in
// servers, ports or volumes. test/arch enforces this.
package hypervisor
