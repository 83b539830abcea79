package netagent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/driver/dhcp"
	"github.com/nubo-cloud/nubo/internal/driver/firewall"
	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// MetadataIP is the address guests reach the metadata service on.
var MetadataIP = netip.MustParseAddr("169.254.169.254")

// Device owners of the ports a network node wires inside namespaces.
const (
	ownerDHCP   = "network:dhcp"
	ownerPrefix = "network:"
)

// plan is everything one State asks of this host.
type plan struct {
	spec netdev.HostSpec
	// host is the ruleset of the host namespace (the taps).
	host firewall.Ruleset
	// routers are the rulesets of the router namespaces, by namespace.
	routers map[string]firewall.Ruleset
	// services are the DHCP servers and metadata listeners, by network.
	services map[string]serviceSpec
	// routerMetadata are the metadata listeners of the routers, by
	// namespace: for guests that reach 169.254.169.254 through their
	// default gateway (no DHCP on the subnet, static configuration, or a
	// client that ignores the classless route).
	routerMetadata map[string][]subnetRoute
	// devices maps each wired port to the host-namespace device that
	// carries it (its tap or the host leg of its veth).
	devices map[string]string
	// down are ports wired but administratively down (reported DOWN).
	down map[string]bool
	errs []error
}

// serviceSpec is one DHCP server and metadata listener in a namespace.
type serviceSpec struct {
	NetworkID string
	Namespace string
	Interface string
	ServerIP  netip.Addr
	Leases    []dhcp.Lease
}

// key is what, when it changes, needs a restart (leases are live).
func (s serviceSpec) key() string {
	return s.Namespace + "|" + s.Interface + "|" + s.ServerIP.String()
}

// subnetRoute says which network a source address on a router leg is on.
type subnetRoute struct {
	Prefix    netip.Prefix
	NetworkID string
}

type subnetInfo struct {
	hostapi.Subnet
	networkID string
	prefix    netip.Prefix
}

// planOptions are the host's settings a plan depends on.
type planOptions struct {
	nsPrefix string
	localIP  netip.Addr
	vxDevice string
	physical map[string]string // physical network → host device
}

// planner holds the indexes of one State.
type planner struct {
	planOptions

	st       *hostapi.State
	networks map[string]*hostapi.Network
	subnets  map[string]subnetInfo
	ports    map[string]*hostapi.Port
	groups   map[string]*hostapi.SecurityGroup
	p        *plan
	inSpec   map[string]bool // networks in p.spec
	legs     map[string]bool // ports wired as namespace legs
}

// buildPlan translates st. It never fails as a whole: items it cannot
// wire are left out and their errors collected in plan.errs.
func buildPlan(st *hostapi.State, opts planOptions) *plan {
	pl := &planner{
		planOptions: opts, st: st,
		networks: map[string]*hostapi.Network{}, subnets: map[string]subnetInfo{},
		ports: map[string]*hostapi.Port{}, groups: map[string]*hostapi.SecurityGroup{},
		inSpec: map[string]bool{}, legs: map[string]bool{},
		p: &plan{
			routers: map[string]firewall.Ruleset{}, services: map[string]serviceSpec{},
			routerMetadata: map[string][]subnetRoute{},
			devices:        map[string]string{}, down: map[string]bool{},
		},
	}
	if st == nil {
		return pl.p
	}
	for i := range st.Networks {
		n := &st.Networks[i]
		pl.networks[n.ID] = n
		for _, s := range n.Subnets {
			pfx, err := netip.ParsePrefix(s.CIDR)
			if err != nil {
				pl.errorf("network %s subnet %s: CIDR %q: %v", n.ID, s.ID, s.CIDR, err)
				continue
			}
			pl.subnets[s.ID] = subnetInfo{Subnet: s, networkID: n.ID, prefix: pfx.Masked()}
		}
	}
	for i := range st.Ports {
		pl.ports[st.Ports[i].ID] = &st.Ports[i]
	}
	for i := range st.SecurityGroups {
		pl.groups[st.SecurityGroups[i].ID] = &st.SecurityGroups[i]
	}
	pl.buildNetworks()
	for _, r := range st.Routers {
		pl.buildRouter(r)
	}
	for _, d := range st.DHCP {
		pl.buildDHCP(d)
	}
	pl.buildTaps()
	return pl.p
}

func (pl *planner) errorf(format string, args ...any) {
	pl.p.errs = append(pl.p.errs, fmt.Errorf(format, args...))
}

