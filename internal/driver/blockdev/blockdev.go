package blockdev

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is returned when a volume or snapshot has no backing data.
var ErrNotFound = errors.New("blockdev: not found")

// GiB is the unit of Block Storage sizes.
const GiB = int64(1) << 30

// Info describes a volume's backing data.
type Info struct {
	// Format is "qcow2" or "raw".
	Format string
	// VirtualSize is the size the guest sees, in bytes.
	VirtualSize int64
	// ActualSize is what the data takes on the backend, in bytes.
	ActualSize int64
}

// Connection is how a host reaches a volume: what Cinder calls
// connection_info. The host agent hands Path and Format to the
// hypervisor's AttachDisk.
type Connection struct {
	// DriverVolumeType is Cinder's transport name ("file" here; "rbd" and
	// "iscsi" later).
	DriverVolumeType string
	Path             string
	Format           string
}

// Driver stores volumes. Every method is idempotent in the sense a
// reconciler needs: repeating a call after a crash converges (Create over
// a half-written volume starts again; Delete of a missing volume is nil).
// Sizes are bytes.
type Driver interface {
	// Name is the backend name shown in host strings (host@backend#pool).
	Name() string
	// Create makes a blank volume of size bytes in format ("" = the
	// driver's default), replacing any leftover data of the same id.
	Create(ctx context.Context, id string, size int64, format string) error
	// Delete removes a volume's data; nil if there is none.
	Delete(ctx context.Context, id string) error
	// Extend grows a volume that no guest has open; shrinking is an error.
	Extend(ctx context.Context, id string, size int64) error
	// Info reads a volume's format and sizes; ErrNotFound if absent.
	Info(ctx context.Context, id string) (Info, error)
	// Connect returns how a host opens the volume (no I/O).
	Connect(id string) (Connection, error)

	// Snapshot copies volume volID to snapshot snapID (point in time; the
	// volume may be open by a guest).
	Snapshot(ctx context.Context, volID, snapID string) error
	// DeleteSnapshot removes a snapshot; nil if absent.
	DeleteSnapshot(ctx context.Context, snapID string) error
	// CreateFromSnapshot makes volume id from snapshot snapID, grown to
	// size when larger.
	CreateFromSnapshot(ctx context.Context, snapID, id string, size int64, format string) error
	// Clone makes volume id as a copy of volume srcID, grown to size.
	Clone(ctx context.Context, srcID, id string, size int64, format string) error

	// CopyFromImage writes the disk image read from r (in srcFormat:
	// "qcow2" or "raw") into volume id, grown to size.
	CopyFromImage(ctx context.Context, id string, r io.Reader, srcFormat string, size int64, format string) error
	// CopyToImage writes volume id to w as a disk image in format.
	CopyToImage(ctx context.Context, id string, w io.Writer, format string) error
}
