package qemu

import (
	"context"
	"fmt"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
)

var _ hypervisor.Resizer = (*Driver)(nil)

// BlockResize implements hypervisor.Resizer with QMP block_resize on the
// disk's format node: QEMU grows the image file and the guest sees the new
// capacity (virtio-blk config change).
func (d *Driver) BlockResize(ctx context.Context, id, diskID string, size int64) error {
	g, unlock, err := d.guestOp(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	var disk *hypervisor.Disk
	if g.spec.Root.Path != "" && g.spec.Root.ID == diskID {
		disk = &g.spec.Root
	}
	for i := range g.spec.Disks {
		if g.spec.Disks[i].ID == diskID {
			disk = &g.spec.Disks[i]
		}
	}
	if disk == nil {
		return fmt.Errorf("%w: %s has no disk %q", hypervisor.ErrNotFound, id, diskID)
	}
	if disk.ReadOnly {
		return fmt.Errorf("%w: disk %s of %s is read-only", hypervisor.ErrInvalidSpec, diskID, id)
	}
	if g.running() == nil {
		return fmt.Errorf("%w: %s", hypervisor.ErrNotRunning, id)
	}
	format := disk.Format
	if format == "" {
		format = "qcow2"
	}
	info, err := d.img.Info(ctx, disk.Path, format, true)
	if err != nil {
		return err
	}
	if size < info.VirtualSize {
		return fmt.Errorf("qemu: refusing to shrink disk %s of %s from %d to %d bytes", diskID, id, info.VirtualSize, size)
	}
	if size == info.VirtualSize {
		return nil
	}
	if err := g.qmpDo(ctx, "block_resize", map[string]any{"node-name": NodeName(diskID), "size": size}, nil); err != nil {
		return fmt.Errorf("qemu: resize %s of %s: %w", diskID, id, err)
	}
	return nil
}
