package network

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/ipam"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// PortSpec is a create or update request.
type PortSpec struct {
	Name                *string           `json:"name"`
	Description         *string           `json:"description"`
	ProjectID           string            `json:"project_id"`
	TenantID            string            `json:"tenant_id"`
	NetworkID           string            `json:"network_id"`
	MACAddress          *string           `json:"mac_address"`
	AdminStateUp        *bool             `json:"admin_state_up"`
	DeviceID            *string           `json:"device_id"`
	DeviceOwner         *string           `json:"device_owner"`
	FixedIPs            *[]FixedIP        `json:"fixed_ips"`
	AllowedAddressPairs *[]AddressPair    `json:"allowed_address_pairs"`
	SecurityGroups      *[]string         `json:"security_groups"`
	PortSecurityEnabled *bool             `json:"port_security_enabled"`
	HostID              *string           `json:"binding:host_id"`
	VNICType            *string           `json:"binding:vnic_type"`
	Profile             map[string]any    `json:"binding:profile"`
	ExtraDHCPOpts       *[]map[string]any `json:"extra_dhcp_opts"`
	DNSName             *string           `json:"dns_name"`
	Tags                []string          `json:"tags"`
	IfRevision          *int64            `json:"-"`
	// system marks legs the domain creates itself (router gateways).
	system bool
}

func ipKey(subnetID, ip string) string { return "ip:" + subnetID + "/" + ip }

func portUnique(p *Port) []string {
	keys := []string{"mac:" + p.NetworkID + "/" + p.MACAddress}
	for _, ip := range p.FixedIPs {
		keys = append(keys, ipKey(ip.SubnetID, ip.IPAddress))
	}
	return keys
}

// pools caches the IPAM pools a transaction touches and saves the changed
// ones at the end.
type pools struct {
	tx    store.Tx
	m     map[string]*ipam.Pool
	dirty map[string]bool
}

func newPools(tx store.Tx) *pools {
	return &pools{tx: tx, m: map[string]*ipam.Pool{}, dirty: map[string]bool{}}
}

func (ps *pools) get(subnetID string) (*ipam.Pool, error) {
	if p, ok := ps.m[subnetID]; ok {
		return p, nil
	}
	p, err := loadPool(ps.tx, subnetID)
	if err != nil {
		return nil, err
	}
	ps.m[subnetID] = p
	return p, nil
}

func (ps *pools) flush() error {
	for id := range ps.dirty {
		if err := savePool(ps.tx, id, ps.m[id], false); err != nil {
			return err
		}
	}
	clear(ps.dirty)
	return nil
}

func (ps *pools) release(ips []FixedIP) error {
	for _, ip := range ips {
		p, err := ps.get(ip.SubnetID)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		a, err := netip.ParseAddr(ip.IPAddress)
		if err != nil {
			continue
		}
		p.Release(a)
		ps.dirty[ip.SubnetID] = true
	}
	return nil
}

func autoAddress(sn *Subnet) bool {
	return sn.IPVersion == 6 && (sn.IPv6AddressMode == "slaac" || sn.IPv6AddressMode == "dhcpv6-stateless")
}