// routerNamespace and dhcpNamespace are the names this agent uses.
func routerNamespace(prefix, routerID string) string {
	return prefix + netdev.RouterNamespace(routerID)
}
func dhcpNamespace(prefix, networkID string) string { return prefix + netdev.DHCPNamespace(networkID) }

func (pl *planner) buildNetworks() {
	uplinks := map[string]string{} // device → network
	for _, n := range pl.st.Networks {
		nn := netdev.Network{ID: n.ID, MTU: n.MTU}
		if n.Type == "vxlan" {
			if !pl.localIP.IsValid() {
				// One host with no VTEP address: nothing to tunnel to.
				if len(n.Remotes) > 0 {
					pl.errorf("network %s: vxlan needs the host's VTEP address (Config.LocalIP); wired local only", n.ID)
				}
			} else {
				vx := &netdev.VXLAN{VNI: n.SegmentationID, Local: pl.localIP, Device: pl.vxDevice}
				for _, r := range n.Remotes {
					a, err := netip.ParseAddr(r)
					if err != nil || a.Is4() != pl.localIP.Is4() {
						pl.errorf("network %s: remote VTEP %q is not an address of the local VTEP's family", n.ID, r)
						continue
					}
					if a = a.Unmap(); a != pl.localIP && !slices.Contains(vx.Remotes, a) {
						vx.Remotes = append(vx.Remotes, a)
					}
				}
				nn.VXLAN = vx
			}
		}
		if dev, ok := pl.physical[n.PhysicalNetwork]; ok && n.PhysicalNetwork != "" {
			switch n.Type {
			case "flat":
				if other, used := uplinks[dev]; used {
					pl.errorf("network %s: %s (%s) already carries flat network %s; wired local to this host", n.ID, dev, n.PhysicalNetwork, other)
					break
				}
				uplinks[dev] = n.ID
				nn.Uplink = dev
			case "vlan":
				pl.errorf("network %s: VLAN %d on %s (%s) is not supported yet; wired local to this host", n.ID, n.SegmentationID, dev, n.PhysicalNetwork)
			}
		}
		if n.External && nn.Uplink == "" {
			// The host is the upstream of the routers' gateway legs.
			for _, s := range n.Subnets {
				info, ok := pl.subnets[s.ID]
				if !ok || s.GatewayIP == "" {
					continue
				}
				gw, err := netip.ParseAddr(s.GatewayIP)
				if err != nil || !info.prefix.Contains(gw) {
					pl.errorf("external network %s subnet %s: gateway %q outside %v", n.ID, s.ID, s.GatewayIP, info.prefix)
					continue
				}
				nn.Addresses = append(nn.Addresses, netip.PrefixFrom(gw, info.prefix.Bits()))
			}
		}
		if err := nn.Validate(); err != nil {
			pl.errorf("%v", err)
			if nn.VXLAN == nil {
				continue
			}
			nn.VXLAN = nil // e.g. a VNI out of range: keep the bridge
			if nn.Validate() != nil {
				continue
			}
		}
		pl.p.spec.Networks = append(pl.p.spec.Networks, nn)
		pl.inSpec[n.ID] = true
	}
}

// addresses returns a port's fixed IPs with their subnets' prefix lengths.
func (pl *planner) addresses(p *hostapi.Port) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range p.FixedIPs {
		a, err := netip.ParseAddr(f.IPAddress)
		if err != nil {
			pl.errorf("port %s: fixed IP %q: %v", p.ID, f.IPAddress, err)
			continue
		}
		bits := a.BitLen()
		if s, ok := pl.subnets[f.SubnetID]; ok && s.prefix.Contains(a) {
			bits = s.prefix.Bits()
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), bits))
	}
	return out
}

func parseMAC(p *hostapi.Port) (net.HardwareAddr, error) {
	m, err := net.ParseMAC(p.MAC)
	if err != nil || len(m) != 6 {
		return nil, fmt.Errorf("port %s: MAC %q is not a 6-byte address", p.ID, p.MAC)
	}
	return m, nil
}

// leg builds a namespace interface for port id named by name(id).
func (pl *planner) leg(owner, id string, name func(string) string) (netdev.Interface, *hostapi.Port, bool) {
	p, ok := pl.ports[id]
	if !ok {
		pl.errorf("%s: port %s not in the state", owner, id)
		return netdev.Interface{}, nil, false
	}
	if !pl.inSpec[p.NetworkID] {
		pl.errorf("%s: port %s: network %s not wired on this host", owner, id, p.NetworkID)
		return netdev.Interface{}, nil, false
	}
	if pl.legs[id] {
		pl.errorf("%s: port %s is already wired elsewhere", owner, id)
		return netdev.Interface{}, nil, false
	}
	m, err := parseMAC(p)
	if err != nil {
		pl.errorf("%s: %v", owner, err)
		return netdev.Interface{}, nil, false
	}
	pl.legs[id] = true
	return netdev.Interface{
		PortID: p.ID, Name: name(p.ID), NetworkID: p.NetworkID, MAC: m,
		MTU: pl.networks[p.NetworkID].MTU, Addresses: pl.addresses(p),
	}, p, true
}

