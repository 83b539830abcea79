package network

import (
	"encoding/json"
	"time"
)

// Record kinds.
const (
	kindNetwork    = "network.network"
	kindSubnet     = "network.subnet"
	kindPort       = "network.port"
	kindRouter     = "network.router"
	kindFloatingIP = "network.floatingip"
	kindSecGroup   = "network.secgroup"
	kindSGRule     = "network.sgrule"
	kindSubnetPool = "network.subnetpool"
	kindIPAM       = "network.ipam"
	kindQuota      = "network.quota"
	kindUsage      = "network.usage"
)

// Device owners Neutron clients look for.
const (
	OwnerRouterInterface = "network:router_interface"
	OwnerRouterGateway   = "network:router_gateway"
	OwnerDHCP            = "network:dhcp"
	OwnerFloatingIP      = "network:floatingip"
)

// Statuses.
const (
	StatusActive = "ACTIVE"
	StatusDown   = "DOWN"
	StatusBuild  = "BUILD"
)

// Meta is what every resource carries (Neutron's standard attributes).
type Meta struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	ProjectID   string    `json:"project_id"`
	Tags        []string  `json:"tags"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Revision is Neutron's revision_number: 0 at create, +1 per update.
	Revision int64 `json:"revision_number"`
}

func (m *Meta) meta() *Meta { return m }

// Network is an L2 segment.
type Network struct {
	Meta
	AdminStateUp        bool     `json:"admin_state_up"`
	Status              string   `json:"status"`
	Shared              bool     `json:"shared"`
	External            bool     `json:"router_external"`
	MTU                 int      `json:"mtu"`
	PortSecurityEnabled bool     `json:"port_security_enabled"`
	NetworkType         string   `json:"network_type"`
	PhysicalNetwork     string   `json:"physical_network,omitempty"`
	SegmentationID      *int     `json:"segmentation_id,omitempty"`
	AZHints             []string `json:"availability_zone_hints"`
	IsDefault           bool     `json:"is_default"`
	DNSDomain           string   `json:"dns_domain"`
}

// Route is a host route or a router's static route.
type Route struct {
	Destination string `json:"destination"`
	NextHop     string `json:"nexthop"`
}

// Pool is an allocation pool.
type Pool struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Subnet is an IP range on a network.
type Subnet struct {
	Meta
	NetworkID       string   `json:"network_id"`
	IPVersion       int      `json:"ip_version"`
	CIDR            string   `json:"cidr"`
	GatewayIP       string   `json:"gateway_ip,omitempty"`
	AllocationPools []Pool   `json:"allocation_pools"`
	HostRoutes      []Route  `json:"host_routes"`
	DNSNameservers  []string `json:"dns_nameservers"`
	EnableDHCP      bool     `json:"enable_dhcp"`
	IPv6RAMode      string   `json:"ipv6_ra_mode,omitempty"`
	IPv6AddressMode string   `json:"ipv6_address_mode,omitempty"`
	SubnetPoolID    string   `json:"subnetpool_id,omitempty"`
	ServiceTypes    []string `json:"service_types"`
}

// FixedIP is one address of a port.
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// AddressPair is an allowed address pair.
type AddressPair struct {
	IPAddress  string `json:"ip_address"`
	MACAddress string `json:"mac_address"`
}

// Binding is what Nova and the host agent agree on (binding:*).
type Binding struct {
	HostID     string         `json:"host_id"`
	VIFType    string         `json:"vif_type"`
	VNICType   string         `json:"vnic_type"`
	Profile    map[string]any `json:"profile"`
	VIFDetails map[string]any `json:"vif_details"`
}

// Port is an attachment point on a network: the agent wires a tap for it on
// Binding.HostID with MACAddress and FixedIPs, filtered by SecurityGroups.
type Port struct {
	Meta
	NetworkID           string           `json:"network_id"`
	MACAddress          string           `json:"mac_address"`
	AdminStateUp        bool             `json:"admin_state_up"`
	Status              string           `json:"status"`
	DeviceID            string           `json:"device_id"`
	DeviceOwner         string           `json:"device_owner"`
	FixedIPs            []FixedIP        `json:"fixed_ips"`
	AllowedAddressPairs []AddressPair    `json:"allowed_address_pairs"`
	ExtraDHCPOpts       []map[string]any `json:"extra_dhcp_opts"`
	SecurityGroups      []string         `json:"security_groups"`
	PortSecurityEnabled bool             `json:"port_security_enabled"`
	Binding             Binding          `json:"binding"`
	DNSName             string           `json:"dns_name"`
}

// GatewayInfo is a router's external gateway.
type GatewayInfo struct {
	NetworkID        string    `json:"network_id"`
	EnableSNAT       bool      `json:"enable_snat"`
	ExternalFixedIPs []FixedIP `json:"external_fixed_ips"`
	PortID           string    `json:"port_id"`
}

// Router routes between its interface subnets and its gateway network. Its
// legs are ports with DeviceID = router ID.
type Router struct {
	Meta
	AdminStateUp bool         `json:"admin_state_up"`
	Status       string       `json:"status"`
	Gateway      *GatewayInfo `json:"external_gateway_info"`
	Routes       []Route      `json:"routes"`
	Distributed  bool         `json:"distributed"`
	HA           bool         `json:"ha"`
	AZHints      []string     `json:"availability_zone_hints"`
}

// FloatingIP is an address on an external network, optionally mapped to a
// port's fixed IP through a router.
type FloatingIP struct {
	Meta
	FloatingNetworkID string `json:"floating_network_id"`
	FloatingSubnetID  string `json:"floating_subnet_id"`
	FloatingIPAddress string `json:"floating_ip_address"`
	FixedIPAddress    string `json:"fixed_ip_address"`
	PortID            string `json:"port_id"`
	RouterID          string `json:"router_id"`
	Status            string `json:"status"`
	DNSName           string `json:"dns_name"`
	DNSDomain         string `json:"dns_domain"`
}

// SecurityGroup is a set of rules applied to ports.
type SecurityGroup struct {
	Meta
	Stateful bool `json:"stateful"`
	Shared   bool `json:"shared"`
}

// SecurityGroupRule is one allow rule.
type SecurityGroupRule struct {
	Meta
	SecurityGroupID string `json:"security_group_id"`
	Direction       string `json:"direction"`
	EtherType       string `json:"ethertype"`
	Protocol        string `json:"protocol,omitempty"`
	PortRangeMin    *int   `json:"port_range_min,omitempty"`
	PortRangeMax    *int   `json:"port_range_max,omitempty"`
	RemoteIPPrefix  string `json:"remote_ip_prefix,omitempty"`
	RemoteGroupID   string `json:"remote_group_id,omitempty"`
}

// SubnetPool hands out prefixes to subnets.
type SubnetPool struct {
	Meta
	Prefixes         []string `json:"prefixes"`
	DefaultPrefixLen int      `json:"default_prefixlen"`
	MinPrefixLen     int      `json:"min_prefixlen"`
	MaxPrefixLen     int      `json:"max_prefixlen"`
	IPVersion        int      `json:"ip_version"`
	Shared           bool     `json:"shared"`
	IsDefault        bool     `json:"is_default"`
	DefaultQuota     *int     `json:"default_quota,omitempty"`
	AddressScopeID   string   `json:"address_scope_id,omitempty"`
}

// ipamRecord is one subnet's allocation state.
type ipamRecord struct {
	SubnetID string          `json:"subnet_id"`
	Pool     json.RawMessage `json:"pool"`
}
