package hostctl

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/network"
	"github.com/nubo-cloud/nubo/internal/store"
)

// State returns the desired state of host hostID (see the package comment).
func (c *Control) State(ctx context.Context, hostID string) (*hostapi.State, error) {
	v, err := readView(ctx, c.st)
	if err != nil {
		return nil, err
	}
	st, err := v.state(hostID)
	if err != nil {
		return nil, err
	}
	err = c.st.Read(ctx, func(tx store.ReadTx) (err error) {
		now := time.Now()
		if st.Consoles, err = pendingConsoles(tx, hostID, now); err != nil {
			return err
		}
		st.Tunnels, err = pendingTunnels(tx, hostID, now)
		return err
	})
	return st, err
}

// state builds a host's desired state from the view.
func (v *view) state(hostID string) (*hostapi.State, error) {
	h := v.hostByID[hostID]
	if h == nil {
		return nil, hostapi.ErrNotFound
	}
	out := &hostapi.State{Revision: v.rev, HostID: h.ID, Servers: []hostapi.Server{}, Networks: []hostapi.Network{},
		Ports: []hostapi.Port{}, SecurityGroups: []hostapi.SecurityGroup{}}
	if !isReal(h) {
		return out, nil
	}
	var ports []*network.Port
	have := map[string]bool{}
	addPort := func(p *network.Port) {
		if p != nil && !have[p.ID] {
			have[p.ID] = true
			ports = append(ports, p)
		}
	}
	for i := range v.servers {
		sv := &v.servers[i]
		if !onHost(sv, h.ID) {
			continue
		}
		hs := serverOf(sv, h.ID)
		for _, sp := range sv.Ports {
			if p := v.portByID[sp.ID]; p != nil && !slices.Contains(hs.Ports, p.ID) {
				hs.Ports = append(hs.Ports, p.ID)
				addPort(p)
			}
		}
		for j := range v.topo.Ports {
			if p := &v.topo.Ports[j]; p.DeviceID == sv.ID && !slices.Contains(hs.Ports, p.ID) {
				hs.Ports = append(hs.Ports, p.ID)
				addPort(p)
			}
		}
		out.Servers = append(out.Servers, hs)
	}
	// Ports bound here by name (DHCP legs on the network node, ports an
	// admin bound), unless they belong to a server placed elsewhere.
	for i := range v.topo.Ports {
		p := &v.topo.Ports[i]
		if p.Binding.HostID != h.Name || isRouterLeg(p) {
			continue
		}
		if sv := v.serverByID[p.DeviceID]; sv != nil && !onHost(sv, h.ID) {
			continue
		}
		addPort(p)
	}
	if h == v.node {
		for i := range v.topo.Routers {
			r := &v.topo.Routers[i]
			if !v.serves(r) {
				continue
			}
			hr := hostapi.Router{ID: r.ID, AdminStateUp: r.AdminStateUp, Routes: routes(r.Routes)}
			if r.Gateway != nil {
				hr.GatewayPortID, hr.EnableSNAT = r.Gateway.PortID, r.Gateway.EnableSNAT
			}
			for _, p := range v.routerLegs(r) {
				addPort(p)
				if p.DeviceOwner == network.OwnerRouterInterface {
					hr.InterfacePortIDs = append(hr.InterfacePortIDs, p.ID)
				} else if hr.GatewayPortID == "" {
					hr.GatewayPortID = p.ID
				}
			}
			for _, f := range v.topo.FloatingIPs {
				if f.RouterID == r.ID && f.PortID != "" && f.FixedIPAddress != "" {
					hr.FloatingIPs = append(hr.FloatingIPs, hostapi.FloatingIP{ID: f.ID, External: f.FloatingIPAddress, Internal: f.FixedIPAddress, PortID: f.PortID})
				}
			}
			out.Routers = append(out.Routers, hr)
		}
	}
	var netIDs, sgIDs []string
	for _, p := range ports {
		out.Ports = append(out.Ports, hostPort(p))
		if !slices.Contains(netIDs, p.NetworkID) {
			netIDs = append(netIDs, p.NetworkID)
		}
		for _, g := range p.SecurityGroups {
			if !slices.Contains(sgIDs, g) {
				sgIDs = append(sgIDs, g)
			}
		}
		if p.DeviceOwner == network.OwnerDHCP && p.Binding.HostID == h.Name && len(v.dhcpSubnets(p.NetworkID)) > 0 {
			out.DHCP = append(out.DHCP, v.dhcp(p))
		}
	}
	slices.Sort(netIDs)
	for _, id := range netIDs {
		if n := v.netByID[id]; n != nil {
			out.Networks = append(out.Networks, v.hostNetwork(n, h))
		}
	}
	slices.Sort(sgIDs)
	for _, id := range sgIDs {
		out.SecurityGroups = append(out.SecurityGroups, v.securityGroup(id))
	}
	return out, nil
}

