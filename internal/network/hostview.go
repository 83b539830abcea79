package network

import (
	"context"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// This file is the control plane's side door into Networking: what the
// host-facing code (internal/hostctl) reads and writes on behalf of host
// agents. Nothing here checks policy; no API handler may call it.

// Topology is every networking record, read from one snapshot.
type Topology struct {
	Networks       []Network
	Subnets        []Subnet
	Ports          []Port
	Routers        []Router
	FloatingIPs    []FloatingIP
	SecurityGroups []SecurityGroup
	Rules          []SecurityGroupRule
}

// ReadTopology reads every network, subnet, port, router, floating IP,
// security group and rule inside tx, so a caller can combine them with other
// services' records read in the same snapshot.
func ReadTopology(tx store.ReadTx) (*Topology, error) {
	t := &Topology{}
	var err error
	if t.Networks, err = store.List[Network](tx, kindNetwork, store.ListOptions{}); err != nil {
		return nil, err
	}
	if t.Subnets, err = store.List[Subnet](tx, kindSubnet, store.ListOptions{}); err != nil {
		return nil, err
	}
	if t.Ports, err = store.List[Port](tx, kindPort, store.ListOptions{}); err != nil {
		return nil, err
	}
	if t.Routers, err = store.List[Router](tx, kindRouter, store.ListOptions{}); err != nil {
		return nil, err
	}
	if t.FloatingIPs, err = store.List[FloatingIP](tx, kindFloatingIP, store.ListOptions{}); err != nil {
		return nil, err
	}
	if t.SecurityGroups, err = store.List[SecurityGroup](tx, kindSecGroup, store.ListOptions{}); err != nil {
		return nil, err
	}
	if t.Rules, err = store.List[SecurityGroupRule](tx, kindSGRule, store.ListOptions{}); err != nil {
		return nil, err
	}
	return t, nil
}

// IsKind reports whether a change-feed kind is a Networking record.
func IsKind(kind string) bool { return strings.HasPrefix(kind, "network.") }

// SetPortStatus sets a port's status (ACTIVE, DOWN, ERROR) as its host
// observed it, bumping revision_number as Neutron does when the status
// changes. It reports whether it changed anything; a port that no longer
// exists is a NotFound fault.
func (s *Service) SetPortStatus(ctx context.Context, id, status string) (bool, error) {
	changed := false
	err := s.write(ctx, func(tx store.Tx) error {
		changed = false
		p, err := store.Get[Port](tx, kindPort, id)
		if isNotFound(err) {
			return notFound("PortNotFound", "Port", id)
		}
		if err != nil {
			return err
		}
		if p.Status == status {
			return nil
		}
		p.Status = status
		if err := s.touch(&p.Meta, nil); err != nil {
			return err
		}
		changed = true
		return put(tx, kindPort, p.NetworkID, p, portUnique(p), false)
	})
	return changed, err
}

// DHCPDeviceID is the device_id of the DHCP port a host serves a network
// with, as Neutron's DHCP agent names it: "dhcp<host-id>-<network-id>".
func DHCPDeviceID(hostID, networkID string) string { return "dhcp" + hostID + "-" + networkID }

// ManagedDHCPPort reports whether p is a DHCP port the control plane made
// (device_owner network:dhcp and a device_id named by DHCPDeviceID); DHCP
// ports a user created are left alone.
func ManagedDHCPPort(p *Port) bool {
	return p.DeviceOwner == OwnerDHCP && strings.HasPrefix(p.DeviceID, "dhcp") && strings.HasSuffix(p.DeviceID, "-"+p.NetworkID)
}

// DHCPSubnets returns the IDs of the subnets of a network a DHCP port needs
// an address on: IPv4 with enable_dhcp.
func DHCPSubnets(subnets []Subnet, networkID string) []string {
	var out []string
	for i := range subnets {
		if sn := &subnets[i]; sn.NetworkID == networkID && sn.IPVersion == 4 && sn.EnableDHCP {
			out = append(out, sn.ID)
		}
	}
	slices.Sort(out)
	return out
}

// SyncDHCPPort converges the managed DHCP port of a network in one
// transaction: with deviceID set, exactly one managed DHCP port with that
// device_id, bound to host, with one address on each IPv4 subnet that has
// DHCP enabled (none if there is no such subnet); with deviceID "", none.
// Other managed DHCP ports of the network are deleted. It returns the port
// (nil when there is none) and whether it wrote anything. The port belongs
// to the network's project and counts against its quota, as Neutron's do.
func (s *Service) SyncDHCPPort(ctx context.Context, networkID, deviceID, host string) (*Port, bool, error) {
	var out *Port
	wrote := false
	admin := &policy.Credentials{UserID: "nubo-network", UserName: "neutron", Roles: []string{policy.RoleAdmin, policy.RoleMember, policy.RoleReader}}
	err := s.write(ctx, func(tx store.Tx) error {
		out, wrote = nil, false
		n, err := store.Get[Network](tx, kindNetwork, networkID)
		if isNotFound(err) {
			return notFound("NetworkNotFound", "Network", networkID)
		}
		if err != nil {
			return err
		}
		subnets, err := store.List[Subnet](tx, kindSubnet, store.ListOptions{Ref: networkID})
		if err != nil {
			return err
		}
		want := DHCPSubnets(subnets, networkID)
		if len(want) == 0 {
			deviceID = ""
		}
		ports, err := store.List[Port](tx, kindPort, store.ListOptions{Ref: networkID})
		if err != nil {
			return err
		}
		for i := range ports {
			p := &ports[i]
			if !ManagedDHCPPort(p) {
				continue
			}
			if p.DeviceID != deviceID || out != nil {
				if err := s.deletePortTx(tx, p); err != nil {
					return err
				}
				wrote = true
				continue
			}
			out = p
		}
		if deviceID == "" {
			return nil
		}
		ps := newPools(tx)
		if out == nil {
			req := make([]FixedIP, 0, len(want))
			for _, id := range want {
				req = append(req, FixedIP{SubnetID: id})
			}
			owner := OwnerDHCP
			spec := PortSpec{NetworkID: networkID, ProjectID: n.ProjectID, DeviceID: &deviceID, DeviceOwner: &owner,
				HostID: &host, FixedIPs: &req, system: true}
			c := *admin
			c.ProjectID = n.ProjectID
			if out, err = s.createPortTx(tx, &c, ps, n, n.ProjectID, spec); err != nil {
				return err
			}
			wrote = true
			return ps.flush()
		}
		// Bring the existing port in line: binding host and one address
		// per wanted subnet (addresses on other subnets are dropped).
		var keep, drop []FixedIP
		have := map[string]bool{}
		for _, ip := range out.FixedIPs {
			if slices.Contains(want, ip.SubnetID) && !have[ip.SubnetID] {
				have[ip.SubnetID] = true
				keep = append(keep, ip)
			} else {
				drop = append(drop, ip)
			}
		}
		var add []FixedIP
		for _, id := range want {
			if !have[id] {
				add = append(add, FixedIP{SubnetID: id})
			}
		}
		if out.Binding.HostID == host && len(drop) == 0 && len(add) == 0 {
			return nil
		}
		if err := ps.release(drop); err != nil {
			return err
		}
		if len(add) > 0 {
			ips, err := ps.allocate(n, &add, out.MACAddress, out.DeviceOwner)
			if err != nil {
				return err
			}
			keep = append(keep, ips...)
		}
		out.FixedIPs = orEmpty(keep)
		out.Binding.HostID = host
		s.bind(out)
		if err := s.touch(&out.Meta, nil); err != nil {
			return err
		}
		if err := put(tx, kindPort, networkID, out, portUnique(out), false); err != nil {
			return err
		}
		wrote = true
		return ps.flush()
	})
	if err != nil {
		return nil, false, err
	}
	return out, wrote, nil
}
