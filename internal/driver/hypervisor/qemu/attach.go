package qemu

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu/qmp"
)

// AttachDisk implements hypervisor.BlockAttacher: blockdev-add, then
// device_add virtio-blk-pci (hot-pluggable on the pc machine without extra
// root ports), then the disk is added to spec.json.
func (d *Driver) AttachDisk(ctx context.Context, id string, disk hypervisor.Disk) error {
	if err := disk.Validate(); err != nil {
		return err
	}
	g, unlock, err := d.guestOp(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if disk.ID == g.spec.Root.ID && g.spec.Root.Path != "" ||
		slices.ContainsFunc(g.spec.Disks, func(x hypervisor.Disk) bool { return x.ID == disk.ID }) {
		return nil
	}
	if g.running() == nil {
		return fmt.Errorf("%w: %s (use Define to add a disk to a stopped guest)", hypervisor.ErrNotRunning, id)
	}
	node := NodeName(disk.ID)
	if err := g.qmpDo(ctx, "blockdev-add", BlockdevArgs(disk, node), nil); err != nil {
		return fmt.Errorf("qemu: attach %s to %s: %w", disk.ID, id, err)
	}
	if err := g.qmpDo(ctx, "device_add", DiskDeviceArgs(disk), nil); err != nil {
		g.qmpDo(context.WithoutCancel(ctx), "blockdev-del", map[string]string{"node-name": node}, nil)
		return fmt.Errorf("qemu: attach %s to %s: %w", disk.ID, id, err)
	}
	spec := g.spec
	spec.Disks = append(slices.Clone(spec.Disks), disk)
	return d.saveSpec(g, spec)
}

// DetachDisk implements hypervisor.BlockAttacher: device_del, wait for
// DEVICE_DELETED (or for the device to vanish), blockdev-del.
func (d *Driver) DetachDisk(ctx context.Context, id, diskID string) error {
	g, unlock, err := d.guestOp(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if diskID == g.spec.Root.ID && g.spec.Root.Path != "" {
		return fmt.Errorf("%w: %s is the root disk of %s", hypervisor.ErrInvalidSpec, diskID, id)
	}
	if g.running() != nil {
		if err := d.unplug(ctx, g, DiskDeviceID(diskID)); err != nil {
			return fmt.Errorf("qemu: detach %s from %s: %w", diskID, id, err)
		}
		err := g.qmpDo(ctx, "blockdev-del", map[string]string{"node-name": NodeName(diskID)}, nil)
		if err != nil && !qmp.IsClass(err, "GenericError") { // GenericError: "Failed to find node"
			return fmt.Errorf("qemu: detach %s from %s: %w", diskID, id, err)
		}
	}
	spec := g.spec
	spec.Disks = slices.DeleteFunc(slices.Clone(spec.Disks), func(x hypervisor.Disk) bool { return x.ID == diskID })
	return d.saveSpec(g, spec)
}

// AttachNIC implements hypervisor.NICAttacher: netdev_add tap + device_add
// virtio-net-pci.
func (d *Driver) AttachNIC(ctx context.Context, id string, nic hypervisor.NIC) error {
	if err := nic.Validate(); err != nil {
		return err
	}
	g, unlock, err := d.guestOp(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if slices.ContainsFunc(g.spec.NICs, func(x hypervisor.NIC) bool { return x.ID == nic.ID }) {
		return nil
	}
	if g.running() == nil {
		return fmt.Errorf("%w: %s (use Define to add a NIC to a stopped guest)", hypervisor.ErrNotRunning, id)
	}
	if err := g.qmpDo(ctx, "netdev_add", NetdevArgs(nic), nil); err != nil {
		return fmt.Errorf("qemu: attach nic %s to %s: %w", nic.ID, id, err)
	}
	if err := g.qmpDo(ctx, "device_add", NICDeviceArgs(nic), nil); err != nil {
		g.qmpDo(context.WithoutCancel(ctx), "netdev_del", map[string]string{"id": NetdevID(nic.ID)}, nil)
		return fmt.Errorf("qemu: attach nic %s to %s: %w", nic.ID, id, err)
	}
	spec := g.spec
	spec.NICs = append(slices.Clone(spec.NICs), nic)
	return d.saveSpec(g, spec)
}

// DetachNIC implements hypervisor.NICAttacher.
func (d *Driver) DetachNIC(ctx context.Context, id, nicID string) error {
	g, unlock, err := d.guestOp(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if g.running() != nil {
		if err := d.unplug(ctx, g, NICDeviceID(nicID)); err != nil {
			return fmt.Errorf("qemu: detach nic %s from %s: %w", nicID, id, err)
		}
		err := g.qmpDo(ctx, "netdev_del", map[string]string{"id": NetdevID(nicID)}, nil)
		if err != nil && !qmp.IsClass(err, "GenericError") && !qmp.IsClass(err, "DeviceNotFound") {
			return fmt.Errorf("qemu: detach nic %s from %s: %w", nicID, id, err)
		}
	}
	spec := g.spec
	spec.NICs = slices.DeleteFunc(slices.Clone(spec.NICs), func(x hypervisor.NIC) bool { return x.ID == nicID })
	return d.saveSpec(g, spec)
}

// unplug removes device dev and waits until it is gone. The guest must
// acknowledge the ACPI eject; DEVICE_DELETED goes to whichever QMP client
// is connected, so the wait also polls for the device's absence (a
// previous, timed-out unplug may have finished unseen).
func (d *Driver) unplug(ctx context.Context, g *guest, dev string) error {
	present, err := g.hasDevice(ctx, dev)
	if err != nil || !present {
		return err
	}
	p := g.running()
	c, err := p.conn(ctx)
	if err != nil {
		return err
	}
	sub := c.Subscribe(func(ev qmp.Event) bool {
		var data struct {
			Device string `json:"device"`
		}
		json.Unmarshal(ev.Data, &data)
		return data.Device == dev
	}, "DEVICE_DELETED")
	defer sub.Close()
	if err := c.Execute(ctx, "device_del", map[string]string{"id": dev}, nil); err != nil {
		// "already in the process of unplug" is fine: keep waiting.
		if qmp.IsClass(err, "DeviceNotFound") {
			return nil
		}
		if !qmp.IsClass(err, "GenericError") {
			return err
		}
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	events := sub.C()
	for {
		select {
		case _, ok := <-events:
			if ok {
				return nil
			}
			if p.exited() {
				return nil // the process is gone, and the device with it
			}
			events = nil // connection lost: rely on polling (qmpDo re-dials)
		case <-tick.C:
			if present, err := g.hasDevice(ctx, dev); err == nil && !present {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("device %s still present (guest did not release it; a paused guest never does): %w", dev, ctx.Err())
		}
	}
}

// hasDevice reports whether a device with user-given ID dev exists.
func (g *guest) hasDevice(ctx context.Context, dev string) (bool, error) {
	var props []struct {
		Name string `json:"name"`
	}
	if err := g.qmpDo(ctx, "qom-list", map[string]string{"path": "/machine/peripheral"}, &props); err != nil {
		return false, err
	}
	return slices.ContainsFunc(props, func(p struct {
		Name string `json:"name"`
	}) bool {
		return p.Name == dev
	}), nil
}

// saveSpec stores a changed definition; g.mu is held.
func (d *Driver) saveSpec(g *guest, spec hypervisor.Spec) error {
	if err := writeJSON(g.paths.Spec, spec); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	g.smu.Lock()
	g.spec = spec
	g.smu.Unlock()
	return nil
}
