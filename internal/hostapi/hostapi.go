package hostapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
)

// ErrNotFound is returned when the host, server or image asked about does
// not exist (any more).
var ErrNotFound = errors.New("hostapi: not found")

// Control is what a host agent needs from the control plane.
type Control interface {
	// Register creates or updates the host named h.Name (capacity,
	// hypervisor, underlay address) and returns its ID. Idempotent.
	Register(ctx context.Context, h Host) (hostID string, err error)
	// State returns the desired state of one host at the current revision.
	State(ctx context.Context, hostID string) (*State, error)
	// Wait blocks until the store's revision is above after, or ctx ends
	// (the HTTP client bounds each poll), and returns the revision it saw.
	Wait(ctx context.Context, after int64) (int64, error)
	// ReportServer records the outcome of the host-side task r.Task on a
	// server. A report for a task the server is no longer in is ignored.
	ReportServer(ctx context.Context, hostID string, r ServerReport) error
	// ReportPorts records the data-plane status of ports bound to the host.
	ReportPorts(ctx context.Context, hostID string, ports []PortReport) error
	// ReportVolume records that a volume was attached to (or detached
	// from) a running server, or that doing so failed.
	ReportVolume(ctx context.Context, hostID string, r VolumeReport) error
	// Metadata returns what a guest may read about itself: by server ID
	// (config drive), or by the network and fixed IP a metadata request
	// came from (the metadata service). ErrNotFound if none matches.
	Metadata(ctx context.Context, q MetadataQuery) (*Metadata, error)
	// Image streams an image's bytes (for the host's image cache).
	Image(ctx context.Context, imageID string) (io.ReadCloser, *ImageInfo, error)
	// UploadImage fills a queued image (snapshot, shelve) with bytes.
	UploadImage(ctx context.Context, imageID string, r io.Reader, size int64) error
	// ReportConsole answers one of State.Consoles (a console request the
	// control plane could not serve itself). An answer to a request that
	// is gone is ignored.
	ReportConsole(ctx context.Context, hostID string, r ConsoleReport) error
	// Tunnel returns the control plane's end of one of State.Tunnels: what
	// the agent writes to it reaches the guest's console reader and the
	// other way round, until either side closes. ErrNotFound if the
	// request is gone (its reader gave up).
	Tunnel(ctx context.Context, hostID, tunnelID string) (io.ReadWriteCloser, error)
}

// Host is what an agent registers about its machine.
type Host struct {
	Name               string `json:"name"`
	HypervisorHostname string `json:"hypervisor_hostname,omitempty"` // default Name
	HypervisorType     string `json:"hypervisor_type"`               // "QEMU"
	HypervisorVersion  int64  `json:"hypervisor_version,omitempty"`  // e.g. 7002022 for 7.2.22
	// HostIP is the underlay address other hosts reach this one on (VXLAN).
	HostIP           string         `json:"host_ip"`
	AvailabilityZone string         `json:"availability_zone,omitempty"`
	VCPUs            int            `json:"vcpus"`
	MemoryMB         int64          `json:"memory_mb"`
	DiskGB           int64          `json:"disk_gb"`
	CPUInfo          map[string]any `json:"cpu_info,omitempty"`
	// NetworkNode hosts routers, DHCP and the metadata service.
	NetworkNode bool `json:"network_node,omitempty"`
}

// State is the desired state of one host at a store revision.
type State struct {
	Revision int64    `json:"revision"`
	HostID   string   `json:"host_id"`
	Servers  []Server `json:"servers"`
	// Networks are those this host needs a bridge for: networks of its
	// servers' ports and, on a network node, of the routers and DHCP it
	// serves.
	Networks []Network `json:"networks"`
	// Ports are the ports this host wires: its servers' ports and, on a
	// network node, router legs and the DHCP ports of its networks.
	Ports          []Port          `json:"ports"`
	SecurityGroups []SecurityGroup `json:"security_groups"`
	// Routers and DHCP are set on network nodes only.
	Routers []Router `json:"routers,omitempty"`
	DHCP    []DHCP   `json:"dhcp,omitempty"`
	// Consoles are pending requests for the serial console output of this
	// host's servers (os-getConsoleOutput when the control plane cannot
	// read the host's files itself: agents on other machines). The agent
	// answers each with ReportConsole; they are not part of what it
	// converges.
	Consoles []ConsoleRequest `json:"consoles,omitempty"`
	// Tunnels are pending requests for a byte stream to a server's VNC
	// server (the console proxy, for guests the control plane cannot
	// dial itself). The agent dials the guest's VNC server and joins it to
	// Control.Tunnel; like Consoles, they are not converged.
	Tunnels []TunnelRequest `json:"tunnels,omitempty"`
}

// TunnelRequest asks for a stream to the VNC server of ServerID.
type TunnelRequest struct {
	ID       string `json:"id"`
	ServerID string `json:"server_id"`
}