// allocate assigns the port's fixed IPs: the requested ones, or by default
// one IPv4 and one stateful IPv6 address plus an EUI-64 address on every
// SLAAC subnet.
func (ps *pools) allocate(n *Network, req *[]FixedIP, mac, owner string) ([]FixedIP, error) {
	subnets, err := store.List[Subnet](ps.tx, kindSubnet, store.ListOptions{Ref: n.ID})
	if err != nil {
		return nil, err
	}
	byID := map[string]*Subnet{}
	for i := range subnets {
		byID[subnets[i].ID] = &subnets[i]
	}
	var out []FixedIP
	take := func(sn *Subnet, ip string) error {
		p, err := ps.get(sn.ID)
		if err != nil {
			return err
		}
		if ip == "" {
			if autoAddress(sn) {
				a, err := ipam.EUI64(p.Prefix, mac)
				if err != nil {
					return err
				}
				ip = a.String()
			} else {
				a, err := p.Allocate()
				if errors.Is(err, ipam.ErrExhausted) {
					return conflict("IpAddressGenerationFailure", "No more IP addresses available on network %s.", n.ID)
				}
				if err != nil {
					return err
				}
				ps.dirty[sn.ID] = true
				out = append(out, FixedIP{SubnetID: sn.ID, IPAddress: a.String()})
				return nil
			}
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return invalidInput("'%s' is not a valid IP address", ip)
		}
		if err := p.Reserve(a); errors.Is(err, ipam.ErrOutside) {
			return invalidIPForSubnet(ip)
		} else if errors.Is(err, ipam.ErrInUse) {
			return conflict("IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", ip, sn.ID)
		} else if err != nil {
			return err
		}
		ps.dirty[sn.ID] = true
		out = append(out, FixedIP{SubnetID: sn.ID, IPAddress: a.String()})
		return nil
	}
	if req == nil {
		var v4, v6 bool
		for i := range subnets {
			sn := &subnets[i]
			switch {
			case autoAddress(sn):
				if strings.HasPrefix(owner, "network:router") {
					continue
				}
			case sn.IPVersion == 4 && !v4, sn.IPVersion == 6 && !v6:
			default:
				continue
			}
			if err := take(sn, ""); err != nil {
				if isIPGenFailure(err) {
					continue
				}
				return nil, err
			}
			if sn.IPVersion == 4 {
				v4 = true
			} else if !autoAddress(sn) {
				v6 = true
			}
		}
		if len(subnets) > 0 && len(out) == 0 {
			return nil, conflict("IpAddressGenerationFailure", "No more IP addresses available on network %s.", n.ID)
		}
		return orEmpty(out), nil
	}
	for _, r := range *req {
		if r.SubnetID == "" && r.IPAddress == "" {
			return nil, invalidInput("Exceeded maximum amount of fixed ips per port or empty fixed_ips entry")
		}
		var sn *Subnet
		if r.SubnetID != "" {
			sn = byID[r.SubnetID]
			if sn == nil {
				if _, err := ps.tx.Get(kindSubnet, r.SubnetID); isNotFound(err) {
					return nil, notFound("SubnetNotFound", "Subnet", r.SubnetID)
				}
				return nil, invalidInput("Failed to create port on network %s, because fixed_ips included invalid subnet %s", n.ID, r.SubnetID)
			}
		} else {
			a, err := netip.ParseAddr(r.IPAddress)
			if err != nil {
				return nil, invalidInput("'%s' is not a valid IP address", r.IPAddress)
			}
			for i := range subnets {
				if pr, err := netip.ParsePrefix(subnets[i].CIDR); err == nil && pr.Contains(a) {
					sn = &subnets[i]
					break
				}
			}
			if sn == nil {
				fe := badRequest("IP address %s is not a valid IP for any of the subnets on the specified network.", r.IPAddress)
				return nil, fe
			}
		}
		if r.IPAddress != "" {
			if pr, err := netip.ParsePrefix(sn.CIDR); err == nil {
				if a, err := netip.ParseAddr(r.IPAddress); err == nil && !pr.Contains(a) {
					return nil, invalidIPForSubnet(r.IPAddress)
				}
			}
		}
		if err := take(sn, r.IPAddress); err != nil {
			return nil, err
		}
	}
	return orEmpty(out), nil
}

func invalidIPForSubnet(ip string) error {
	return withType(badRequest("IP address %s is not a valid IP for the specified subnet.", ip), "InvalidIpForSubnet")
}

func isIPGenFailure(err error) bool {
	fe := fault.As(err)
	return fe != nil && fe.Type == "IpAddressGenerationFailure"
}

func validMAC(m string) bool {
	hw, err := net.ParseMAC(m)
	return err == nil && len(hw) == 6 && hw[0]&1 == 0 && m != "00:00:00:00:00:00"
}

func (s *Service) getPort(ctx context.Context, tx store.ReadTx, id string) (*Port, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	p, err := store.Get[Port](tx, kindPort, id)
	if isNotFound(err) || err == nil && !visible(c, p.ProjectID) {
		return nil, notFound("PortNotFound", "Port", id)
	}
	return p, err
}

