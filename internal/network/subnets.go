package network

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"

	"github.com/nubo-cloud/nubo/internal/ipam"
	"github.com/nubo-cloud/nubo/internal/store"
)

func itoa(i int) string { return strconv.Itoa(i) }

// SubnetSpec is a create or update request. GatewayIP distinguishes absent
// (nil) from JSON null (Set with empty value).
type SubnetSpec struct {
	Name            *string   `json:"name"`
	Description     *string   `json:"description"`
	ProjectID       string    `json:"project_id"`
	TenantID        string    `json:"tenant_id"`
	NetworkID       string    `json:"network_id"`
	IPVersion       int       `json:"ip_version"`
	CIDR            *string   `json:"cidr"`
	GatewayIP       Nullable  `json:"gateway_ip"`
	AllocationPools *[]Pool   `json:"allocation_pools"`
	HostRoutes      *[]Route  `json:"host_routes"`
	DNSNameservers  *[]string `json:"dns_nameservers"`
	EnableDHCP      *bool     `json:"enable_dhcp"`
	IPv6RAMode      *string   `json:"ipv6_ra_mode"`
	IPv6AddressMode *string   `json:"ipv6_address_mode"`
	SubnetPoolID    *string   `json:"subnetpool_id"`
	UseDefaultPool  bool      `json:"use_default_subnetpool"`
	PrefixLen       int       `json:"prefixlen"`
	ServiceTypes    []string  `json:"service_types"`
	Tags            []string  `json:"tags"`
	IfRevision      *int64    `json:"-"`
}

// Nullable is a JSON string that records whether it was present and null.
type Nullable struct {
	Set   bool
	Null  bool
	Value string
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Nullable) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Null = true
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

func (s *Service) getSubnet(ctx context.Context, tx store.ReadTx, id string) (*Subnet, *Network, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, nil, err
	}
	sn, err := store.Get[Subnet](tx, kindSubnet, id)
	if isNotFound(err) {
		return nil, nil, notFound("SubnetNotFound", "Subnet", id)
	}
	if err != nil {
		return nil, nil, err
	}
	n, err := store.Get[Network](tx, kindNetwork, sn.NetworkID)
	if err != nil {
		return nil, nil, err
	}
	// Subnets of a shared network are visible to all; those of an external
	// (but not shared) network only to its owner, as in Neutron.
	if !visible(c, sn.ProjectID) && !n.Shared {
		return nil, nil, notFound("SubnetNotFound", "Subnet", id)
	}
	return sn, n, nil
}

var ipv6Modes = []string{"slaac", "dhcpv6-stateful", "dhcpv6-stateless"}

func validateRoutes(routes []Route, v int) error {
	for _, r := range routes {
		p, err := netip.ParsePrefix(r.Destination)
		if err != nil {
			return invalidInput("'%s' is not a valid IP subnet", r.Destination)
		}
		a, err := netip.ParseAddr(r.NextHop)
		if err != nil {
			return invalidInput("'%s' is not a valid IP address", r.NextHop)
		}
		if v != 0 && (ver(p.Addr()) != v || ver(a) != v) {
			return invalidInput("Host route %s via %s does not match the subnet's IP version", r.Destination, r.NextHop)
		}
	}
	return nil
}