func (pl *planner) addNamespace(ns netdev.Namespace) bool {
	if err := ns.Validate(); err != nil {
		pl.errorf("%v", err)
		return false
	}
	pl.p.spec.Namespaces = append(pl.p.spec.Namespaces, ns)
	for _, i := range ns.Interfaces {
		pl.p.devices[i.PortID] = netdev.VethName(i.PortID)
		if p := pl.ports[i.PortID]; p != nil && !p.AdminStateUp {
			pl.p.down[i.PortID] = true
		}
	}
	return true
}

var defaultRoutes = map[bool]netip.Prefix{
	true:  netip.MustParsePrefix("0.0.0.0/0"),
	false: netip.MustParsePrefix("::/0"),
}

func (pl *planner) buildRouter(r hostapi.Router) {
	if !r.AdminStateUp {
		return // no namespace: its legs report DOWN
	}
	owner := "router " + r.ID
	ns := netdev.Namespace{Name: routerNamespace(pl.nsPrefix, r.ID), Forwarding: true}
	nat := &firewall.NAT{}
	var inside []subnetRoute
	for _, id := range r.InterfacePortIDs {
		i, p, ok := pl.leg(owner, id, netdev.RouterPortName)
		if !ok {
			continue
		}
		ns.Interfaces = append(ns.Interfaces, i)
		for _, f := range p.FixedIPs {
			if s, ok := pl.subnets[f.SubnetID]; ok && s.prefix.Addr().Is4() {
				inside = append(inside, subnetRoute{Prefix: s.prefix, NetworkID: p.NetworkID})
			}
		}
		if r.EnableSNAT {
			for _, f := range p.FixedIPs {
				if s, ok := pl.subnets[f.SubnetID]; ok && s.prefix.Addr().Is4() && !slices.Contains(nat.SNATSubnets, s.prefix) {
					nat.SNATSubnets = append(nat.SNATSubnets, s.prefix)
				}
			}
		}
	}
	if r.GatewayPortID != "" {
		if i, p, ok := pl.leg(owner, r.GatewayPortID, netdev.GatewayPortName); ok {
			nat.GatewayDevice = i.Name
			for _, a := range i.Addresses {
				if a.Addr().Is4() && !nat.GatewayIP.IsValid() {
					nat.GatewayIP = a.Addr()
				}
			}
			// The floating IPs live on the gateway leg so the router
			// answers ARP for them.
			for _, f := range r.FloatingIPs {
				ext, err1 := netip.ParseAddr(f.External)
				in, err2 := netip.ParseAddr(f.Internal)
				if err1 != nil || err2 != nil || !ext.Is4() || !in.Is4() {
					pl.errorf("%s: floating IP %s (%q → %q) is not a pair of IPv4 addresses", owner, f.ID, f.External, f.Internal)
					continue
				}
				nat.FloatingIPs = append(nat.FloatingIPs, firewall.FloatingIP{External: ext, Internal: in})
				if fp := netip.PrefixFrom(ext, 32); !slices.Contains(i.Addresses, fp) {
					i.Addresses = append(i.Addresses, fp)
				}
			}
			ns.Interfaces = append(ns.Interfaces, i)
			// Default routes through the external subnets' gateways.
			seen := map[bool]bool{}
			for _, f := range p.FixedIPs {
				s, ok := pl.subnets[f.SubnetID]
				if !ok || s.GatewayIP == "" {
					continue
				}
				gw, err := netip.ParseAddr(s.GatewayIP)
				if err != nil || seen[gw.Is4()] {
					continue
				}
				seen[gw.Is4()] = true
				ns.Routes = append(ns.Routes, netdev.Route{Dst: defaultRoutes[gw.Is4()], Via: gw})
			}
		}
	}
	for _, rt := range r.Routes {
		dst, err1 := netip.ParsePrefix(rt.Destination)
		via, err2 := netip.ParseAddr(rt.NextHop)
		if err1 != nil || err2 != nil {
			pl.errorf("%s: route %s via %s: not a prefix and an address", owner, rt.Destination, rt.NextHop)
			continue
		}
		ns.Routes = append(ns.Routes, netdev.Route{Dst: dst.Masked(), Via: via})
	}
	if len(inside) > 0 {
		ns.Loopback = []netip.Prefix{netip.PrefixFrom(MetadataIP, 32)}
	}
	if !pl.addNamespace(ns) {
		return
	}
	if len(inside) > 0 {
		pl.p.routerMetadata[ns.Name] = inside
	}
	if nat.GatewayDevice == "" || (!nat.GatewayIP.IsValid() && len(nat.FloatingIPs) == 0) {
		pl.p.routers[ns.Name] = firewall.Ruleset{}
		return
	}
	if !nat.GatewayIP.IsValid() {
		nat.SNATSubnets = nil // SNAT needs a source address
	}
	pl.p.routers[ns.Name] = firewall.Ruleset{NAT: nat}
}