// resolveGroups checks that every group exists and belongs to project.
func resolveGroups(tx store.ReadTx, c *policy.Credentials, project string, ids []string) ([]string, error) {
	out := []string{}
	for _, id := range ids {
		g, err := store.Get[SecurityGroup](tx, kindSecGroup, id)
		if isNotFound(err) || err == nil && g.ProjectID != project && !c.IsAdmin() && !g.Shared {
			return nil, notFound("SecurityGroupNotFound", "Security group", id)
		}
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func validatePairs(pairs []AddressPair) error {
	for _, ap := range pairs {
		if _, err := netip.ParseAddr(ap.IPAddress); err != nil {
			if _, err := netip.ParsePrefix(ap.IPAddress); err != nil {
				return invalidInput("'%s' is not a valid IP address", ap.IPAddress)
			}
		}
		if ap.MACAddress != "" && !validMAC(ap.MACAddress) {
			return invalidInput("'%s' is not a valid MAC address", ap.MACAddress)
		}
	}
	return nil
}

// CreatePort creates a port and allocates its addresses.
func (s *Service) CreatePort(ctx context.Context, spec PortSpec) (*Port, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	project, err := ownerFor(c, spec.ProjectID, spec.TenantID)
	if err != nil {
		return nil, err
	}
	var p *Port
	err = s.write(ctx, func(tx store.Tx) error {
		n, err := s.getNetwork(ctx, tx, spec.NetworkID)
		if err != nil {
			return err
		}
		ps := newPools(tx)
		p, err = s.createPortTx(tx, c, ps, n, project, spec)
		if err != nil {
			return err
		}
		return ps.flush()
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) createPortTx(tx store.Tx, c *policy.Credentials, ps *pools, n *Network, project string, spec PortSpec) (*Port, error) {
	if spec.NetworkID == "" {
		return nil, badRequest("Failed to parse request. Required attribute 'network_id' not specified")
	}
	if !c.IsAdmin() && (spec.HostID != nil || spec.Profile != nil) {
		return nil, forbidden("(rule:create_port and rule:create_port:binding:host_id) is disallowed by policy")
	}
	if !c.IsAdmin() && !spec.system && n.ProjectID != project && !n.Shared {
		return nil, forbidden("(rule:create_port and rule:create_port:network) is disallowed by policy")
	}
	p := &Port{Meta: s.newMeta(project, str(spec.Name), str(spec.Description)), NetworkID: n.ID,
		AdminStateUp: boolOr(spec.AdminStateUp, true), Status: StatusDown, DeviceID: str(spec.DeviceID), DeviceOwner: str(spec.DeviceOwner),
		AllowedAddressPairs: []AddressPair{}, ExtraDHCPOpts: []map[string]any{}, SecurityGroups: []string{},
		PortSecurityEnabled: boolOr(spec.PortSecurityEnabled, n.PortSecurityEnabled), DNSName: str(spec.DNSName),
		Binding: Binding{HostID: str(spec.HostID), VNICType: "normal", Profile: map[string]any{}, VIFDetails: map[string]any{}}}
	if spec.Tags != nil {
		p.Tags = spec.Tags
	}
	if spec.VNICType != nil {
		p.Binding.VNICType = *spec.VNICType
	}
	if spec.Profile != nil {
		p.Binding.Profile = spec.Profile
	}
	s.bind(p)
	if spec.ExtraDHCPOpts != nil {
		p.ExtraDHCPOpts = orEmpty(*spec.ExtraDHCPOpts)
	}
	if spec.AllowedAddressPairs != nil {
		if err := validatePairs(*spec.AllowedAddressPairs); err != nil {
			return nil, err
		}
		if !p.PortSecurityEnabled && len(*spec.AllowedAddressPairs) > 0 {
			return nil, conflict("AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
		}
		p.AllowedAddressPairs = orEmpty(*spec.AllowedAddressPairs)
	}
	if spec.MACAddress != nil {
		m := strings.ToLower(*spec.MACAddress)
		if !validMAC(m) {
			return nil, invalidInput("'%s' is not a valid MAC address", *spec.MACAddress)
		}
		if _, err := tx.Lookup(kindPort, "mac:"+n.ID+"/"+m); err == nil {
			return nil, conflict("MacAddressInUse", "Unable to complete operation for network %s. The mac address %s is in use.", n.ID, m)
		}
		p.MACAddress = m
	} else {
		for range 16 {
			m := ipam.MAC(ipam.DefaultMACPrefix)
			if _, err := tx.Lookup(kindPort, "mac:"+n.ID+"/"+m); isNotFound(err) {
				p.MACAddress = m
				break
			}
		}
		if p.MACAddress == "" {
			return nil, conflict("MacAddressGenerationFailure", "Unable to generate unique mac on network %s.", n.ID)
		}
	}
	if !strings.HasPrefix(p.DeviceOwner, "network:") && p.PortSecurityEnabled {
		if spec.SecurityGroups != nil {
			gs, err := resolveGroups(tx, c, project, *spec.SecurityGroups)
			if err != nil {
				return nil, err
			}
			p.SecurityGroups = gs
		} else if project != "" {
			g, err := s.ensureDefaultSG(tx, project)
			if err != nil {
				return nil, err
			}
			p.SecurityGroups = []string{g}
		}
	} else if spec.SecurityGroups != nil && len(*spec.SecurityGroups) > 0 {
		if !p.PortSecurityEnabled {
			return nil, badRequest("Port does not have port security binding. Port Security must be enabled and port has to have IP address in order to use security groups.")
		}
		gs, err := resolveGroups(tx, c, project, *spec.SecurityGroups)
		if err != nil {
			return nil, err
		}
		p.SecurityGroups = gs
	}
	ips, err := ps.allocate(n, spec.FixedIPs, p.MACAddress, p.DeviceOwner)
	if err != nil {
		return nil, err
	}
	p.FixedIPs = ips
	if err := s.charge(tx, project, "port", 1); err != nil {
		return nil, err
	}
	if err := put(tx, kindPort, n.ID, p, portUnique(p), true); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, conflict("IpAddressAlreadyAllocated", "IP address or MAC address already allocated on network %s", n.ID)
		}
		return nil, err
	}
	return p, nil
}

// bind fills the binding's result fields: with a host the port is bound to
// a Linux bridge (the data plane wires a tap there); without, unbound.
func (s *Service) bind(p *Port) {
	if p.Binding.HostID == "" {
		p.Binding.VIFType = "unbound"
		p.Binding.VIFDetails = map[string]any{}
		return
	}
	p.Binding.VIFType = "bridge"
	p.Binding.VIFDetails = map[string]any{"port_filter": true, "connectivity": "l2"}
}

// GetPort returns a visible port.
func (s *Service) GetPort(ctx context.Context, id string) (*Port, error) {
	var p *Port
	err := s.read(ctx, func(tx store.ReadTx) error {
		var err error
		p, err = s.getPort(ctx, tx, id)
		return err
	})
	return p, err
}

// ListPorts returns the ports the caller can see.
func (s *Service) ListPorts(ctx context.Context, networkID string) ([]Port, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []Port
	err = s.read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[Port](tx, kindPort, store.ListOptions{Ref: networkID})
		if err != nil {
			return err
		}
		for _, p := range all {
			if visible(c, p.ProjectID) {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

// UpdatePort changes a port; a new fixed_ips list releases the addresses it
// drops and allocates the new ones in the same transaction.
func (s *Service) UpdatePort(ctx context.Context, id string, spec PortSpec) (*Port, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() && (spec.HostID != nil || spec.Profile != nil || spec.MACAddress != nil) {
		return nil, forbidden("rule:update_port:binding:host_id is disallowed by policy")
	}
	var p *Port
	err = s.write(ctx, func(tx store.Tx) error {
		var err error
		if p, err = s.getPort(ctx, tx, id); err != nil {
			return err
		}
		if !canWrite(c, p.ProjectID) {
			return forbidden("rule:update_port is disallowed by policy")
		}
		if spec.NetworkID != "" && spec.NetworkID != p.NetworkID {
			return badRequest("Cannot update read-only attribute network_id")
		}
		if err := s.touch(&p.Meta, spec.IfRevision); err != nil {
			return err
		}
		n, err := store.Get[Network](tx, kindNetwork, p.NetworkID)
		if err != nil {
			return err
		}
		if spec.Name != nil {
			p.Name = *spec.Name
		}
		if spec.Description != nil {
			p.Description = *spec.Description
		}
		if spec.AdminStateUp != nil {
			p.AdminStateUp = *spec.AdminStateUp
		}
		if spec.DeviceID != nil {
			p.DeviceID = *spec.DeviceID
		}
		if spec.DeviceOwner != nil {
			p.DeviceOwner = *spec.DeviceOwner
		}
		if spec.DNSName != nil {
			p.DNSName = *spec.DNSName
		}
		if spec.HostID != nil {
			p.Binding.HostID = *spec.HostID
		}
		if spec.VNICType != nil {
			p.Binding.VNICType = *spec.VNICType
		}
		if spec.Profile != nil {
			p.Binding.Profile = spec.Profile
		}
		s.bind(p)
		if spec.ExtraDHCPOpts != nil {
			p.ExtraDHCPOpts = orEmpty(*spec.ExtraDHCPOpts)
		}
		if spec.MACAddress != nil {
			m := strings.ToLower(*spec.MACAddress)
			if !validMAC(m) {
				return invalidInput("'%s' is not a valid MAC address", *spec.MACAddress)
			}
			if p.Binding.HostID != "" && m != p.MACAddress {
				return conflict("PortBound", "Unable to complete operation on port %s, port is already bound.", id)
			}
			if other, err := tx.Lookup(kindPort, "mac:"+n.ID+"/"+m); err == nil && other != id {
				return conflict("MacAddressInUse", "Unable to complete operation for network %s. The mac address %s is in use.", n.ID, m)
			}
			p.MACAddress = m
		}
		if spec.PortSecurityEnabled != nil {
			p.PortSecurityEnabled = *spec.PortSecurityEnabled
		}
		if spec.SecurityGroups != nil {
			gs, err := resolveGroups(tx, c, p.ProjectID, *spec.SecurityGroups)
			if err != nil {
				return err
			}
			p.SecurityGroups = gs
		}
		if spec.AllowedAddressPairs != nil {
			if err := validatePairs(*spec.AllowedAddressPairs); err != nil {
				return err
			}
			p.AllowedAddressPairs = orEmpty(*spec.AllowedAddressPairs)
		}
		if !p.PortSecurityEnabled {
			if len(p.SecurityGroups) > 0 {
				if spec.PortSecurityEnabled != nil && spec.SecurityGroups == nil {
					return conflict("PortSecurityPortHasSecurityGroup", "Port has security group associated. Cannot disable port security or ip address until security group is removed")
				}
				return badRequest("Port does not have port security binding. Port Security must be enabled and port has to have IP address in order to use security groups.")
			}
			if len(p.AllowedAddressPairs) > 0 {
				return conflict("AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
			}
		}
		ps := newPools(tx)
		if spec.FixedIPs != nil {
			keep := map[string]bool{}
			var fresh []FixedIP
			for _, r := range *spec.FixedIPs {
				held := false
				for _, old := range p.FixedIPs {
					if r.IPAddress != "" && old.IPAddress == r.IPAddress && (r.SubnetID == "" || r.SubnetID == old.SubnetID) {
						keep[old.SubnetID+"/"+old.IPAddress] = true
						held = true
					}
				}
				if !held {
					fresh = append(fresh, r)
				}
			}
			var kept, dropped []FixedIP
			for _, old := range p.FixedIPs {
				if keep[old.SubnetID+"/"+old.IPAddress] {
					kept = append(kept, old)
				} else {
					dropped = append(dropped, old)
				}
			}
			if err := ps.release(dropped); err != nil {
				return err
			}
			ips := []FixedIP{}
			if len(fresh) > 0 {
				if ips, err = ps.allocate(n, &fresh, p.MACAddress, p.DeviceOwner); err != nil {
					return err
				}
			}
			p.FixedIPs = append(orEmpty(kept), ips...)
		}
		if err := put(tx, kindPort, p.NetworkID, p, portUnique(p), false); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return conflict("IpAddressAlreadyAllocated", "IP address already allocated on network %s", n.ID)
			}
			return err
		}
		return ps.flush()
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// DeletePort deletes a port and frees its addresses; router legs go through
// remove_router_interface instead.
func (s *Service) DeletePort(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		p, err := s.getPort(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canWrite(c, p.ProjectID) {
			return forbidden("rule:delete_port is disallowed by policy")
		}
		if p.DeviceOwner == OwnerRouterInterface || p.DeviceOwner == OwnerRouterGateway {
			if _, err := tx.Get(kindRouter, p.DeviceID); err == nil {
				return conflict("L3PortInUse", "Port %s cannot be deleted directly via the port API: has device owner %s.", id, p.DeviceOwner)
			}
		}
		return s.deletePortTx(tx, p)
	})
}

func (s *Service) deletePortTx(tx store.Tx, p *Port) error {
	ps := newPools(tx)
	if err := ps.release(p.FixedIPs); err != nil {
		return err
	}
	if err := ps.flush(); err != nil {
		return err
	}
	if err := deleteForwardings(tx, func(pf *PortForwarding) bool { return pf.InternalPortID == p.ID }); err != nil {
		return err
	}
	// Floating IPs pointing at the port are disassociated.
	fips, err := store.List[FloatingIP](tx, kindFloatingIP, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, f := range fips {
		if f.PortID == p.ID {
			f.PortID, f.FixedIPAddress, f.RouterID, f.Status = "", "", "", StatusDown
			if err := put(tx, kindFloatingIP, f.ProjectID, &f, fipUnique(&f), false); err != nil {
				return err
			}
		}
	}
	if err := s.charge(tx, p.ProjectID, "port", -1); err != nil {
		return err
	}
	return tx.Delete(kindPort, p.ID)
}