func ver(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func validateDNS(ns []string) error {
	seen := map[string]bool{}
	for _, d := range ns {
		if _, err := netip.ParseAddr(d); err != nil {
			return invalidInput("'%s' is not a valid nameserver. '%s' is not a valid IP address.", d, d)
		}
		if seen[d] {
			return invalidInput("Duplicate nameserver '%s'", d)
		}
		seen[d] = true
	}
	return nil
}

// buildPool validates allocation pools and the gateway and returns the IPAM pool.
func buildPool(prefix netip.Prefix, pools []Pool, gw netip.Addr) (*ipam.Pool, []Pool, error) {
	var ranges []ipam.Range
	for _, p := range pools {
		a, err1 := netip.ParseAddr(p.Start)
		b, err2 := netip.ParseAddr(p.End)
		if err1 != nil || err2 != nil {
			return nil, nil, invalidInput("Invalid allocation pool %s-%s", p.Start, p.End)
		}
		if !prefix.Contains(a) || !prefix.Contains(b) {
			return nil, nil, badRequest("The allocation pool %s-%s spans beyond the subnet cidr %s.", p.Start, p.End, prefix)
		}
		if b.Less(a) {
			return nil, nil, badRequest("The allocation pool %s-%s is invalid.", p.Start, p.End)
		}
		if gw.IsValid() && !gw.Less(a) && !b.Less(gw) {
			return nil, nil, conflict("GatewayConflictWithAllocationPools", "Gateway ip %s conflicts with allocation pool %s-%s.", gw, p.Start, p.End)
		}
		ranges = append(ranges, ipam.Range{Start: a, End: b})
	}
	pool, err := ipam.New(prefix, ranges, gw)
	if err != nil {
		return nil, nil, badRequest("%s", err.Error())
	}
	out := []Pool{}
	for _, r := range pool.Ranges {
		out = append(out, Pool{Start: r.Start.String(), End: r.End.String()})
	}
	return pool, out, nil
}

func loadPool(tx store.ReadTx, subnetID string) (*ipam.Pool, error) {
	r, err := store.Get[ipamRecord](tx, kindIPAM, subnetID)
	if err != nil {
		return nil, err
	}
	p := new(ipam.Pool)
	if err := json.Unmarshal(r.Pool, p); err != nil {
		return nil, err
	}
	return p, nil
}

func savePool(tx store.Tx, subnetID string, p *ipam.Pool, create bool) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	r := store.Record{Kind: kindIPAM, ID: subnetID, Value: ipamRecord{SubnetID: subnetID, Pool: b}}
	if create {
		return tx.Create(r)
	}
	return tx.Update(r)
}

