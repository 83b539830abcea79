package hostctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/network"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Driver is the compute host driver of hosts registered by agents.
const Driver = "qemu"

// Allocation ratios and reservations of agent hosts (Nova's defaults:
// cpu_allocation_ratio 16.0, ram_allocation_ratio 1.5,
// disk_allocation_ratio 1.0, reserved_host_memory_mb 512).
const (
	CPUAllocationRatio  = 16.0
	RAMAllocationRatio  = 1.5
	DiskAllocationRatio = 1.0
	ReservedHostMemory  = 512
)

// Control implements hostapi.Control in process.
type Control struct {
	st     store.Store
	comp   *compute.Service
	net    *network.Service
	images compute.Images
	log    *slog.Logger

	tunMu   sync.Mutex
	tunnels map[string]*pendingTunnel // tunnel ID → the DialVNC waiting for it
}

var _ hostapi.Control = (*Control)(nil)

// New returns the control plane's side of host agents over the store the
// services share. images may be nil (Image and UploadImage then fail).
func New(st store.Store, comp *compute.Service, net *network.Service, images compute.Images, log *slog.Logger) *Control {
	return &Control{st: st, comp: comp, net: net, images: images, log: log.With(logkey.Component, "hostctl")}
}

// admin is a control-plane credential for calls into services that check
// policy (aggregates, images): the compute service's own, acting for
// project, or system-scoped when project is "".
func admin(ctx context.Context, project string) context.Context {
	if project != "" {
		return compute.ServiceContext(ctx, project)
	}
	return policy.NewContext(ctx, &policy.Credentials{UserID: "nubo-hostctl", UserName: "nubo-hostctl", System: true,
		Roles: []string{policy.RoleAdmin, policy.RoleMember, policy.RoleReader}})
}

// Register creates or updates the compute host h.Name with driver "qemu"
// and puts it in its availability zone, if it names one.
func (c *Control) Register(ctx context.Context, h hostapi.Host) (string, error) {
	if h.Name == "" {
		return "", fmt.Errorf("hostctl: register: a host needs a name")
	}
	if h.VCPUs <= 0 || h.MemoryMB <= 0 || h.DiskGB <= 0 {
		return "", fmt.Errorf("hostctl: register %s: vcpus, memory_mb and disk_gb must be positive", h.Name)
	}
	spec := compute.HostSpec{
		Name: h.Name, HypervisorHostname: h.HypervisorHostname, HypervisorType: h.HypervisorType, HypervisorVersion: h.HypervisorVersion,
		HostIP: h.HostIP, Driver: Driver, NetworkNode: h.NetworkNode, CPUInfo: h.CPUInfo,
		Inventory: map[string]scheduler.Inventory{
			scheduler.VCPU: {Total: int64(h.VCPUs), MinUnit: 1, MaxUnit: int64(h.VCPUs), StepSize: 1, AllocationRatio: CPUAllocationRatio},
			scheduler.MemoryMB: {Total: h.MemoryMB, Reserved: min(ReservedHostMemory, h.MemoryMB/2), MinUnit: 1, MaxUnit: h.MemoryMB, StepSize: 1,
				AllocationRatio: RAMAllocationRatio},
			scheduler.DiskGB: {Total: h.DiskGB, MinUnit: 1, MaxUnit: h.DiskGB, StepSize: 1, AllocationRatio: DiskAllocationRatio},
		},
	}
	if spec.HypervisorHostname == "" {
		spec.HypervisorHostname = h.Name
	}
	if spec.HypervisorType == "" {
		spec.HypervisorType = "QEMU"
	}
	host, err := c.comp.RegisterHost(ctx, spec)
	if err != nil {
		return "", err
	}
	if h.AvailabilityZone != "" && h.AvailabilityZone != compute.DefaultZone {
		if err := c.ensureZone(ctx, h.Name, h.AvailabilityZone); err != nil {
			// The host works in the default zone; an admin can fix the
			// aggregates (a host in another zone's aggregate, a name taken).
			c.log.WarnContext(ctx, "host not put in its availability zone", "host", h.Name, "zone", h.AvailabilityZone, logkey.Err, err)
		}
	}
	return host.ID, nil
}

// ensureZone puts host in an aggregate whose availability_zone is zone:
// one that already has it, the first such aggregate, or a new aggregate
// named after the zone.
func (c *Control) ensureZone(ctx context.Context, host, zone string) error {
	actx := admin(ctx, "")
	aggs, err := c.comp.ListAggregates(actx)
	if err != nil {
		return err
	}
	var target *compute.Aggregate
	for i := range aggs {
		a := &aggs[i]
		if z := a.AvailabilityZone(); z == nil || *z != zone {
			continue
		}
		if slices.Contains(a.Hosts, host) {
			return nil
		}
		if target == nil {
			target = a
		}
	}
	if target == nil {
		if target, err = c.comp.CreateAggregate(actx, zone, &zone); err != nil {
			return err
		}
	}
	_, err = c.comp.AddAggregateHost(actx, target.UUID, host)
	return err
}

