package hypervisor

import (
	"fmt"
	"net"
	"regexp"
	"strings"
)

// Spec is everything a driver needs to run one guest. Paths are absolute
// host paths owned by the caller; empty optional fields get the driver's
// defaults (documented per driver).
type Spec struct {
	// ID is the server UUID; it names the guest's state directory and is
	// also given to the guest as its SMBIOS system UUID/serial.
	ID string `json:"id"`
	// Name is the display name (informational only).
	Name     string `json:"name,omitempty"`
	VCPUs    int    `json:"vcpus"`
	MemoryMB int    `json:"memory_mb"`

	// Machine is the QEMU machine type; "" means "pc", where PCI hot-plug
	// works without extra root ports.
	Machine string `json:"machine,omitempty"`
	// CPUModel overrides the CPU model ("" = "host" under KVM, "max" under TCG).
	CPUModel string `json:"cpu_model,omitempty"`

	// Root is the boot disk (normally a qcow2 overlay on a cached base
	// image); Root.Path == "" means no root disk (kernel + initrd only).
	Root Disk `json:"root"`
	// Disks are extra disks present at boot, in order (vdb, vdc, …).
	Disks []Disk `json:"disks,omitempty"`
	// NICs are the network interfaces; each tap must exist before Start.
	NICs []NIC `json:"nics,omitempty"`
	// ConfigDrive is the path of a config-2 ISO, attached as a CD-ROM.
	ConfigDrive string `json:"config_drive,omitempty"`

	// Kernel, Initrd and Cmdline boot a kernel directly (test guests).
	Kernel  string `json:"kernel,omitempty"`
	Initrd  string `json:"initrd,omitempty"`
	Cmdline string `json:"cmdline,omitempty"`

	// VNC configures the graphical console; the zero value means none.
	VNC VNC `json:"vnc"`
}

// Disk is a block device backed by an image file.
type Disk struct {
	// ID identifies the disk for detach (the volume ID; "root" for Root).
	// It is also the serial the guest sees (truncated to 20 bytes by
	// virtio-blk), so the guest can map /dev/vdX to a volume.
	ID string `json:"id"`
	// Path of the image file.
	Path string `json:"path"`
	// Format is "qcow2" (default) or "raw".
	Format   string `json:"format,omitempty"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// NIC is a virtio network interface on an existing tap device.
type NIC struct {
	// ID identifies the NIC for detach (the port ID).
	ID  string `json:"id"`
	Tap string `json:"tap"`
	MAC string `json:"mac"`
}

// VNC configures the guest's VNC server (which always listens locally).
type VNC struct {
	// Enabled adds a VGA device and a VNC server on a unix socket in the
	// guest's state directory (no port to allocate).
	Enabled bool `json:"enabled,omitempty"`
	// Display, if > 0, listens on TCP 127.0.0.1:5900+Display instead.
	Display int `json:"display,omitempty"`
	// Websocket, if > 0, also serves the RFB-over-websocket protocol on
	// 127.0.0.1:Websocket (noVNC can connect directly). Needs Display > 0.
	Websocket int `json:"websocket,omitempty"`
}

// idRE is what a guest, disk or NIC ID may contain: it ends up in paths,
// QEMU option values and QMP identifiers.
var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidID reports whether id is usable as a guest, disk or NIC ID.
func ValidID(id string) bool { return idRE.MatchString(id) && !strings.Contains(id, "..") }

// Validate checks the spec's own consistency (not that files exist).
func (s *Spec) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidSpec, fmt.Sprintf(format, a...))
	}
	if !ValidID(s.ID) {
		return bad("id %q", s.ID)
	}
	if s.VCPUs < 1 || s.VCPUs > 255 {
		return bad("vcpus %d", s.VCPUs)
	}
	if s.MemoryMB < 72 {
		return bad("memory_mb %d (at least 72)", s.MemoryMB)
	}
	if s.Root.Path == "" && s.Kernel == "" {
		return bad("neither a root disk nor a kernel")
	}
	if s.Initrd != "" && s.Kernel == "" {
		return bad("initrd without kernel")
	}
	ids := map[string]bool{}
	disks := s.Disks
	if s.Root.Path != "" {
		disks = append([]Disk{s.Root}, disks...)
	}
	for _, d := range disks {
		if err := d.Validate(); err != nil {
			return err
		}
		if ids[d.ID] {
			return bad("duplicate disk id %q", d.ID)
		}
		ids[d.ID] = true
	}
	ids = map[string]bool{}
	for _, n := range s.NICs {
		if err := n.Validate(); err != nil {
			return err
		}
		if ids[n.ID] {
			return bad("duplicate nic id %q", n.ID)
		}
		ids[n.ID] = true
	}
	for _, p := range []string{s.ConfigDrive, s.Kernel, s.Initrd} {
		if p != "" && !strings.HasPrefix(p, "/") {
			return bad("path %q is not absolute", p)
		}
	}
	if s.VNC.Display < 0 || s.VNC.Display > 60000 || s.VNC.Websocket < 0 || s.VNC.Websocket > 65535 {
		return bad("vnc display %d websocket %d", s.VNC.Display, s.VNC.Websocket)
	}
	if s.VNC.Websocket > 0 && s.VNC.Display == 0 {
		return bad("vnc websocket needs a TCP display")
	}
	return nil
}

// Validate checks one disk.
func (d *Disk) Validate() error {
	if !ValidID(d.ID) {
		return fmt.Errorf("%w: disk id %q", ErrInvalidSpec, d.ID)
	}
	if !strings.HasPrefix(d.Path, "/") {
		return fmt.Errorf("%w: disk %s path %q is not absolute", ErrInvalidSpec, d.ID, d.Path)
	}
	switch d.Format {
	case "", "qcow2", "raw":
	default:
		return fmt.Errorf("%w: disk %s format %q", ErrInvalidSpec, d.ID, d.Format)
	}
	return nil
}

// Validate checks one NIC.
func (n *NIC) Validate() error {
	if !ValidID(n.ID) {
		return fmt.Errorf("%w: nic id %q", ErrInvalidSpec, n.ID)
	}
	if n.Tap == "" || len(n.Tap) > 15 || strings.ContainsAny(n.Tap, ",/ ") {
		return fmt.Errorf("%w: nic %s tap %q", ErrInvalidSpec, n.ID, n.Tap)
	}
	if hw, err := net.ParseMAC(n.MAC); err != nil || len(hw) != 6 || hw[0]&1 == 1 {
		return fmt.Errorf("%w: nic %s mac %q", ErrInvalidSpec, n.ID, n.MAC)
	}
	return nil
}
