package network

import (
	"context"
	"net/netip"

	"github.com/nubo-cloud/nubo/internal/ipam"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// FloatingIPSpec is a create or update request. PortID distinguishes absent
// from null (disassociate).
type FloatingIPSpec struct {
	FloatingNetworkID string   `json:"floating_network_id"`
	FloatingIPAddress string   `json:"floating_ip_address"`
	SubnetID          string   `json:"subnet_id"`
	PortID            Nullable `json:"port_id"`
	FixedIPAddress    string   `json:"fixed_ip_address"`
	Description       *string  `json:"description"`
	ProjectID         string   `json:"project_id"`
	TenantID          string   `json:"tenant_id"`
	DNSName           string   `json:"dns_name"`
	DNSDomain         string   `json:"dns_domain"`
	Tags              []string `json:"tags"`
	IfRevision        *int64   `json:"-"`
}

func fipUnique(f *FloatingIP) []string {
	keys := []string{"fip:" + f.FloatingNetworkID + "/" + f.FloatingIPAddress}
	if f.PortID != "" {
		keys = append(keys, "fipport:"+f.PortID+"/"+f.FixedIPAddress)
	}
	return keys
}

func (s *Service) getFIP(ctx context.Context, tx store.ReadTx, id string) (*FloatingIP, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	f, err := store.Get[FloatingIP](tx, kindFloatingIP, id)
	if isNotFound(err) || err == nil && !visible(c, f.ProjectID) {
		return nil, notFound("FloatingIPNotFound", "Floating IP", id)
	}
	return f, err
}

// associate points f at a port's fixed IP through a router that has a
// gateway on f's network and an interface on the fixed IP's subnet.
func (s *Service) associate(ctx context.Context, tx store.Tx, c *policy.Credentials, f *FloatingIP, portID, fixed string) error {
	if portID == "" {
		f.PortID, f.FixedIPAddress, f.RouterID, f.Status = "", "", "", StatusDown
		return nil
	}
	p, err := s.getPort(ctx, tx, portID)
	if err != nil {
		return err
	}
	var ip *FixedIP
	for i := range p.FixedIPs {
		a := netip.MustParseAddr(p.FixedIPs[i].IPAddress)
		if fixed != "" && p.FixedIPs[i].IPAddress == fixed || fixed == "" && a.Is4() {
			ip = &p.FixedIPs[i]
			break
		}
	}
	if ip == nil {
		if fixed != "" {
			return badRequest("Bad floatingip request: Port %s does not have fixed ip %s.", portID, fixed)
		}
		return badRequest("Bad floatingip request: Port %s does not have any IPv4 address.", portID)
	}
	routers, err := store.List[Router](tx, kindRouter, store.ListOptions{})
	if err != nil {
		return err
	}
	routerID := ""
	for _, r := range routers {
		if r.Gateway == nil || r.Gateway.NetworkID != f.FloatingNetworkID {
			continue
		}
		subnets, err := interfaceSubnets(tx, r.ID)
		if err != nil {
			return err
		}
		for _, sn := range subnets {
			if sn.ID == ip.SubnetID {
				routerID = r.ID
			}
		}
	}
	if routerID == "" {
		return notFound("ExternalGatewayForFloatingIPNotFound", "External network "+f.FloatingNetworkID+" is not reachable from subnet "+ip.SubnetID+". Therefore, cannot associate Port", portID+" with a Floating IP")
	}
	if other, err := tx.Lookup(kindFloatingIP, "fipport:"+portID+"/"+ip.IPAddress); err == nil && other != f.ID {
		return conflict("FloatingIPPortAlreadyAssociated", "Cannot associate floating IP %s with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.", f.FloatingIPAddress, portID, ip.IPAddress, f.FloatingNetworkID)
	}
	f.PortID, f.FixedIPAddress, f.RouterID = portID, ip.IPAddress, routerID
	f.Status = StatusDown // ACTIVE once the data plane programs the NAT
	return nil
}

// CreateFloatingIP allocates an address on an external network.
func (s *Service) CreateFloatingIP(ctx context.Context, spec FloatingIPSpec) (*FloatingIP, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	project, err := ownerFor(c, spec.ProjectID, spec.TenantID)
	if err != nil {
		return nil, err
	}
	if spec.FloatingNetworkID == "" {
		return nil, badRequest("Failed to parse request. Required attribute 'floating_network_id' not specified")
	}
	var f *FloatingIP
	err = s.write(ctx, func(tx store.Tx) error {
		n, err := store.Get[Network](tx, kindNetwork, spec.FloatingNetworkID)
		if isNotFound(err) {
			return notFound("NetworkNotFound", "Network", spec.FloatingNetworkID)
		}
		if err != nil {
			return err
		}
		if !n.External {
			return badRequest("Bad floatingip request: Network %s is not a valid external network.", n.ID)
		}
		subnets, err := store.List[Subnet](tx, kindSubnet, store.ListOptions{Ref: n.ID})
		if err != nil {
			return err
		}
		ps := newPools(tx)
		var addr netip.Addr
		var subnetID string
		for _, sn := range subnets {
			if spec.SubnetID != "" && sn.ID != spec.SubnetID || sn.IPVersion != 4 {
				continue
			}
			p, err := ps.get(sn.ID)
			if err != nil {
				return err
			}
			if spec.FloatingIPAddress != "" {
				a, err := netip.ParseAddr(spec.FloatingIPAddress)
				if err != nil {
					return invalidInput("'%s' is not a valid IP address", spec.FloatingIPAddress)
				}
				if !p.Contains(a) {
					continue
				}
				if err := p.Reserve(a); err == ipam.ErrInUse {
					return conflict("IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", a, sn.ID)
				} else if err != nil {
					return err
				}
				addr = a
			} else if a, err := p.Allocate(); err == nil {
				addr = a
			} else {
				continue
			}
			ps.dirty[sn.ID] = true
			subnetID = sn.ID
			break
		}
		if !addr.IsValid() {
			if spec.FloatingIPAddress != "" {
				return badRequest("Bad floatingip request: IP address %s is not a valid IP for the external network %s.", spec.FloatingIPAddress, n.ID)
			}
			return conflict("IpAddressGenerationFailure", "No more IP addresses available on network %s.", n.ID)
		}
		if err := s.charge(tx, project, "floatingip", 1); err != nil {
			return err
		}
		f = &FloatingIP{Meta: s.newMeta(project, "", str(spec.Description)), FloatingNetworkID: n.ID, FloatingSubnetID: subnetID,
			FloatingIPAddress: addr.String(), Status: StatusDown, DNSName: spec.DNSName, DNSDomain: spec.DNSDomain}
		if spec.Tags != nil {
			f.Tags = spec.Tags
		}
		if spec.PortID.Set && !spec.PortID.Null {
			if err := s.associate(ctx, tx, c, f, spec.PortID.Value, spec.FixedIPAddress); err != nil {
				return err
			}
		}
		if err := ps.flush(); err != nil {
			return err
		}
		return put(tx, kindFloatingIP, project, f, fipUnique(f), true)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// GetFloatingIP returns a visible floating IP.
func (s *Service) GetFloatingIP(ctx context.Context, id string) (*FloatingIP, error) {
	var f *FloatingIP
	err := s.read(ctx, func(tx store.ReadTx) error {
		var err error
		f, err = s.getFIP(ctx, tx, id)
		return err
	})
	return f, err
}

// ListFloatingIPs returns the visible floating IPs.
func (s *Service) ListFloatingIPs(ctx context.Context) ([]FloatingIP, error) {
	return listVisible(ctx, s, kindFloatingIP, func(c *policy.Credentials, f *FloatingIP) bool { return visible(c, f.ProjectID) })
}

// UpdateFloatingIP associates (port_id) or disassociates (port_id null).
func (s *Service) UpdateFloatingIP(ctx context.Context, id string, spec FloatingIPSpec) (*FloatingIP, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var f *FloatingIP
	err = s.write(ctx, func(tx store.Tx) error {
		var err error
		if f, err = s.getFIP(ctx, tx, id); err != nil {
			return err
		}
		if !canWrite(c, f.ProjectID) {
			return forbidden("rule:update_floatingip is disallowed by policy")
		}
		if err := s.touch(&f.Meta, spec.IfRevision); err != nil {
			return err
		}
		if spec.Description != nil {
			f.Description = *spec.Description
		}
		if spec.PortID.Set {
			port := spec.PortID.Value
			if spec.PortID.Null {
				port = ""
			}
			if port != "" {
				if pfs, err := tx.List(kindPortForwarding, store.ListOptions{Ref: f.ID}); err != nil {
					return err
				} else if len(pfs) > 0 {
					return conflict("FipInUse", "Floating IP %s has port forwardings; it cannot be associated with a port.", f.ID)
				}
			}
			if err := s.associate(ctx, tx, c, f, port, spec.FixedIPAddress); err != nil {
				return err
			}
		}
		return put(tx, kindFloatingIP, f.ProjectID, f, fipUnique(f), false)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// DeleteFloatingIP releases a floating IP.
func (s *Service) DeleteFloatingIP(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		f, err := s.getFIP(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canWrite(c, f.ProjectID) {
			return forbidden("rule:delete_floatingip is disallowed by policy")
		}
		if err := deleteForwardings(tx, func(pf *PortForwarding) bool { return pf.FloatingIPID == f.ID }); err != nil {
			return err
		}
		ps := newPools(tx)
		if err := ps.release([]FixedIP{{SubnetID: f.FloatingSubnetID, IPAddress: f.FloatingIPAddress}}); err != nil {
			return err
		}
		if err := ps.flush(); err != nil {
			return err
		}
		if err := s.charge(tx, f.ProjectID, "floatingip", -1); err != nil {
			return err
		}
		return tx.Delete(kindFloatingIP, id)
	})
}

// deleteForwardings drops the port forwardings matching fn.
func deleteForwardings(tx store.Tx, fn func(*PortForwarding) bool) error {
	pfs, err := store.List[PortForwarding](tx, kindPortForwarding, store.ListOptions{})
	if err != nil {
		return err
	}
	for i := range pfs {
		if fn(&pfs[i]) {
			if err := tx.Delete(kindPortForwarding, pfs[i].ID); err != nil {
				return err
			}
		}
	}
	return nil
}