// Wait blocks until the store's revision is above after (or ctx ends).
func (c *Control) Wait(ctx context.Context, after int64) (int64, error) {
	return c.st.Wait(ctx, after)
}

// hostOf reads a host, or ErrNotFound.
func (c *Control) hostOf(ctx context.Context, hostID string) (*compute.Host, error) {
	var h *compute.Host
	err := c.st.Read(ctx, func(tx store.ReadTx) (err error) {
		h, err = store.Get[compute.Host](tx, compute.KindHost, hostID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, hostapi.ErrNotFound
	}
	return h, err
}

// ReportServer records a host's outcome of a server's task. The server
// must be (or, during a move, have been) on the host; a report from any
// other host, or for a task the server is no longer in, is ignored.
func (c *Control) ReportServer(ctx context.Context, hostID string, r hostapi.ServerReport) error {
	if _, err := c.hostOf(ctx, hostID); err != nil {
		return err
	}
	hs, err := c.comp.ServerOnHost(ctx, r.ServerID)
	if err != nil {
		return err
	}
	if hs == nil {
		return hostapi.ErrNotFound
	}
	if !onHost(&hs.Server, hostID) {
		c.log.InfoContext(ctx, "report for a server not on the host ignored", "host_id", hostID, "server_id", r.ServerID, "task", r.Task)
		return nil
	}
	var failure error
	if r.Error != "" {
		failure = errors.New(r.Error)
	}
	return c.comp.ReportServer(ctx, r.ServerID, r.Task, compute.Observed{VMState: r.VMState, PowerState: r.PowerState, Gone: r.Gone}, failure)
}

// ReportPorts records the data-plane status of ports in the host's state;
// reports about other ports (deleted meanwhile, moved) are ignored.
func (c *Control) ReportPorts(ctx context.Context, hostID string, ports []hostapi.PortReport) error {
	if len(ports) == 0 {
		_, err := c.hostOf(ctx, hostID)
		return err
	}
	v, err := readView(ctx, c.st)
	if err != nil {
		return err
	}
	st, err := v.state(hostID)
	if err != nil {
		return err
	}
	mine := map[string]bool{}
	for _, p := range st.Ports {
		mine[p.ID] = true
	}
	for _, r := range ports {
		switch r.Status {
		case network.StatusActive, network.StatusDown, "ERROR":
		default:
			return fmt.Errorf("hostctl: port %s: unknown status %q", r.PortID, r.Status)
		}
		if !mine[r.PortID] {
			continue
		}
		if _, err := c.net.SetPortStatus(ctx, r.PortID, r.Status); err != nil && !fault.Is(err, fault.NotFound) {
			return err
		}
	}
	return nil
}

// ReportVolume records the outcome of a volume attach or detach on a
// server of the host.
func (c *Control) ReportVolume(ctx context.Context, hostID string, r hostapi.VolumeReport) error {
	if _, err := c.hostOf(ctx, hostID); err != nil {
		return err
	}
	hs, err := c.comp.ServerOnHost(ctx, r.ServerID)
	if err != nil {
		return err
	}
	if hs == nil {
		return hostapi.ErrNotFound
	}
	if !onHost(&hs.Server, hostID) {
		c.log.InfoContext(ctx, "volume report for a server not on the host ignored", "host_id", hostID, "server_id", r.ServerID, "volume_id", r.VolumeID)
		return nil
	}
	var failure error
	if r.Error != "" {
		failure = errors.New(r.Error)
	}
	return c.comp.ReportVolume(ctx, r.ServerID, r.VolumeID, r.Attached, failure)
}

// Image streams an image's bytes (read as the control plane: any image).
func (c *Control) Image(ctx context.Context, imageID string) (io.ReadCloser, *hostapi.ImageInfo, error) {
	if c.images == nil {
		return nil, nil, errors.New("hostctl: no image service")
	}
	rc, n, im, err := c.images.Download(admin(ctx, ""), imageID)
	if fault.Is(err, fault.NotFound) {
		return nil, nil, hostapi.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	if rc == nil {
		return nil, nil, fmt.Errorf("hostctl: image %s has no data (status %s)", imageID, im.Status)
	}
	return rc, &hostapi.ImageInfo{ID: im.ID, Size: n, DiskFormat: im.DiskFormat, Checksum: im.Checksum}, nil
}

// UploadImage fills a queued image, acting for the image's owner.
func (c *Control) UploadImage(ctx context.Context, imageID string, r io.Reader, size int64) error {
	if c.images == nil {
		return errors.New("hostctl: no image service")
	}
	im, err := c.images.Get(admin(ctx, ""), imageID)
	if fault.Is(err, fault.NotFound) {
		return hostapi.ErrNotFound
	}
	if err != nil {
		return err
	}
	_, err = c.images.Upload(admin(ctx, im.Owner), imageID, r, size)
	if fault.Is(err, fault.NotFound) {
		return hostapi.ErrNotFound
	}
	return err
}