func (pl *planner) buildDHCP(d hostapi.DHCP) {
	owner := "DHCP of network " + d.NetworkID
	i, p, ok := pl.leg(owner, d.PortID, netdev.DHCPPortName)
	if !ok {
		return
	}
	if p.NetworkID != d.NetworkID {
		pl.errorf("%s: port %s is on network %s", owner, p.ID, p.NetworkID)
		return
	}
	ns := netdev.Namespace{
		Name:       dhcpNamespace(pl.nsPrefix, d.NetworkID),
		Loopback:   []netip.Prefix{netip.PrefixFrom(MetadataIP, 32)},
		Interfaces: []netdev.Interface{i},
	}
	if !pl.addNamespace(ns) {
		return
	}
	// The DHCP port's address on each subnet: the server identifier and
	// the next hop of the metadata route.
	onSubnet := map[string]netip.Addr{}
	var server netip.Addr
	for _, f := range p.FixedIPs {
		a, err := netip.ParseAddr(f.IPAddress)
		if err != nil || !a.Is4() {
			continue
		}
		onSubnet[f.SubnetID] = a
		if !server.IsValid() {
			server = a
		}
	}
	if !server.IsValid() {
		pl.errorf("%s: port %s has no IPv4 address: no DHCP or metadata service", owner, p.ID)
		return
	}
	svc := serviceSpec{NetworkID: d.NetworkID, Namespace: ns.Name, Interface: i.Name, ServerIP: server}
	mtu := pl.networks[d.NetworkID].MTU
	seen := map[string]bool{}
	for _, l := range d.Leases {
		s, ok := pl.subnets[l.SubnetID]
		if !ok || !s.EnableDHCP || !s.prefix.Addr().Is4() {
			continue
		}
		m, err := net.ParseMAC(l.MAC)
		if err != nil || len(m) != 6 {
			pl.errorf("%s: lease of port %s: MAC %q", owner, l.PortID, l.MAC)
			continue
		}
		ip, err := netip.ParseAddr(l.IP)
		if err != nil || !s.prefix.Contains(ip) {
			pl.errorf("%s: lease of port %s: address %q not in %v", owner, l.PortID, l.IP, s.prefix)
			continue
		}
		if seen[m.String()] {
			continue // one address per MAC: the first IPv4 subnet wins
		}
		seen[m.String()] = true
		lease := dhcp.Lease{
			MAC: m, Address: netip.PrefixFrom(ip, s.prefix.Bits()), MTU: mtu,
			Hostname: strings.TrimSuffix(l.Hostname, "."),
		}
		if gw, err := netip.ParseAddr(s.GatewayIP); err == nil && gw.Is4() {
			lease.Router = gw
		}
		for _, d := range s.DNS {
			if a, err := netip.ParseAddr(d); err == nil && a.Is4() {
				lease.DNS = append(lease.DNS, a)
			}
		}
		if via, ok := onSubnet[l.SubnetID]; ok {
			lease.Routes = append(lease.Routes, dhcp.Route{Dst: netip.PrefixFrom(MetadataIP, 32), Via: via})
		}
		for _, hr := range s.HostRoutes {
			dst, err1 := netip.ParsePrefix(hr.Destination)
			via, err2 := netip.ParseAddr(hr.NextHop)
			if err1 == nil && err2 == nil && dst.Addr().Is4() && via.Is4() {
				lease.Routes = append(lease.Routes, dhcp.Route{Dst: dst.Masked(), Via: via})
			}
		}
		if err := lease.Validate(); err != nil {
			pl.errorf("%s: lease of port %s: %v", owner, l.PortID, err)
			continue
		}
		svc.Leases = append(svc.Leases, lease)
	}
	pl.p.services[d.NetworkID] = svc
}

