package firewall

import (
	"context"
	"net"
	"net/netip"
)

// Firewall applies rulesets to network namespaces.
type Firewall interface {
	// Apply makes the Nubo-owned tables of namespace ns ("" = the host's)
	// equal to rs in one atomic transaction: tables rs does not need are
	// deleted, other software's tables are untouched. An empty Ruleset
	// removes every Nubo table there.
	Apply(ctx context.Context, ns string, rs Ruleset) error
	// Tables lists the Nubo-owned tables in ns.
	Tables(ctx context.Context, ns string) ([]Table, error)
	// DeleteTable deletes one Nubo-owned table; a missing one is not an
	// error, another owner's table is refused.
	DeleteTable(ctx context.Context, ns string, t Table) error
}

// Table names a table: family (bridge, inet, ip) and name.
type Table struct {
	Family string
	Name   string
}

// Ruleset is the desired firewall of one namespace.
type Ruleset struct {
	// Ports are the filtered ports whose devices sit on a bridge in this
	// namespace (a compute host's).
	Ports []Port
	// NAT is a router's address translation (a router namespace).
	NAT *NAT
}

// Port is one port's device and its security.
type Port struct {
	Device string           // the tap (or veth) on the bridge
	MAC    net.HardwareAddr // the guest's MAC
	// Addresses are the fixed IPs (as /32 or /128) and allowed address
	// pairs the guest may send from. The IPv6 link-local address derived
	// from MAC is always allowed.
	Addresses []netip.Prefix
	// ExtraMACs are the MACs of allowed address pairs.
	ExtraMACs []net.HardwareAddr
	// SecurityDisabled (port_security_enabled=false) turns off both
	// anti-spoofing and the security groups of this port.
	SecurityDisabled bool
	// Rules are the union of the port's security group rules. Ingress is
	// denied unless a rule allows it; so is egress (OpenStack's default
	// group carries allow-all egress rules).
	Rules []Rule
}

// Direction is the side of the port a rule filters, seen from the guest.
type Direction string

// Directions.
const (
	Ingress Direction = "ingress"
	Egress  Direction = "egress"
)

// EtherType selects the IP family of a rule.
type EtherType string

// Ether types, spelt as in the Networking API.
const (
	IPv4 EtherType = "IPv4"
	IPv6 EtherType = "IPv6"
)

// Rule is one security group rule.
type Rule struct {
	Direction Direction
	EtherType EtherType
	// Protocol is "" (any), a name (tcp, udp, icmp, icmpv6 or
	// ipv6-icmp, sctp, gre, esp, ah, …) or a number ("6").
	Protocol string
	// PortMin..PortMax is the destination port range for tcp, udp, sctp,
	// udplite and dccp; 0 means any. For ICMP (OpenStack's convention)
	// PortMin is the type and PortMax the code; nil means any.
	PortMin, PortMax *int
	// Remote limits the peer's address: the remote_ip_prefix, or the
	// addresses of the remote group's ports. Empty means any peer unless
	// RemoteGroup is set, in which case it means no peer at all.
	Remote      []netip.Prefix
	RemoteGroup bool
}

// NAT is a router's address translation, applied in its namespace.
type NAT struct {
	// GatewayDevice is the router's leg on the external network.
	GatewayDevice string
	// GatewayIP is the source address of SNAT for SNATSubnets.
	GatewayIP   netip.Addr
	SNATSubnets []netip.Prefix
	FloatingIPs []FloatingIP
	// Metadata, when valid, is where connections from inside to
	// 169.254.169.254:80 are sent. A 127.0.0.0/8 target needs
	// route_localnet on the internal legs.
	Metadata netip.AddrPort
}

// FloatingIP maps an external address to a port's fixed address.
type FloatingIP struct {
	External netip.Addr
	Internal netip.Addr
}

// Int returns a pointer to v, for Rule.PortMin and PortMax.
func Int(v int) *int { return &v }
