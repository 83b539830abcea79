package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/nubo-cloud/nubo/internal/driver/configdrive"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// Files in an instance directory.
const (
	fileRoot   = "disk"
	fileRescue = "disk.rescue"
	fileEph    = "disk.eph0"
	fileSwap   = "disk.swap"
	fileConfig = "disk.config"
	fileRecord = "agent.json"
)

// minMemoryMB is the least memory a guest gets: the cloud kernel of the
// test guests does not boot with 64 MiB and needs ~96 MiB (see the package
// documentation).
const minMemoryMB = 128

func (a *Agent) path(id, file string) string { return filepath.Join(a.instanceDir(id), file) }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// rescueMode reports whether srv should boot its rescue image.
func rescueMode(srv *hostapi.Server) bool {
	return srv.TaskState == taskRescuing || srv.VMState == vmRescued && srv.TaskState != taskUnrescuing
}

// prepare makes the disks srv needs (image cache, root overlay, rescue
// disk, ephemeral and swap, config drive) when they are missing and
// returns the guest's definition. It keeps disks that exist.
func (a *Agent) prepare(ctx context.Context, v *view, srv *hostapi.Server) (hypervisor.Spec, error) {
	spec := hypervisor.Spec{
		ID: srv.ID, Name: srv.Name, VCPUs: max(srv.VCPUs, 1), MemoryMB: max(srv.MemoryMB, minMemoryMB),
		VNC:    hypervisor.VNC{Enabled: true},
		Kernel: a.cfg.Kernel, Initrd: a.cfg.Initrd, Cmdline: a.cfg.Cmdline,
	}
	if !hypervisor.ValidID(srv.ID) {
		return spec, fmt.Errorf("server ID %q is not usable on this host", srv.ID)
	}
	if err := os.MkdirAll(a.instanceDir(srv.ID), 0o700); err != nil {
		return spec, err
	}
	nics, err := a.nics(v, srv)
	if err != nil {
		return spec, err
	}
	spec.NICs = nics

	var boot *hostapi.Volume
	for i := range srv.Volumes {
		if srv.Volumes[i].Boot {
			boot = &srv.Volumes[i]
		}
	}
	var root hypervisor.Disk
	switch {
	case boot != nil && boot.Path == "":
		return spec, retryLater("boot volume %s has no connection yet", boot.VolumeID)
	case boot != nil:
		root = hypervisor.Disk{ID: boot.VolumeID, Path: boot.Path, Format: boot.Format, ReadOnly: boot.ReadOnly}
	case srv.ImageID != "":
		path := a.path(srv.ID, fileRoot)
		if !exists(path) {
			if err := a.overlay(ctx, srv.ImageID, path, int64(srv.RootGB)<<30); err != nil {
				return spec, err
			}
		}
		root = hypervisor.Disk{ID: "root", Path: path, Format: "qcow2"}
	default:
		return spec, errors.New("server has neither an image nor a boot volume")
	}
	spec.Root = root
	if rescueMode(srv) {
		img := srv.RescueImageID
		if img == "" {
			img = srv.ImageID
		}
		if img == "" {
			return spec, errors.New("no rescue image")
		}
		path := a.path(srv.ID, fileRescue)
		if !exists(path) {
			if err := a.overlay(ctx, img, path, 0); err != nil {
				return spec, err
			}
		}
		spec.Root = hypervisor.Disk{ID: "rescue", Path: path, Format: "qcow2"}
		spec.Disks = append(spec.Disks, root)
	}
	if srv.EphemeralGB > 0 {
		d, err := a.blank(ctx, srv.ID, fileEph, int64(srv.EphemeralGB)<<30)
		if err != nil {
			return spec, err
		}
		spec.Disks = append(spec.Disks, hypervisor.Disk{ID: "ephemeral0", Path: d, Format: "qcow2"})
	}
	if srv.SwapMB > 0 {
		d, err := a.blank(ctx, srv.ID, fileSwap, int64(srv.SwapMB)<<20)
		if err != nil {
			return spec, err
		}
		spec.Disks = append(spec.Disks, hypervisor.Disk{ID: "swap", Path: d, Format: "qcow2"})
	}
	for _, vol := range srv.Volumes {
		if vol.Boot || vol.Detaching || vol.Path == "" { // no connection yet: attached later
			continue
		}
		spec.Disks = append(spec.Disks, volumeDisk(vol))
	}
	if srv.ConfigDrive {
		path := a.path(srv.ID, fileConfig)
		if !exists(path) {
			if err := a.configDrive(ctx, srv, path); err != nil {
				return spec, err
			}
		}
		spec.ConfigDrive = path
	}
	return spec, nil
}

// volumeDisk is the disk of an attached volume; its ID (and so the serial
// the guest sees) is the volume ID.
func volumeDisk(vol hostapi.Volume) hypervisor.Disk {
	return hypervisor.Disk{ID: vol.VolumeID, Path: vol.Path, Format: vol.Format, ReadOnly: vol.ReadOnly}
}

// nics are srv's NICs in port order.
func (a *Agent) nics(v *view, srv *hostapi.Server) ([]hypervisor.NIC, error) {
	var out []hypervisor.NIC
	for _, id := range srv.Ports {
		p, ok := v.ports[id]
		if !ok {
			return nil, retryLater("port %s is not in the host's state yet", id)
		}
		out = append(out, hypervisor.NIC{ID: id, Tap: a.tapName(id), MAC: p.MAC})
	}
	return out, nil
}