// CreateSubnet adds a subnet to a network.
func (s *Service) CreateSubnet(ctx context.Context, spec SubnetSpec) (*Subnet, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	project, err := ownerFor(c, spec.ProjectID, spec.TenantID)
	if err != nil {
		return nil, err
	}
	if spec.NetworkID == "" {
		return nil, badRequest("Failed to parse request. Required attribute 'network_id' not specified")
	}
	if spec.IPVersion != 4 && spec.IPVersion != 6 {
		return nil, invalidInput("%d is not in valid IP versions [4, 6]", spec.IPVersion)
	}
	var sn *Subnet
	err = s.write(ctx, func(tx store.Tx) error {
		n, err := s.getNetwork(ctx, tx, spec.NetworkID)
		if err != nil {
			return err
		}
		if !c.IsAdmin() && n.ProjectID != c.ProjectID {
			return forbidden("rule:create_subnet is disallowed by policy")
		}
		cidr := str(spec.CIDR)
		poolID := str(spec.SubnetPoolID)
		if cidr == "" && (poolID != "" || spec.UseDefaultPool) {
			cidr, poolID, err = s.allocateFromPool(tx, c, poolID, spec.IPVersion, spec.PrefixLen)
			if err != nil {
				return err
			}
		}
		if cidr == "" {
			return badRequest("Bad subnets request: a cidr must be specified in the absence of a subnet pool")
		}
		prefix, err := netip.ParsePrefix(cidr)
		if err != nil {
			return invalidInput("'%s' is not a valid IP subnet.", cidr)
		}
		if prefix.Masked() != prefix {
			return invalidInput("'%s' isn't a recognized IP subnet cidr, '%s' is recommended", cidr, prefix.Masked())
		}
		if ver(prefix.Addr()) != spec.IPVersion {
			return invalidInput("Cidr %s does not match the IP version %d", cidr, spec.IPVersion)
		}
		if prefix.Addr().Is4() && prefix.Bits() > 30 || prefix.Addr().Is6() && prefix.Bits() > 126 {
			// Neutron accepts /31 and /32 only without DHCP; keep it simple.
			if boolOr(spec.EnableDHCP, true) {
				return invalidInput("Invalid CIDR %s for IPv%d subnet.", cidr, spec.IPVersion)
			}
		}
		ra, am := str(spec.IPv6RAMode), str(spec.IPv6AddressMode)
		if spec.IPVersion == 4 && (ra != "" || am != "") {
			return invalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False or ip_version is 4")
		}
		if ra != "" && !slices.Contains(ipv6Modes, ra) || am != "" && !slices.Contains(ipv6Modes, am) {
			return invalidInput("'%s' is not in %v", ra+am, ipv6Modes)
		}
		if ra != "" && am != "" && ra != am {
			return invalidInput("ipv6_ra_mode set to '%s' with ipv6_address_mode set to '%s' is not valid. If both attributes are set, they must be the same value", ra, am)
		}
		if (am == "slaac" || am == "dhcpv6-stateless") && prefix.Bits() != 64 {
			return invalidInput("Invalid CIDR %s for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64", cidr)
		}
		var gw netip.Addr
		switch {
		case spec.GatewayIP.Null:
		case spec.GatewayIP.Set && spec.GatewayIP.Value != "":
			if gw, err = netip.ParseAddr(spec.GatewayIP.Value); err != nil {
				return invalidInput("'%s' is not a valid IP address", spec.GatewayIP.Value)
			}
			if ver(gw) != spec.IPVersion {
				return invalidInput("Gateway IP version inconsistent with allocation pool version")
			}
		default:
			gw = prefix.Addr().Next()
		}
		if gw.IsValid() && prefix.Contains(gw) && (gw == prefix.Addr() && prefix.Addr().Is4() || gw == lastAddr(prefix) && prefix.Addr().Is4()) {
			return invalidInput("Gateway is not valid on subnet")
		}
		var pools []Pool
		if spec.AllocationPools != nil {
			pools = *spec.AllocationPools
		}
		pool, pools, err := buildPool(prefix, pools, gw)
		if err != nil {
			return err
		}
		if spec.HostRoutes != nil {
			if err := validateRoutes(*spec.HostRoutes, spec.IPVersion); err != nil {
				return err
			}
		}
		if spec.DNSNameservers != nil {
			if err := validateDNS(*spec.DNSNameservers); err != nil {
				return err
			}
		}
		others, err := store.List[Subnet](tx, kindSubnet, store.ListOptions{Ref: n.ID})
		if err != nil {
			return err
		}
		for _, o := range others {
			if op, err := netip.ParsePrefix(o.CIDR); err == nil && op.Overlaps(prefix) {
				return invalidInput("Requested subnet with cidr: %s for network: %s overlaps with another subnet", cidr, n.ID)
			}
		}
		if err := s.charge(tx, project, "subnet", 1); err != nil {
			return err
		}
		sn = &Subnet{Meta: s.newMeta(project, str(spec.Name), str(spec.Description)), NetworkID: n.ID, IPVersion: spec.IPVersion,
			CIDR: prefix.String(), AllocationPools: pools, HostRoutes: []Route{}, DNSNameservers: []string{},
			EnableDHCP: boolOr(spec.EnableDHCP, true), IPv6RAMode: ra, IPv6AddressMode: am, SubnetPoolID: poolID, ServiceTypes: orEmpty(spec.ServiceTypes)}
		if gw.IsValid() {
			sn.GatewayIP = gw.String()
		}
		if spec.HostRoutes != nil {
			sn.HostRoutes = orEmpty(*spec.HostRoutes)
		}
		if spec.DNSNameservers != nil {
			sn.DNSNameservers = orEmpty(*spec.DNSNameservers)
		}
		if spec.Tags != nil {
			sn.Tags = spec.Tags
		}
		if err := savePool(tx, sn.ID, pool, true); err != nil {
			return err
		}
		return put(tx, kindSubnet, n.ID, sn, nil, true)
	})
	if err != nil {
		return nil, err
	}
	return sn, nil
}

func lastAddr(p netip.Prefix) netip.Addr {
	r := ipam.DefaultRanges(p, netip.Addr{})
	if len(r) == 0 {
		return p.Addr()
	}
	if p.Addr().Is4() {
		return r[len(r)-1].End.Next()
	}
	return r[len(r)-1].End
}

// GetSubnet returns a visible subnet.
func (s *Service) GetSubnet(ctx context.Context, id string) (*Subnet, error) {
	var sn *Subnet
	err := s.read(ctx, func(tx store.ReadTx) error {
		var err error
		sn, _, err = s.getSubnet(ctx, tx, id)
		return err
	})
	return sn, err
}

// ListSubnets returns the subnets the caller can see.
func (s *Service) ListSubnets(ctx context.Context) ([]Subnet, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []Subnet
	err = s.read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[Subnet](tx, kindSubnet, store.ListOptions{})
		if err != nil {
			return err
		}
		open := map[string]bool{}
		if !c.IsAdmin() {
			nets, err := store.List[Network](tx, kindNetwork, store.ListOptions{})
			if err != nil {
				return err
			}
			for _, n := range nets {
				open[n.ID] = n.Shared
			}
		}
		for _, sn := range all {
			if visible(c, sn.ProjectID) || open[sn.NetworkID] {
				out = append(out, sn)
			}
		}
		return nil
	})
	return out, err
}

