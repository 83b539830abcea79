package compute

import (
	"context"
	"strings"
	"time"
)

// Diagnostics is what GET /servers/{id}/diagnostics reports (Nova's
// standard format of microversion 2.48). Nubo knows a server's shape from
// its record, not from the hypervisor's counters: values it does not
// measure (CPU time, memory used, NIC and disk counters) are nil, which
// Nova's format allows ("may be null if the driver cannot tell").
type Diagnostics struct {
	State        string
	Driver       string
	Hypervisor   string
	HypervisorOS string
	Uptime       *int64
	ConfigDrive  bool
	NumCPUs      int64
	MemoryMB     int64
	NICs         []string // MAC addresses, one per port
	NumDisks     int
}

// diagnosticsState maps a power state to the format's state.
func diagnosticsState(power int) string {
	switch power {
	case PowerRunning:
		return "running"
	case PowerPaused:
		return "paused"
	case PowerShutdown:
		return "shutdown"
	case PowerCrashed:
		return "crashed"
	case PowerSuspended:
		return "suspended"
	}
	return "pending"
}

// Diagnostics returns a server's diagnostics (admin only). A server that
// is on no host is 409, as Nova answers.
func (s *Service) Diagnostics(ctx context.Context, id string) (*Diagnostics, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	sv, err := s.GetServer(ctx, id)
	if err != nil {
		return nil, err
	}
	if sv.HostID == "" {
		return nil, conflict("Instance %s is not ready yet: it is on no host.", sv.ID)
	}
	h, err := s.GetHost(ctx, sv.HostID)
	if err != nil {
		return nil, err
	}
	d := &Diagnostics{
		State: diagnosticsState(sv.PowerState),
		// Nubo's driver plays the part of Nova's libvirt driver (QEMU/KVM
		// guests); the format only knows Nova's driver names.
		Driver:       "libvirt",
		Hypervisor:   strings.ToLower(h.HypervisorType),
		HypervisorOS: "linux",
		ConfigDrive:  sv.ConfigDrive,
		NumCPUs:      sv.Flavor.VCPUs,
		MemoryMB:     sv.Flavor.RAM,
	}
	if sv.PowerState == PowerRunning && sv.LaunchedAt != nil {
		up := int64(time.Since(*sv.LaunchedAt) / time.Second)
		d.Uptime = &up
	}
	for _, p := range sv.Ports {
		d.NICs = append(d.NICs, p.MAC)
	}
	if sv.ImageID != "" {
		d.NumDisks++ // the root disk
	}
	if sv.Flavor.Ephemeral > 0 {
		d.NumDisks++
	}
	if sv.Flavor.Swap > 0 {
		d.NumDisks++
	}
	if sv.ConfigDrive {
		d.NumDisks++
	}
	for _, va := range sv.VolumeAttachments {
		if va.State == VolumeAttached || va.State == VolumeDetaching {
			d.NumDisks++
		}
	}
	return d, nil
}
