package hostctl

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/network"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// fakeDriver is the driver of simulated hosts (internal/compute/fakehost).
const fakeDriver = "fake"

// view is compute's hosts and servers and the whole network topology read
// in one snapshot, with the indexes State, Metadata and the DHCP reconciler
// need.
type view struct {
	rev        int64
	hosts      []compute.Host // by Seq
	hostByID   map[string]*compute.Host
	hostByName map[string]*compute.Host
	servers    []compute.Server // by ID
	serverByID map[string]*compute.Server
	topo       *network.Topology
	netByID    map[string]*network.Network
	subnetByID map[string]*network.Subnet
	netSubnets map[string][]*network.Subnet // by network, subnets in ID order
	netPorts   map[string][]*network.Port   // by network, ports in ID order
	portByID   map[string]*network.Port
	routerByID map[string]*network.Router
	legs       map[string][]*network.Port // by router, gateway and interfaces in ID order
	// node is the network node (nil if none).
	node *compute.Host
	// active holds the networks with a non-network:* port on a real host.
	active map[string]bool
}

// readView reads everything in one read transaction.
func readView(ctx context.Context, st store.Store) (*view, error) {
	v := &view{}
	err := st.Read(ctx, func(tx store.ReadTx) error {
		v.rev = tx.Revision()
		var err error
		if v.hosts, err = store.List[compute.Host](tx, compute.KindHost, store.ListOptions{}); err != nil {
			return err
		}
		if v.servers, err = store.List[compute.Server](tx, compute.KindServer, store.ListOptions{}); err != nil {
			return err
		}
		if err := volumeSizes(tx, v.servers); err != nil {
			return err
		}
		v.topo, err = network.ReadTopology(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	v.index()
	return v, nil
}

// volumeSizes raises the size of each attached volume to the volume's
// own: an in-use volume extended through Cinder (os-extend at 3.42) has its
// new size only in its volume record, and the host grows it live when its
// desired size goes up.
func volumeSizes(tx store.ReadTx, servers []compute.Server) error {
	for i := range servers {
		for j := range servers[i].VolumeAttachments {
			a := &servers[i].VolumeAttachments[j]
			if a.State != compute.VolumeAttached {
				continue
			}
			vol, err := store.Get[volume.Volume](tx, volume.KindVolume, a.VolumeID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if int(vol.Size) > a.SizeGB {
				a.SizeGB = int(vol.Size)
			}
		}
	}
	return nil
}

func (v *view) index() {
	slices.SortFunc(v.hosts, func(a, b compute.Host) int { return cmp.Compare(a.Seq, b.Seq) })
	v.hostByID, v.hostByName = map[string]*compute.Host{}, map[string]*compute.Host{}
	for i := range v.hosts {
		h := &v.hosts[i]
		v.hostByID[h.ID], v.hostByName[h.Name] = h, h
		if v.node == nil && h.NetworkNode && isReal(h) {
			v.node = h
		}
	}
	v.serverByID = map[string]*compute.Server{}
	for i := range v.servers {
		v.serverByID[v.servers[i].ID] = &v.servers[i]
	}
	t := v.topo
	v.netByID, v.subnetByID = map[string]*network.Network{}, map[string]*network.Subnet{}
	v.netSubnets, v.netPorts = map[string][]*network.Subnet{}, map[string][]*network.Port{}
	v.portByID, v.routerByID, v.legs = map[string]*network.Port{}, map[string]*network.Router{}, map[string][]*network.Port{}
	for i := range t.Networks {
		v.netByID[t.Networks[i].ID] = &t.Networks[i]
	}
	for i := range t.Subnets {
		sn := &t.Subnets[i]
		v.subnetByID[sn.ID] = sn
		v.netSubnets[sn.NetworkID] = append(v.netSubnets[sn.NetworkID], sn)
	}
	for i := range t.Ports {
		p := &t.Ports[i]
		v.portByID[p.ID] = p
		v.netPorts[p.NetworkID] = append(v.netPorts[p.NetworkID], p)
		if isRouterLeg(p) {
			v.legs[p.DeviceID] = append(v.legs[p.DeviceID], p)
		}
	}
	for i := range t.Routers {
		v.routerByID[t.Routers[i].ID] = &t.Routers[i]
	}
	v.active = map[string]bool{}
	for i := range t.Ports {
		p := &t.Ports[i]
		if strings.HasPrefix(p.DeviceOwner, "network:") || v.active[p.NetworkID] {
			continue
		}
		if len(v.portHosts(p)) > 0 {
			v.active[p.NetworkID] = true
		}
	}
}

// isReal reports whether h runs servers for real (not the fake driver).
func isReal(h *compute.Host) bool { return h != nil && h.Driver != fakeDriver }

// onHost reports whether server sv is (also) placed on host id.
func onHost(sv *compute.Server, id string) bool {
	return !sv.Deleted && (sv.HostID == id || sv.OldHostID == id)
}

func isRouterLeg(p *network.Port) bool {
	return p.DeviceOwner == network.OwnerRouterInterface || p.DeviceOwner == network.OwnerRouterGateway
}

// portHosts returns the real hosts a port lives on: its binding host, the
// hosts of the server owning it and, for router legs of a served router,
// the network node.
func (v *view) portHosts(p *network.Port) []*compute.Host {
	var out []*compute.Host
	add := func(h *compute.Host) {
		if isReal(h) && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	if isRouterLeg(p) {
		if r := v.routerByID[p.DeviceID]; r != nil && v.serves(r) {
			add(v.node)
		}
		return out
	}
	if h := v.hostByName[p.Binding.HostID]; h != nil {
		if sv := v.serverByID[p.DeviceID]; sv == nil || onHost(sv, h.ID) {
			add(h)
		}
	}
	if sv := v.serverByID[p.DeviceID]; sv != nil && !sv.Deleted {
		add(v.hostByID[sv.HostID])
		add(v.hostByID[sv.OldHostID])
	}
	return out
}

// routerLegs returns the router's ports (gateway and interfaces) in ID
// order.
func (v *view) routerLegs(r *network.Router) []*network.Port { return v.legs[r.ID] }

// serves reports whether the network node serves router r: it has a
// gateway or interfaces, and one of the networks it touches is active.
func (v *view) serves(r *network.Router) bool {
	if v.node == nil {
		return false
	}
	for _, p := range v.routerLegs(r) {
		if v.active[p.NetworkID] {
			return true
		}
	}
	return false
}

// dhcpSubnets returns the IDs of a network's DHCP-enabled IPv4 subnets.
func (v *view) dhcpSubnets(networkID string) []string {
	return network.DHCPSubnets(v.topo.Subnets, networkID)
}

// wantsDHCP reports whether the network node should serve DHCP on a network.
func (v *view) wantsDHCP(networkID string) bool {
	return v.node != nil && v.active[networkID] && len(v.dhcpSubnets(networkID)) > 0
}