// UpdateSubnet changes a subnet; cidr, ip_version and network are fixed.
func (s *Service) UpdateSubnet(ctx context.Context, id string, spec SubnetSpec) (*Subnet, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var sn *Subnet
	err = s.write(ctx, func(tx store.Tx) error {
		var err error
		if sn, _, err = s.getSubnet(ctx, tx, id); err != nil {
			return err
		}
		if !canWrite(c, sn.ProjectID) {
			return forbidden("rule:update_subnet is disallowed by policy")
		}
		if spec.CIDR != nil && *spec.CIDR != sn.CIDR || spec.IPVersion != 0 && spec.IPVersion != sn.IPVersion || spec.NetworkID != "" && spec.NetworkID != sn.NetworkID {
			return badRequest("Cannot update read-only attribute cidr, ip_version or network_id")
		}
		if err := s.touch(&sn.Meta, spec.IfRevision); err != nil {
			return err
		}
		prefix := netip.MustParsePrefix(sn.CIDR)
		if spec.Name != nil {
			sn.Name = *spec.Name
		}
		if spec.Description != nil {
			sn.Description = *spec.Description
		}
		if spec.EnableDHCP != nil {
			sn.EnableDHCP = *spec.EnableDHCP
		}
		if spec.HostRoutes != nil {
			if err := validateRoutes(*spec.HostRoutes, sn.IPVersion); err != nil {
				return err
			}
			sn.HostRoutes = orEmpty(*spec.HostRoutes)
		}
		if spec.DNSNameservers != nil {
			if err := validateDNS(*spec.DNSNameservers); err != nil {
				return err
			}
			sn.DNSNameservers = orEmpty(*spec.DNSNameservers)
		}
		if spec.GatewayIP.Set || spec.AllocationPools != nil {
			var gw netip.Addr
			if spec.GatewayIP.Set {
				if !spec.GatewayIP.Null && spec.GatewayIP.Value != "" {
					if gw, err = netip.ParseAddr(spec.GatewayIP.Value); err != nil || !prefix.Contains(gw) {
						return invalidInput("Gateway IP %s is not valid for subnet %s", spec.GatewayIP.Value, sn.CIDR)
					}
				}
				if sn.GatewayIP != "" && gw.String() != sn.GatewayIP {
					if used, err := s.routerOnIP(tx, sn.ID, sn.GatewayIP); err != nil {
						return err
					} else if used {
						return conflict("GatewayIpInUse", "Gateway ip %s of subnet %s is in use by a router interface.", sn.GatewayIP, sn.ID)
					}
				}
			} else if sn.GatewayIP != "" {
				gw = netip.MustParseAddr(sn.GatewayIP)
			}
			pools := sn.AllocationPools
			if spec.AllocationPools != nil {
				pools = *spec.AllocationPools
			} else if spec.GatewayIP.Set {
				// Neutron re-derives default pools only when asked; keep the
				// existing ones unless they now contain the gateway.
				for _, p := range pools {
					a, b := netip.MustParseAddr(p.Start), netip.MustParseAddr(p.End)
					if gw.IsValid() && !gw.Less(a) && !b.Less(gw) {
						return conflict("GatewayConflictWithAllocationPools", "Gateway ip %s conflicts with allocation pool %s-%s.", gw, p.Start, p.End)
					}
				}
			}
			np, out, err := buildPool(prefix, pools, gw)
			if err != nil {
				return err
			}
			old, err := loadPool(tx, sn.ID)
			if err != nil {
				return err
			}
			np.Used = old.Used
			if err := savePool(tx, sn.ID, np, false); err != nil {
				return err
			}
			sn.AllocationPools = out
			sn.GatewayIP = ""
			if gw.IsValid() {
				sn.GatewayIP = gw.String()
			}
		}
		return put(tx, kindSubnet, sn.NetworkID, sn, nil, false)
	})
	if err != nil {
		return nil, err
	}
	return sn, nil
}

// routerOnIP reports whether a router interface port holds ip on subnet.
func (s *Service) routerOnIP(tx store.ReadTx, subnetID, ip string) (bool, error) {
	id, err := tx.Lookup(kindPort, ipKey(subnetID, ip))
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	p, err := store.Get[Port](tx, kindPort, id)
	if err != nil {
		return false, err
	}
	return p.DeviceOwner == OwnerRouterInterface, nil
}