// serverOf is a server as host hostID sees it (the old flavor on the
// source host of a resize).
func serverOf(sv *compute.Server, hostID string) hostapi.Server {
	f := sv.Flavor
	if sv.OldFlavor != nil && sv.OldHostID == hostID && sv.HostID != hostID {
		f = *sv.OldFlavor
	}
	hs := hostapi.Server{
		ID: sv.ID, Name: sv.Name, ProjectID: sv.ProjectID,
		TaskState: sv.TaskState, VMState: sv.VMState, PrevVMState: sv.PrevVMState, PowerState: sv.PowerState,
		Deleted: sv.Deleted || sv.TaskState == compute.TaskDeleting,
		VCPUs:   int(f.VCPUs), MemoryMB: int(f.RAM), RootGB: int(f.Disk), EphemeralGB: int(f.Ephemeral), SwapMB: int(f.Swap),
		HostID: sv.HostID, OldHostID: sv.OldHostID, ImageID: sv.ImageID, RescueImageID: sv.RescueImageID, SnapshotImageID: sv.SnapshotImageID,
		ConfigDrive: sv.ConfigDrive, Ports: []string{},
	}
	for _, a := range sv.VolumeAttachments {
		hs.Volumes = append(hs.Volumes, hostapi.Volume{VolumeID: a.VolumeID, AttachmentID: a.AttachmentID, Path: a.Path, Format: a.Format,
			ReadOnly: a.ReadOnly, Boot: a.Boot, Device: a.Device, SizeGB: a.SizeGB, Detaching: a.State == compute.VolumeDetaching})
	}
	return hs
}

func routes(rs []network.Route) []hostapi.Route {
	var out []hostapi.Route
	for _, r := range rs {
		out = append(out, hostapi.Route{Destination: r.Destination, NextHop: r.NextHop})
	}
	return out
}

func hostPort(p *network.Port) hostapi.Port {
	hp := hostapi.Port{ID: p.ID, NetworkID: p.NetworkID, MAC: p.MACAddress, DeviceID: p.DeviceID, DeviceOwner: p.DeviceOwner,
		AdminStateUp: p.AdminStateUp, Status: p.Status, FixedIPs: []hostapi.FixedIP{}, PortSecurity: p.PortSecurityEnabled,
		SecurityGroups: slices.Clone(p.SecurityGroups)}
	for _, ip := range p.FixedIPs {
		hp.FixedIPs = append(hp.FixedIPs, hostapi.FixedIP{SubnetID: ip.SubnetID, IPAddress: ip.IPAddress})
	}
	for _, a := range p.AllowedAddressPairs {
		mac := a.MACAddress
		if strings.EqualFold(mac, p.MACAddress) {
			mac = ""
		}
		hp.AllowedAddressPairs = append(hp.AllowedAddressPairs, hostapi.AddressPair{IPAddress: a.IPAddress, MACAddress: mac})
	}
	return hp
}