// ConsoleRequest asks for the last Lines lines (0: all) of a server's
// serial console.
type ConsoleRequest struct {
	ID       string `json:"id"`
	ServerID string `json:"server_id"`
	Lines    int    `json:"lines,omitempty"`
}

// MaxConsoleOutput bounds the console output one report carries (its
// tail is kept).
const MaxConsoleOutput = 512 << 10

// ConsoleReport answers a ConsoleRequest: the output, or why there is
// none (NotFound: the host has no such guest).
type ConsoleReport struct {
	ID       string `json:"id"`
	Output   string `json:"output"`
	NotFound bool   `json:"not_found,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Server is one server assigned to the host, with the task the control
// plane asks for (Nova's task_state; "" when none is pending).
type Server struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ProjectID   string `json:"project_id"`
	TaskState   string `json:"task_state,omitempty"`
	VMState     string `json:"vm_state"`
	PrevVMState string `json:"prev_vm_state,omitempty"`
	PowerState  int    `json:"power_state"`
	// Deleted servers are listed until the host reported them gone.
	Deleted bool `json:"deleted,omitempty"`

	VCPUs       int `json:"vcpus"`
	MemoryMB    int `json:"memory_mb"`
	RootGB      int `json:"root_gb"`
	EphemeralGB int `json:"ephemeral_gb,omitempty"`
	SwapMB      int `json:"swap_mb,omitempty"`
	// OldHostID is the source host while a resize or migration is pending.
	OldHostID string `json:"old_host_id,omitempty"`
	// HostID is the host the server is placed on. During a move the server
	// is listed on its source host too (HostID ≠ State.HostID there): the
	// source stops the guest and keeps its disk (for a revert) and leaves
	// the task to the destination.
	HostID string `json:"host_id,omitempty"`

	// ImageID is the root disk's base image ("" when booting from volume).
	ImageID string `json:"image_id,omitempty"`
	// RescueImageID is booted instead while rescuing.
	RescueImageID string `json:"rescue_image_id,omitempty"`
	// SnapshotImageID is the queued image createImage/shelve fills.
	SnapshotImageID string `json:"snapshot_image_id,omitempty"`
	ConfigDrive     bool   `json:"config_drive,omitempty"`
	// Ports in NIC order.
	Ports []string `json:"ports"`
	// Volumes attached (or being attached) to the server; the root volume
	// of a server booted from volume has Boot set.
	Volumes []Volume `json:"volumes,omitempty"`
}

// Volume is a block device the host attaches to a server.
type Volume struct {
	VolumeID     string `json:"volume_id"`
	AttachmentID string `json:"attachment_id,omitempty"`
	// Path and Format locate the disk file (file backend's connection_info).
	Path     string `json:"path"`
	Format   string `json:"format,omitempty"`
	ReadOnly bool   `json:"read_only,omitempty"`
	Boot     bool   `json:"boot,omitempty"`
	// Device is the name the API reported (/dev/vdb); informative.
	Device string `json:"device,omitempty"`
	// SizeGB is the size the volume should have (live extend).
	SizeGB int `json:"size_gb,omitempty"`
	// Detaching is set while the control plane waits for a detach.
	Detaching bool `json:"detaching,omitempty"`
}

// Network is a network with something on this host.
type Network struct {
	ID string `json:"id"`
	// Type is "vxlan", "flat", "vlan" or "local".
	Type           string `json:"type"`
	SegmentationID uint32 `json:"segmentation_id,omitempty"`
	// PhysicalNetwork names the provider network of a flat or VLAN
	// network (the agent maps it to an interface).
	PhysicalNetwork string   `json:"physical_network,omitempty"`
	MTU             int      `json:"mtu"`
	External        bool     `json:"external,omitempty"`
	Subnets         []Subnet `json:"subnets"`
	// Remotes are the underlay addresses of the other hosts with this
	// network (VXLAN flood/FDB entries).
	Remotes []string `json:"remotes,omitempty"`
}

// Subnet is an IP subnet of a network.
type Subnet struct {
	ID         string   `json:"id"`
	IPVersion  int      `json:"ip_version"`
	CIDR       string   `json:"cidr"`
	GatewayIP  string   `json:"gateway_ip,omitempty"`
	EnableDHCP bool     `json:"enable_dhcp"`
	DNS        []string `json:"dns_nameservers,omitempty"`
	HostRoutes []Route  `json:"host_routes,omitempty"`
}

// Route is a destination CIDR through a next hop.
type Route struct {
	Destination string `json:"destination"`
	NextHop     string `json:"nexthop"`
}

// Port is a port this host wires (a tap for a server's NIC, a router or
// DHCP leg otherwise).
type Port struct {
	ID           string    `json:"id"`
	NetworkID    string    `json:"network_id"`
	MAC          string    `json:"mac_address"`
	DeviceID     string    `json:"device_id,omitempty"`
	DeviceOwner  string    `json:"device_owner,omitempty"`
	AdminStateUp bool      `json:"admin_state_up"`
	Status       string    `json:"status"`
	FixedIPs     []FixedIP `json:"fixed_ips"`
	// AllowedAddressPairs: IP is an address or CIDR; MAC "" means the
	// port's own.
	AllowedAddressPairs []AddressPair `json:"allowed_address_pairs,omitempty"`
	PortSecurity        bool          `json:"port_security_enabled"`
	SecurityGroups      []string      `json:"security_groups,omitempty"`
}

// FixedIP is an address of a port on a subnet.
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// AddressPair is an extra address (or CIDR) and MAC a port may send from.
type AddressPair struct {
	IPAddress  string `json:"ip_address"`
	MACAddress string `json:"mac_address,omitempty"`
}

// SecurityGroup is a group referenced by a port on this host, with the
// addresses of all its member ports (cloud-wide) for remote_group_id rules.
type SecurityGroup struct {
	ID      string   `json:"id"`
	Rules   []Rule   `json:"rules"`
	Members []string `json:"member_ips,omitempty"`
}

// Rule is a security group rule as Neutron stores it.
type Rule struct {
	ID             string `json:"id"`
	Direction      string `json:"direction"` // ingress, egress
	EtherType      string `json:"ethertype"` // IPv4, IPv6
	Protocol       string `json:"protocol,omitempty"`
	PortRangeMin   *int   `json:"port_range_min,omitempty"`
	PortRangeMax   *int   `json:"port_range_max,omitempty"`
	RemoteIPPrefix string `json:"remote_ip_prefix,omitempty"`
	RemoteGroupID  string `json:"remote_group_id,omitempty"`
}

// Router is a router this network node serves: its legs are ports in
// State.Ports (device_id = router ID).
type Router struct {
	ID           string `json:"id"`
	AdminStateUp bool   `json:"admin_state_up"`
	// GatewayPortID is the leg on the external network ("" if none).
	GatewayPortID    string       `json:"gateway_port_id,omitempty"`
	EnableSNAT       bool         `json:"enable_snat"`
	InterfacePortIDs []string     `json:"interface_port_ids,omitempty"`
	Routes           []Route      `json:"routes,omitempty"`
	FloatingIPs      []FloatingIP `json:"floating_ips,omitempty"`
}

// FloatingIP maps an external address to a fixed IP behind the router.
type FloatingIP struct {
	ID       string `json:"id"`
	External string `json:"floating_ip_address"`
	Internal string `json:"fixed_ip_address"`
	PortID   string `json:"port_id"`
}

// DHCP is a network whose DHCP (and metadata) this network node serves:
// PortID is the DHCP port (device_owner network:dhcp) in State.Ports;
// Leases are for every port of the network, on any host.
type DHCP struct {
	NetworkID string  `json:"network_id"`
	PortID    string  `json:"port_id"`
	Leases    []Lease `json:"leases"`
}

// Lease is a static DHCP reservation.
type Lease struct {
	PortID   string `json:"port_id"`
	MAC      string `json:"mac_address"`
	IP       string `json:"ip_address"`
	SubnetID string `json:"subnet_id"`
	Hostname string `json:"hostname,omitempty"`
}

// ServerReport is what a host observed after doing a server's task.
type ServerReport struct {
	ServerID   string `json:"server_id"`
	Task       string `json:"task"`
	VMState    string `json:"vm_state"`
	PowerState int    `json:"power_state"`
	// Gone means the guest no longer exists on the host (deleted, shelved
	// offloaded, migrated away).
	Gone bool `json:"gone,omitempty"`
	// Error, when set, is the task's failure (becomes the server's fault).
	Error string `json:"error,omitempty"`
}

// PortReport is the data-plane status of a port.
type PortReport struct {
	PortID string `json:"port_id"`
	Status string `json:"status"` // ACTIVE, DOWN, ERROR
}

// VolumeReport is the outcome of attaching or detaching a volume.
type VolumeReport struct {
	ServerID string `json:"server_id"`
	VolumeID string `json:"volume_id"`
	// Attached is the state reached: true after an attach, false after a
	// detach.
	Attached bool   `json:"attached"`
	Error    string `json:"error,omitempty"`
}

// MetadataQuery names a server directly or by the source of a request.
type MetadataQuery struct {
	ServerID  string `json:"server_id,omitempty"`
	NetworkID string `json:"network_id,omitempty"`
	Address   string `json:"address,omitempty"`
}

// Metadata is what a guest reads from the config drive or the metadata
// service: the OpenStack documents (meta_data.json, network_data.json,
// vendor_data2.json) and the user data (nil when none).
type Metadata struct {
	ServerID    string          `json:"server_id"`
	MetaData    json.RawMessage `json:"meta_data"`
	NetworkData json.RawMessage `json:"network_data"`
	VendorData  json.RawMessage `json:"vendor_data,omitempty"`
	UserData    []byte          `json:"user_data,omitempty"`
}

// ImageInfo describes image bytes.
type ImageInfo struct {
	ID         string `json:"id"`
	Size       int64  `json:"size"`
	DiskFormat string `json:"disk_format"`
	Checksum   string `json:"checksum,omitempty"`
}