// DeleteSubnet deletes a subnet unless a port other than a DHCP port has an
// address on it (SubnetInUse, as for a router interface).
func (s *Service) DeleteSubnet(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		sn, _, err := s.getSubnet(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canWrite(c, sn.ProjectID) {
			if sn.ProjectID != c.ProjectID {
				return notFound("SubnetNotFound", "Subnet", id)
			}
			return forbidden("rule:delete_subnet is disallowed by policy")
		}
		ports, err := store.List[Port](tx, kindPort, store.ListOptions{Ref: sn.NetworkID})
		if err != nil {
			return err
		}
		// SLAAC and DHCPv6-stateless addresses are derived, not allocated:
		// Neutron drops them from the ports (router legs still block).
		auto := autoAddress(sn)
		for _, p := range ports {
			for _, ip := range p.FixedIPs {
				if ip.SubnetID == id && p.DeviceOwner != OwnerDHCP && (!auto || p.DeviceOwner == OwnerRouterInterface) {
					return conflict("SubnetInUse", "Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id)
				}
			}
		}
		// DHCP ports lose their address on the subnet (Neutron's DHCP
		// ports never block a delete); derived addresses go from every port.
		for i := range ports {
			p := &ports[i]
			if auto || p.DeviceOwner == OwnerDHCP {
				kept := slices.DeleteFunc(slices.Clone(p.FixedIPs), func(ip FixedIP) bool { return ip.SubnetID == id })
				if len(kept) == len(p.FixedIPs) {
					continue
				}
				p.FixedIPs = orEmpty(kept)
				if err := s.touch(&p.Meta, nil); err != nil {
					return err
				}
				if err := put(tx, kindPort, p.NetworkID, p, portUnique(p), false); err != nil {
					return err
				}
			}
		}
		fips, err := store.List[FloatingIP](tx, kindFloatingIP, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, f := range fips {
			if f.FloatingSubnetID == id {
				return conflict("SubnetInUse", "Unable to complete operation on subnet %s: One or more floating IPs have an allocation from this subnet.", id)
			}
		}
		return s.deleteSubnetTx(tx, sn)
	})
}

func (s *Service) deleteSubnetTx(tx store.Tx, sn *Subnet) error {
	if err := s.charge(tx, sn.ProjectID, "subnet", -1); err != nil {
		return err
	}
	if err := tx.Delete(kindIPAM, sn.ID); err != nil && !isNotFound(err) {
		return err
	}
	return tx.Delete(kindSubnet, sn.ID)
}

// SubnetAvailability is one subnet's address use.
type SubnetAvailability struct {
	SubnetID   string `json:"subnet_id"`
	SubnetName string `json:"subnet_name"`
	CIDR       string `json:"cidr"`
	IPVersion  int    `json:"ip_version"`
	TotalIPs   string `json:"total_ips"`
	UsedIPs    uint64 `json:"used_ips"`
}

// NetworkAvailability is network-ip-availability's record.
type NetworkAvailability struct {
	NetworkID   string               `json:"network_id"`
	NetworkName string               `json:"network_name"`
	ProjectID   string               `json:"project_id"`
	Subnets     []SubnetAvailability `json:"subnet_ip_availability"`
}

// IPAvailabilities reports address use per network (admin).
func (s *Service) IPAvailabilities(ctx context.Context) ([]NetworkAvailability, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() {
		return nil, forbidden("rule:get_network_ip_availability is disallowed by policy")
	}
	var out []NetworkAvailability
	err = s.read(ctx, func(tx store.ReadTx) error {
		nets, err := store.List[Network](tx, kindNetwork, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, n := range nets {
			na := NetworkAvailability{NetworkID: n.ID, NetworkName: n.Name, ProjectID: n.ProjectID, Subnets: []SubnetAvailability{}}
			sns, err := store.List[Subnet](tx, kindSubnet, store.ListOptions{Ref: n.ID})
			if err != nil {
				return err
			}
			for _, sn := range sns {
				p, err := loadPool(tx, sn.ID)
				if err != nil {
					return err
				}
				na.Subnets = append(na.Subnets, SubnetAvailability{SubnetID: sn.ID, SubnetName: sn.Name, CIDR: sn.CIDR, IPVersion: sn.IPVersion,
					TotalIPs: p.Size().String(), UsedIPs: p.UsedInRanges()})
			}
			out = append(out, na)
		}
		return nil
	})
	return out, err
}