// buildTaps gives every port that is not a namespace leg or a network
// service port a tap, and its firewall.
func (pl *planner) buildTaps() {
	byNet := map[string]int{}
	for i, n := range pl.p.spec.Networks {
		byNet[n.ID] = i
	}
	for i := range pl.st.Ports {
		p := &pl.st.Ports[i]
		if pl.legs[p.ID] || strings.HasPrefix(p.DeviceOwner, ownerPrefix) {
			continue
		}
		idx, ok := byNet[p.NetworkID]
		if !ok {
			pl.errorf("port %s: network %s not wired on this host", p.ID, p.NetworkID)
			continue
		}
		m, err := parseMAC(p)
		if err != nil {
			pl.errorf("%v", err)
			continue
		}
		pl.p.spec.Networks[idx].Taps = append(pl.p.spec.Networks[idx].Taps, netdev.Tap{PortID: p.ID, MAC: m})
		dev := netdev.TapName(p.ID)
		pl.p.devices[p.ID] = dev
		fp := firewall.Port{Device: dev, MAC: m}
		if !p.AdminStateUp {
			// Wired for the hypervisor but isolated: no address may send,
			// nothing may come in.
			pl.p.down[p.ID] = true
			pl.p.host.Ports = append(pl.p.host.Ports, fp)
			continue
		}
		fp.SecurityDisabled = !p.PortSecurity
		pl.portSecurity(p, &fp)
		pl.p.host.Ports = append(pl.p.host.Ports, fp)
	}
}

// portSecurity fills the allowed addresses and the rules of a port.
func (pl *planner) portSecurity(p *hostapi.Port, fp *firewall.Port) {
	for _, a := range pl.addresses(p) {
		fp.Addresses = append(fp.Addresses, netip.PrefixFrom(a.Addr(), a.Addr().BitLen()))
	}
	for _, ap := range p.AllowedAddressPairs {
		pfx, err := parsePrefixOrAddr(ap.IPAddress)
		if err != nil {
			pl.errorf("port %s: allowed address pair %q: %v", p.ID, ap.IPAddress, err)
			continue
		}
		fp.Addresses = append(fp.Addresses, pfx)
		if ap.MACAddress != "" {
			m, err := net.ParseMAC(ap.MACAddress)
			if err != nil || len(m) != 6 {
				pl.errorf("port %s: allowed address pair MAC %q", p.ID, ap.MACAddress)
				continue
			}
			if !slices.ContainsFunc(append([]net.HardwareAddr{fp.MAC}, fp.ExtraMACs...), func(x net.HardwareAddr) bool { return x.String() == m.String() }) {
				fp.ExtraMACs = append(fp.ExtraMACs, m)
			}
		}
	}
	for _, gid := range p.SecurityGroups {
		g, ok := pl.groups[gid]
		if !ok {
			pl.errorf("port %s: security group %s not in the state", p.ID, gid)
			continue
		}
		for _, r := range g.Rules {
			fr, err := pl.rule(r)
			if err != nil {
				pl.errorf("port %s: security group %s rule %s: %v", p.ID, gid, r.ID, err)
				continue
			}
			fp.Rules = append(fp.Rules, fr)
		}
	}
}

func (pl *planner) rule(r hostapi.Rule) (firewall.Rule, error) {
	fr := firewall.Rule{
		Direction: firewall.Direction(r.Direction), EtherType: firewall.EtherType(r.EtherType),
		Protocol: r.Protocol, PortMin: r.PortRangeMin, PortMax: r.PortRangeMax,
	}
	if fr.Direction != firewall.Ingress && fr.Direction != firewall.Egress {
		return fr, fmt.Errorf("direction %q", r.Direction)
	}
	if fr.EtherType == "" {
		fr.EtherType = firewall.IPv4
	}
	if r.RemoteIPPrefix != "" {
		pfx, err := parsePrefixOrAddr(r.RemoteIPPrefix)
		if err != nil {
			return fr, fmt.Errorf("remote_ip_prefix %q: %w", r.RemoteIPPrefix, err)
		}
		fr.Remote = []netip.Prefix{pfx}
	}
	if r.RemoteGroupID != "" {
		fr.RemoteGroup = true
		fr.Remote = nil
		if g, ok := pl.groups[r.RemoteGroupID]; ok {
			for _, m := range g.Members {
				if pfx, err := parsePrefixOrAddr(m); err == nil {
					fr.Remote = append(fr.Remote, pfx)
				}
			}
		}
	}
	return fr, nil
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// err joins the plan's errors.
func (p *plan) err() error { return errors.Join(p.errs...) }
