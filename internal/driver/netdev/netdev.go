package netdev

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

// Driver converges the network devices of one host.
type Driver interface {
	// Sync makes the host equal to spec: it creates or fixes every bridge,
	// VXLAN device, FDB entry, tap, namespace, veth pair, address, route and
	// sysctl the spec names, and deletes every Nubo-owned device and
	// namespace it does not name. It is idempotent and keeps going after a
	// failed item; the error joins every failure.
	Sync(ctx context.Context, spec HostSpec) error
	// EnsureNetwork creates or fixes one network's bridge, VXLAN device,
	// FDB entries and taps. Taps on the bridge that n does not list are
	// deleted; other networks are left alone.
	EnsureNetwork(ctx context.Context, n Network) error
	// EnsureNamespace creates or fixes one namespace and its veth legs. The
	// bridges it attaches to must exist.
	EnsureNamespace(ctx context.Context, ns Namespace) error
	// DeleteLink deletes a device of the host namespace; a missing one is
	// not an error.
	DeleteLink(ctx context.Context, name string) error
	// DeleteNamespace deletes a namespace and, with it, the veth pairs that
	// have a leg inside; a missing one is not an error. Processes or sockets
	// still inside keep the kernel object alive, so stop them first.
	DeleteNamespace(ctx context.Context, name string) error
	// Status lists the Nubo-owned devices and namespaces that exist now.
	Status(ctx context.Context) (HostStatus, error)
	// CheckBridgeNetfilter returns an error wrapping ErrBridgeNetfilter
	// unless bridged IPv4 and IPv6 traffic traverses netfilter
	// (net.bridge.bridge-nf-call-ip{,6}tables=1). Stateful security groups
	// silently stop filtering without it, so the agent must refuse to run.
	CheckBridgeNetfilter(ctx context.Context) error
}

// ErrBridgeNetfilter means bridged traffic bypasses netfilter on this host.
var ErrBridgeNetfilter = errors.New("bridged traffic bypasses netfilter (br_netfilter off)")

// HostSpec is the desired network state of one host (NetworkSpec in the
// architecture's words).
type HostSpec struct {
	Networks   []Network
	Namespaces []Namespace
}

// Network is one bridge, named BridgeName(ID).
type Network struct {
	ID string
	// MTU of the bridge, its VXLAN device and taps; 0 keeps the kernel's
	// default. VXLAN over a 1500-byte underlay needs 1450.
	MTU   int
	VXLAN *VXLAN // nil for a network local to this host
	Taps  []Tap
	// Addresses are kept exact (IPv6 link-local aside) on the bridge itself
	// in the host namespace, e.g. the external network's gateway so that
	// the host reaches routers' gateways and floating IPs.
	Addresses []netip.Prefix
	// Uplink is an existing host device (a flat provider network's physical
	// interface) made a port of the bridge and set up. The driver does not
	// own it: it never creates, changes or deletes it, and deleting the
	// bridge only releases it.
	Uplink string
}

// VXLAN is a network's overlay device, named VXLANName(network ID). MAC
// learning is off: the bridge floods unknown unicast and broadcast to every
// remote VTEP through all-zero FDB entries.
type VXLAN struct {
	VNI    uint32
	Local  netip.Addr // this host's VTEP address
	Device string     // underlay device; "" lets routing choose
	Port   uint16     // UDP port; 0 means 4789
	// Remotes are the other hosts' VTEP addresses. The FDB holds exactly
	// these all-zero entries after a sync.
	Remotes []netip.Addr
}

// Tap is a port's tap device, named TapName(PortID), attached to its
// network's bridge and up. The hypervisor opens it by name.
type Tap struct {
	PortID string
	// MAC is the guest's (the port's) address. The tap itself gets
	// HostMAC(MAC): a bridge port whose own address equals the guest's
	// would make the bridge deliver the guest's frames to itself.
	MAC net.HardwareAddr
	MTU int // 0 means the network's
}

// Namespace is a network namespace owned by Nubo (a router or a DHCP
// server), with one veth leg per Interface.
type Namespace struct {
	Name string // e.g. RouterNamespace(id); must carry an owned prefix
	// Forwarding turns on net.ipv4.ip_forward and IPv6 forwarding inside.
	Forwarding bool
	// Loopback are extra addresses on lo, e.g. 169.254.169.254/32 for a
	// metadata listener.
	Loopback   []netip.Prefix
	Interfaces []Interface
	Routes     []Route // static routes in the main table, kept exact
}

// Interface is a veth pair: Name inside the namespace, VethName(PortID) in
// the host namespace as a port of BridgeName(NetworkID).
type Interface struct {
	PortID    string
	Name      string // inside name, ≤15 bytes, e.g. RouterPortName(port)
	NetworkID string
	MAC       net.HardwareAddr // nil lets the kernel choose
	MTU       int              // 0 means the kernel default
	Addresses []netip.Prefix   // kept exact (IPv6 link-local aside)
	// RouteLocalnet lets DNAT to 127.0.0.0/8 work for packets arriving
	// here (metadata DNAT to a loopback listener).
	RouteLocalnet bool
}

// Route is a static route inside a namespace.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr // invalid for an on-link route through Dev
	Dev string     // optional; required without Via
}

// HostStatus is what Status observed.
type HostStatus struct {
	Links      []Link
	Namespaces []string
	// FDB maps each VXLAN device to its remote VTEPs (all-zero entries).
	FDB map[string][]netip.Addr
}

// Link is one Nubo-owned device in the host namespace.
type Link struct {
	Name   string
	Kind   string // bridge, vxlan, tuntap, veth
	MAC    net.HardwareAddr
	MTU    int
	Master string
	Up     bool
}