// hostNetwork is network n as host h wires it.
func (v *view) hostNetwork(n *network.Network, h *compute.Host) hostapi.Network {
	hn := hostapi.Network{ID: n.ID, Type: n.NetworkType, PhysicalNetwork: n.PhysicalNetwork, MTU: n.MTU, External: n.External, Subnets: []hostapi.Subnet{}}
	if n.SegmentationID != nil && *n.SegmentationID > 0 {
		hn.SegmentationID = uint32(*n.SegmentationID)
	}
	for _, sn := range v.netSubnets[n.ID] {
		hs := hostapi.Subnet{ID: sn.ID, IPVersion: sn.IPVersion, CIDR: sn.CIDR, GatewayIP: sn.GatewayIP, EnableDHCP: sn.EnableDHCP,
			DNS: slices.Clone(sn.DNSNameservers), HostRoutes: routes(sn.HostRoutes)}
		hn.Subnets = append(hn.Subnets, hs)
	}
	for _, p := range v.netPorts[n.ID] {
		for _, o := range v.portHosts(p) {
			if o.ID != h.ID && o.HostIP != "" && o.HostIP != h.HostIP && !slices.Contains(hn.Remotes, o.HostIP) {
				hn.Remotes = append(hn.Remotes, o.HostIP)
			}
		}
	}
	slices.Sort(hn.Remotes)
	return hn
}

// securityGroup is a group with its rules and the fixed IPs of every port
// in it.
func (v *view) securityGroup(id string) hostapi.SecurityGroup {
	g := hostapi.SecurityGroup{ID: id, Rules: []hostapi.Rule{}}
	for _, r := range v.topo.Rules {
		if r.SecurityGroupID != id {
			continue
		}
		g.Rules = append(g.Rules, hostapi.Rule{ID: r.ID, Direction: r.Direction, EtherType: r.EtherType, Protocol: r.Protocol,
			PortRangeMin: r.PortRangeMin, PortRangeMax: r.PortRangeMax, RemoteIPPrefix: r.RemoteIPPrefix, RemoteGroupID: r.RemoteGroupID})
	}
	for _, p := range v.topo.Ports {
		if !slices.Contains(p.SecurityGroups, id) {
			continue
		}
		for _, ip := range p.FixedIPs {
			if !slices.Contains(g.Members, ip.IPAddress) {
				g.Members = append(g.Members, ip.IPAddress)
			}
		}
	}
	slices.Sort(g.Members)
	return g
}

// dhcp is the DHCP service of DHCP port p's network: a lease for every
// address of every other port on its DHCP-enabled IPv4 subnets.
func (v *view) dhcp(p *network.Port) hostapi.DHCP {
	d := hostapi.DHCP{NetworkID: p.NetworkID, PortID: p.ID, Leases: []hostapi.Lease{}}
	subnets := v.dhcpSubnets(p.NetworkID)
	for _, q := range v.netPorts[p.NetworkID] {
		if q.DeviceOwner == network.OwnerDHCP {
			continue
		}
		for _, ip := range q.FixedIPs {
			if slices.Contains(subnets, ip.SubnetID) {
				d.Leases = append(d.Leases, hostapi.Lease{PortID: q.ID, MAC: q.MACAddress, IP: ip.IPAddress, SubnetID: ip.SubnetID, Hostname: v.leaseHostname(q, ip.IPAddress)})
			}
		}
	}
	return d
}

// leaseHostname is the name DHCP hands out: the port's dns_name, its
// server's hostname, or Neutron's "host-<ip with dashes>".
func (v *view) leaseHostname(p *network.Port, ip string) string {
	if p.DNSName != "" {
		return p.DNSName
	}
	if sv := v.serverByID[p.DeviceID]; sv != nil && sv.Hostname != "" {
		return sv.Hostname
	}
	return "host-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
}