// overlay creates a qcow2 overlay at path on the cached image, grown to
// size if that is larger than the image.
func (a *Agent) overlay(ctx context.Context, imageID, path string, size int64) error {
	base, err := a.image(ctx, imageID)
	if err != nil {
		return err
	}
	info, err := a.disks.Info(ctx, base, "qcow2", true)
	if err != nil {
		return err
	}
	if size <= info.VirtualSize {
		size = 0
	}
	tmp := path + ".part"
	os.Remove(tmp)
	if err := a.disks.CreateOverlay(ctx, base, "qcow2", tmp, size); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// blank creates an empty qcow2 disk in the instance directory if missing.
func (a *Agent) blank(ctx context.Context, id, file string, size int64) (string, error) {
	path := a.path(id, file)
	if exists(path) {
		return path, nil
	}
	tmp := path + ".part"
	os.Remove(tmp)
	if err := a.disks.Create(ctx, tmp, "qcow2", size); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// growRoot grows the root disk to the flavor's root_gb (never shrinks).
func (a *Agent) growRoot(ctx context.Context, srv *hostapi.Server) error {
	path := a.path(srv.ID, fileRoot)
	if !exists(path) || srv.RootGB <= 0 {
		return nil
	}
	info, err := a.disks.Info(ctx, path, "qcow2", false)
	if err != nil {
		return err
	}
	size := int64(srv.RootGB) << 30
	if size <= info.VirtualSize {
		return nil
	}
	return a.disks.Resize(ctx, path, "qcow2", size)
}

// removeDisks deletes the agent-made disks of a server (rebuild).
func (a *Agent) removeDisks(id string) error {
	for _, f := range []string{fileRoot, fileRescue, fileEph, fileSwap, fileConfig} {
		if err := os.Remove(a.path(id, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// configDrive writes srv's config drive from Control.Metadata.
func (a *Agent) configDrive(ctx context.Context, srv *hostapi.Server, path string) error {
	md, err := a.cfg.Control.Metadata(ctx, hostapi.MetadataQuery{ServerID: srv.ID})
	if err != nil {
		return fmt.Errorf("metadata for the config drive: %w", err)
	}
	c := configdrive.Content{UserData: md.UserData}
	if err := json.Unmarshal(md.MetaData, &c.MetaData); err != nil {
		return fmt.Errorf("meta_data: %w", err)
	}
	if c.MetaData.UUID == "" {
		c.MetaData.UUID = srv.ID
	}
	for _, x := range []struct {
		raw json.RawMessage
		dst *any
	}{{md.NetworkData, &c.NetworkData}, {md.VendorData, &c.VendorData}} {
		if len(x.raw) == 0 || string(x.raw) == "null" {
			continue
		}
		var v any
		if err := json.Unmarshal(x.raw, &v); err != nil {
			return fmt.Errorf("metadata document: %w", err)
		}
		*x.dst = v
	}
	return configdrive.WriteFile(path, c)
}

// snapshot fills srv.SnapshotImageID with a flattened qcow2 copy of the
// root disk.
func (a *Agent) snapshot(ctx context.Context, srv *hostapi.Server) error {
	if srv.SnapshotImageID == "" {
		return nil
	}
	if err := os.MkdirAll(a.instanceDir(srv.ID), 0o700); err != nil {
		return err
	}
	tmp := a.path(srv.ID, "snapshot.qcow2")
	defer os.Remove(tmp)
	st, err := a.status(ctx, srv.ID)
	if err != nil {
		return err
	}
	if sn, ok := a.hv.(hypervisor.Snapshotter); ok && st != nil {
		if err := sn.SnapshotDisk(ctx, srv.ID, "", tmp, "qcow2"); err != nil {
			return err
		}
	} else {
		src, format := a.path(srv.ID, fileRoot), "qcow2"
		for _, v := range srv.Volumes {
			if v.Boot {
				src, format = v.Path, v.Format
				if format == "" {
					format = "qcow2"
				}
			}
		}
		if !exists(src) {
			return fmt.Errorf("no root disk to snapshot")
		}
		if err := a.disks.Convert(ctx, src, format, tmp, "qcow2", false); err != nil {
			return err
		}
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := a.cfg.Control.UploadImage(ctx, srv.SnapshotImageID, f, fi.Size()); err != nil {
		return fmt.Errorf("upload snapshot %s: %w", srv.SnapshotImageID, err)
	}
	return nil
}

// record is agent.json: what the agent attached to a guest and reported.
type record struct {
	// NICs the guest has (defined or hot-plugged).
	NICs []hypervisor.NIC `json:"nics,omitempty"`
	// Volumes attached and reported attached: volume ID → size in GB.
	Volumes map[string]int `json:"volumes,omitempty"`
}

// record returns a copy of srv's record.
func (a *Agent) record(id string) record {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.loadRecordLocked(id)
	out := record{NICs: slices.Clone(r.NICs), Volumes: map[string]int{}}
	for k, v := range r.Volumes {
		out.Volumes[k] = v
	}
	return out
}

func (a *Agent) loadRecordLocked(id string) *record {
	if r, ok := a.records[id]; ok {
		return r
	}
	r := &record{}
	if b, err := os.ReadFile(a.path(id, fileRecord)); err == nil {
		json.Unmarshal(b, r)
	}
	a.records[id] = r
	return r
}

// updateRecord changes and saves srv's record.
func (a *Agent) updateRecord(id string, fn func(r *record)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.loadRecordLocked(id)
	fn(r)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.instanceDir(id), 0o700); err != nil {
		return err
	}
	path := a.path(id, fileRecord)
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}
