// Package hypervisortest provides Fake, an in-memory hypervisor.Driver (with
// Pauser, Consoler, BlockAttacher, NICAttacher and Snapshotter) for API,
// reconciler and scale tests. Every method can be overridden through a
// function field; by default it runs a small state machine that follows the
// same rules as the qemu driver (ErrNotFound, ErrNotRunning, idempotent
// Start/Stop/Delete, attach recorded in the definition).
//
// What it does not model: boot time (Start is instantaneous and the guest
// is "running" at once), guests that ignore the power button (graceful Stop
// always succeeds at once), a guest that never releases a detached disk,
// crashes (use SetState), resource limits, disk contents (SnapshotDisk only
// records the call; ConsoleLog returns what AppendConsole wrote) and
// re-adoption (a Fake has no process to survive it; share one Fake between
// "agent restarts" instead).
//
// It imports only the hypervisor package.
package hypervisortest
