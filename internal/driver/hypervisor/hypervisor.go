package hypervisor

import (
	"context"
	"errors"
	"time"
)

// Errors returned by drivers; wrap them, compare with errors.Is.
var (
	// ErrNotFound: no guest with that ID is defined on this host.
	ErrNotFound = errors.New("hypervisor: guest not found")
	// ErrNotRunning: the operation needs a running (or paused) guest process.
	ErrNotRunning = errors.New("hypervisor: guest not running")
	// ErrRunning: the operation needs the guest to be stopped.
	ErrRunning = errors.New("hypervisor: guest is running")
	// ErrInvalidSpec: the Spec failed validation.
	ErrInvalidSpec = errors.New("hypervisor: invalid spec")
	// ErrUnsupported: the driver or the host cannot do this.
	ErrUnsupported = errors.New("hypervisor: unsupported")
)

// Driver runs guests on one host. Guests are identified by Spec.ID (the
// server UUID). All methods are safe for concurrent use; operations on one
// guest are serialized.
//
// Lifecycle:
//
//	         Define                Start
//	(none) ─────────► shutdown ─────────────► running ◄──► paused/suspended
//	   ▲                 ▲ ▲                     │
//	   │ Delete          │ └── Stop, guest power-off, Reboot (stop+start)
//	   └─────────────────┘ crashed ◄── QEMU died without being asked
type Driver interface {
	// Capabilities reports what the host can do (KVM or TCG, QEMU version).
	// The first call may take a few seconds (it probes KVM); later calls
	// are cached.
	Capabilities(ctx context.Context) (Capabilities, error)
	// Define validates and stores spec for spec.ID, creating or replacing
	// the definition. It never starts anything. Redefining a running guest
	// is allowed; the new spec takes effect at the next Start.
	Define(ctx context.Context, spec Spec) error
	// Start launches the guest. It returns ErrNotFound for an undefined ID
	// and nil if the guest is already running (idempotent).
	Start(ctx context.Context, id string) error
	// Stop powers the guest off. With graceful > 0 and a running guest it
	// first presses the ACPI power button and waits up to graceful for the
	// guest to power off; then (or with graceful == 0, or when the guest is
	// paused and cannot see the button) it stops the process hard.
	// Stopping a stopped guest returns nil.
	Stop(ctx context.Context, id string, graceful time.Duration) error
	// Reboot restarts the guest with its current definition: a Stop with
	// graceful (0 = hard reboot) followed by a Start.
	Reboot(ctx context.Context, id string, graceful time.Duration) error
	// Delete stops the guest hard and removes everything the driver keeps
	// for it (state directory, sockets, logs). Disk images named in the
	// spec belong to the caller and are left alone. Deleting an unknown ID
	// returns nil.
	Delete(ctx context.Context, id string) error
	// Status reports the guest's current state, or ErrNotFound.
	Status(ctx context.Context, id string) (Status, error)
	// List reports every guest defined on this host. A new driver instance
	// re-adopts guests whose processes survived an agent restart during
	// List (or on first use of their ID), so List is the first call an
	// agent makes after starting.
	List(ctx context.Context) ([]Status, error)
}

// Pauser is implemented by drivers that can freeze guests in memory.
type Pauser interface {
	// Pause stops the guest's vCPUs (Nova "pause"). ErrNotRunning if stopped.
	Pause(ctx context.Context, id string) error
	// Unpause continues a paused or suspended guest.
	Unpause(ctx context.Context, id string) error
	// Suspend is Nova "suspend". Drivers document what it means; in the
	// qemu driver it is a pause recorded as suspended (the process and its
	// RAM stay resident), not a save of RAM to disk.
	Suspend(ctx context.Context, id string) error
	// Resume continues a suspended guest (Nova "resume").
	Resume(ctx context.Context, id string) error
}

// Consoler is implemented by drivers that expose the guest's consoles.
type Consoler interface {
	// ConsoleLog returns the last lines lines of the serial console log
	// (all of it if lines <= 0). It works while the guest is stopped.
	ConsoleLog(ctx context.Context, id string, lines int) (string, error)
	// VNCAddress returns where the guest's VNC server listens, for
	// net.Dial(network, address): "unix" and a socket path, or "tcp" and
	// host:port. ErrNotRunning if the guest is stopped, ErrUnsupported if
	// the spec has no VNC.
	VNCAddress(ctx context.Context, id string) (network, address string, err error)
}

// BlockAttacher is implemented by drivers that hot-plug disks.
type BlockAttacher interface {
	// AttachDisk plugs disk into the running guest and adds it to the
	// stored definition (so it survives Reboot). Attaching a disk ID that
	// is already attached returns nil.
	AttachDisk(ctx context.Context, id string, disk Disk) error
	// DetachDisk unplugs the disk and waits for the guest to release it
	// (the guest must cooperate: a paused guest never does). If ctx ends
	// first it returns ctx's error and the unplug stays pending; calling
	// DetachDisk again finishes it. Detaching an unknown disk returns nil.
	DetachDisk(ctx context.Context, id, diskID string) error
}

// NICAttacher is implemented by drivers that hot-plug network interfaces.
type NICAttacher interface {
	// AttachNIC plugs nic into the running guest and stores it in the
	// definition. The tap device must already exist.
	AttachNIC(ctx context.Context, id string, nic NIC) error
	// DetachNIC unplugs the NIC (same contract as DetachDisk).
	DetachNIC(ctx context.Context, id, nicID string) error
}

// Snapshotter is implemented by drivers that copy a guest's disk into a
// standalone image (Nova createImage).
type Snapshotter interface {
	// SnapshotDisk writes a flattened copy of disk diskID ("" = the root
	// disk) to dest in format ("qcow2" or "raw"). A running guest is paused
	// for the copy and continued afterwards.
	SnapshotDisk(ctx context.Context, id, diskID, dest, format string) error
}

// Resizer is implemented by drivers that grow a disk of a running guest
// (Cinder's live extend of an attached volume).
type Resizer interface {
	// BlockResize grows disk diskID of the running guest to size bytes
	// through the hypervisor, which resizes the image file and tells the
	// guest. Shrinking is refused; the same size is a no-op. ErrNotRunning
	// if the guest has no process (resize the file with qemu-img then),
	// ErrNotFound if it has no such disk.
	BlockResize(ctx context.Context, id, diskID string, size int64) error
}

// StrayReaper is implemented by drivers that can find hypervisor processes
// they started but no longer know about.
type StrayReaper interface {
	// KillStrays kills processes that belong to this driver's state root
	// but to no defined guest (or that duplicate a guest's process) and
	// returns their PIDs.
	KillStrays(ctx context.Context) ([]int, error)
}

// Capabilities describes the host's virtualization.
type Capabilities struct {
	// Accel is "kvm" or "tcg".
	Accel string `json:"accel"`
	// KVM is true when /dev/kvm exists and a probe guest ran under it.
	KVM bool `json:"kvm"`
	// KVMReason says why KVM is not used ("" when it is).
	KVMReason string `json:"kvm_reason,omitempty"`
	// Version is the hypervisor's version, e.g. "7.2.22".
	Version string `json:"version,omitempty"`
	// HotplugDisk and HotplugNIC report whether the optional attachers work.
	HotplugDisk bool `json:"hotplug_disk"`
	HotplugNIC  bool `json:"hotplug_nic"`
}
