package blockdevtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/nubo-cloud/nubo/internal/driver/blockdev"
)

type vol struct {
	format string
	size   int64
	data   []byte
}

// Fake is an in-memory blockdev.Driver.
type Fake struct {
	// Hook, when set, runs first in every method with the operation name
	// ("create", "delete", "extend", "snapshot", …) and the ID acted on; a
	// non-nil error is returned as the method's.
	Hook func(ctx context.Context, op, id string) error

	mu    sync.Mutex
	vols  map[string]*vol
	snaps map[string]*vol
}

var _ blockdev.Driver = (*Fake)(nil)

// New returns an empty fake.
func New() *Fake { return &Fake{vols: map[string]*vol{}, snaps: map[string]*vol{}} }

func (f *Fake) hook(ctx context.Context, op, id string) error {
	if f.Hook != nil {
		return f.Hook(ctx, op, id)
	}
	return ctx.Err()
}

func def(format string) string {
	if format == "" {
		return "qcow2"
	}
	return format
}

// Volumes returns the IDs of the volumes held.
func (f *Fake) Volumes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.vols {
		out = append(out, id)
	}
	return out
}

// Snapshots returns the IDs of the snapshots held.
func (f *Fake) Snapshots() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.snaps {
		out = append(out, id)
	}
	return out
}

// Data returns a copy of a volume's bytes (nil if absent).
func (f *Fake) Data(id string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v := f.vols[id]; v != nil {
		return bytes.Clone(v.data)
	}
	return nil
}

// Name implements blockdev.Driver.
func (f *Fake) Name() string { return "fake" }

// Create implements blockdev.Driver.
func (f *Fake) Create(ctx context.Context, id string, size int64, format string) error {
	if err := f.hook(ctx, "create", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vols[id] = &vol{format: def(format), size: size}
	return nil
}

// Delete implements blockdev.Driver.
func (f *Fake) Delete(ctx context.Context, id string) error {
	if err := f.hook(ctx, "delete", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.vols, id)
	return nil
}

func (f *Fake) get(id string) (*vol, error) {
	v := f.vols[id]
	if v == nil {
		return nil, fmt.Errorf("volume %s: %w", id, blockdev.ErrNotFound)
	}
	return v, nil
}

// Extend implements blockdev.Driver.
func (f *Fake) Extend(ctx context.Context, id string, size int64) error {
	if err := f.hook(ctx, "extend", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.get(id)
	if err != nil {
		return err
	}
	if size < v.size {
		return fmt.Errorf("blockdevtest: refusing to shrink %s", id)
	}
	v.size = size
	return nil
}

// Info implements blockdev.Driver.
func (f *Fake) Info(ctx context.Context, id string) (blockdev.Info, error) {
	if err := f.hook(ctx, "info", id); err != nil {
		return blockdev.Info{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.get(id)
	if err != nil {
		return blockdev.Info{}, err
	}
	return blockdev.Info{Format: v.format, VirtualSize: v.size, ActualSize: int64(len(v.data))}, nil
}

// Connect implements blockdev.Driver.
func (f *Fake) Connect(id string) (blockdev.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.get(id)
	if err != nil {
		return blockdev.Connection{}, err
	}
	return blockdev.Connection{DriverVolumeType: "file", Path: "/fake/volume-" + id + "." + v.format, Format: v.format}, nil
}

// Snapshot implements blockdev.Driver.
func (f *Fake) Snapshot(ctx context.Context, volID, snapID string) error {
	if err := f.hook(ctx, "snapshot", snapID); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.get(volID)
	if err != nil {
		return err
	}
	f.snaps[snapID] = &vol{format: "qcow2", size: v.size, data: bytes.Clone(v.data)}
	return nil
}

// DeleteSnapshot implements blockdev.Driver.
func (f *Fake) DeleteSnapshot(ctx context.Context, snapID string) error {
	if err := f.hook(ctx, "delete_snapshot", snapID); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.snaps, snapID)
	return nil
}

func (f *Fake) copyFrom(src *vol, id string, size int64, format string) {
	f.vols[id] = &vol{format: def(format), size: max(size, src.size), data: bytes.Clone(src.data)}
}

// CreateFromSnapshot implements blockdev.Driver.
func (f *Fake) CreateFromSnapshot(ctx context.Context, snapID, id string, size int64, format string) error {
	if err := f.hook(ctx, "create_from_snapshot", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.snaps[snapID]
	if s == nil {
		return fmt.Errorf("snapshot %s: %w", snapID, blockdev.ErrNotFound)
	}
	f.copyFrom(s, id, size, format)
	return nil
}

// Clone implements blockdev.Driver.
func (f *Fake) Clone(ctx context.Context, srcID, id string, size int64, format string) error {
	if err := f.hook(ctx, "clone", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.get(srcID)
	if err != nil {
		return err
	}
	f.copyFrom(s, id, size, format)
	return nil
}

// CopyFromImage implements blockdev.Driver; the bytes are kept as read.
func (f *Fake) CopyFromImage(ctx context.Context, id string, r io.Reader, srcFormat string, size int64, format string) error {
	if err := f.hook(ctx, "copy_from_image", id); err != nil {
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vols[id] = &vol{format: def(format), size: max(size, int64(len(b))), data: b}
	return nil
}

// CopyToImage implements blockdev.Driver; it writes the bytes as kept.
func (f *Fake) CopyToImage(ctx context.Context, id string, w io.Writer, format string) error {
	if err := f.hook(ctx, "copy_to_image", id); err != nil {
		return err
	}
	f.mu.Lock()
	v, err := f.get(id)
	var b []byte
	if err == nil {
		b = bytes.Clone(v.data)
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
