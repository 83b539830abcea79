package hostctl_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/blob/fsblob"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/hostctl"
	"github.com/nubo-cloud/nubo/internal/image"
	"github.com/nubo-cloud/nubo/internal/network"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

// ports is a minimal compute.Ports over the network service (what
// internal/cloud wires, without Nova's fault translations).
type ports struct{ net *network.Service }

func (a ports) port(p *network.Port) compute.Port {
	out := compute.Port{ID: p.ID, NetworkID: p.NetworkID, MAC: p.MACAddress, Status: p.Status, DeviceID: p.DeviceID}
	for _, ip := range p.FixedIPs {
		out.FixedIPs = append(out.FixedIPs, compute.FixedIP{SubnetID: ip.SubnetID, IPAddress: ip.IPAddress, Version: 4})
	}
	return out
}

func (a ports) CreatePort(ctx context.Context, req compute.PortRequest) (compute.Port, error) {
	spec := network.PortSpec{NetworkID: req.NetworkID, ProjectID: req.ProjectID}
	if req.FixedIP != "" {
		spec.FixedIPs = &[]network.FixedIP{{IPAddress: req.FixedIP}}
	}
	p, err := a.net.CreatePort(ctx, spec)
	if err != nil {
		return compute.Port{}, err
	}
	return a.port(p), nil
}

func (a ports) GetPort(ctx context.Context, id string) (compute.Port, error) {
	p, err := a.net.GetPort(ctx, id)
	if err != nil {
		return compute.Port{}, err
	}
	return a.port(p), nil
}

func (a ports) BindPort(ctx context.Context, portID, serverID, zone, host string) error {
	owner := ""
	if serverID != "" {
		owner = "compute:" + zone
	}
	_, err := a.net.UpdatePort(ctx, portID, network.PortSpec{DeviceID: &serverID, DeviceOwner: &owner, HostID: &host})
	return err
}

func (a ports) DeletePort(ctx context.Context, id string) error {
	if err := a.net.DeletePort(ctx, id); err != nil && !fault.Is(err, fault.NotFound) {
		return err
	}
	return nil
}

func (a ports) ListServerPorts(ctx context.Context, serverID string) ([]compute.Port, error) {
	all, err := a.net.ListPorts(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []compute.Port
	for i := range all {
		if all[i].DeviceID == serverID {
			out = append(out, a.port(&all[i]))
		}
	}
	return out, nil
}

func (a ports) AutoNetwork(context.Context) (string, error) {
	return "", fault.New(fault.BadRequest, "no auto network")
}

func (a ports) SecurityGroupID(_ context.Context, nameOrID string) (string, error) {
	return nameOrID, nil
}

type env struct {
	t      *testing.T
	ctx    context.Context
	st     store.Store
	comp   *compute.Service
	net    *network.Service
	images *image.Service
	ctl    *hostctl.Control
	sched  *compute.ServerReconciler
	dhcp   *hostctl.DHCPReconciler
	// proj acts in project p1 as an admin (forced hosts need admin).
	proj    context.Context
	imageID string
}

func creds(project string) context.Context {
	return policy.NewContext(context.Background(), &policy.Credentials{UserID: "u-" + project, ProjectID: project,
		Roles: []string{policy.RoleAdmin, policy.RoleMember, policy.RoleReader}})
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "nubo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	blobs, err := fsblob.Open(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	images := image.New(st, blobs, image.Config{}, log)
	t.Cleanup(images.Close)
	comp := compute.New(st, log)
	comp.SetImages(images)
	if err := comp.Bootstrap(ctx, compute.BootstrapConfig{ControlHost: "ctl"}); err != nil {
		t.Fatal(err)
	}
	net := network.New(st, network.DefaultConfig(), log)
	comp.SetPorts(ports{net: net})
	e := &env{t: t, ctx: ctx, st: st, comp: comp, net: net, images: images, ctl: hostctl.New(st, comp, net, images, log),
		sched: compute.NewServerReconciler(comp), proj: creds("p1")}
	e.dhcp = e.ctl.DHCPReconciler()
	// A public image with bytes.
	im, err := images.Create(e.proj, map[string]any{"name": "cirros", "disk_format": "qcow2", "container_format": "bare", "visibility": "public"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.Upload(e.proj, im.ID, bytes.NewReader([]byte("disk bytes")), 10); err != nil {
		t.Fatal(err)
	}
	e.imageID = im.ID
	return e
}

func (e *env) register(name, ip string, node bool) string {
	e.t.Helper()
	id, err := e.ctl.Register(e.ctx, hostapi.Host{Name: name, HostIP: ip, VCPUs: 8, MemoryMB: 16384, DiskGB: 200, NetworkNode: node, HypervisorType: "QEMU"})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) network(name, cidr string) (*network.Network, *network.Subnet) {
	e.t.Helper()
	n, err := e.net.CreateNetwork(e.proj, network.NetworkSpec{Name: &name})
	if err != nil {
		e.t.Fatal(err)
	}
	dns := []string{"192.0.2.53"}
	sn, err := e.net.CreateSubnet(e.proj, network.SubnetSpec{NetworkID: n.ID, IPVersion: 4, CIDR: &cidr, DNSNameservers: &dns})
	if err != nil {
		e.t.Fatal(err)
	}
	return n, sn
}

// server creates a server on host (forced) with a port on each network,
// schedules it and binds its ports, as the control plane does.
func (e *env) server(name, host string, req compute.CreateServerRequest, nets ...string) *compute.Server {
	e.t.Helper()
	req.Name, req.ImageRef, req.FlavorRef, req.AvailabilityZone = name, e.imageID, "42", "nova:"+host
	for _, n := range nets {
		req.Networks = append(req.Networks, compute.NetworkRequest{UUID: n})
	}
	if len(nets) == 0 {
		req.NoNetwork = true
	}
	res, err := e.comp.CreateServer(e.proj, req)
	if err != nil {
		e.t.Fatal(err)
	}
	id := res.Servers[0].ID
	e.reconcile(id)
	return e.get(id)
}

func (e *env) reconcile(id string) {
	e.t.Helper()
	if err := e.sched.Reconcile(e.ctx, id); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) get(id string) *compute.Server {
	e.t.Helper()
	hs, err := e.comp.ServerOnHost(e.ctx, id)
	if err != nil || hs == nil {
		e.t.Fatalf("server %s: %v", id, err)
	}
	return &hs.Server
}

func (e *env) state(hostID string) *hostapi.State {
	e.t.Helper()
	s, err := e.ctl.State(e.ctx, hostID)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func serverIDs(s *hostapi.State) []string {
	var out []string
	for _, sv := range s.Servers {
		out = append(out, sv.ID)
	}
	return out
}

func findPort(s *hostapi.State, id string) *hostapi.Port {
	for i := range s.Ports {
		if s.Ports[i].ID == id {
			return &s.Ports[i]
		}
	}
	return nil
}

func findNet(s *hostapi.State, id string) *hostapi.Network {
	for i := range s.Networks {
		if s.Networks[i].ID == id {
			return &s.Networks[i]
		}
	}
	return nil
}

func TestRegisterIsIdempotentAndSetsZone(t *testing.T) {
	e := newEnv(t)
	h := hostapi.Host{Name: "cmp1", HostIP: "10.1.0.1", VCPUs: 4, MemoryMB: 8192, DiskGB: 100, AvailabilityZone: "az1"}
	id1, err := e.ctl.Register(e.ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := e.ctl.Register(e.ctx, h)
	if err != nil || id2 != id1 {
		t.Fatalf("second register: %s %v, want %s", id2, err, id1)
	}
	hv, err := e.comp.GetHost(creds("admin"), id1)
	if err != nil {
		t.Fatal(err)
	}
	if hv.Driver != hostctl.Driver || hv.Zone != "az1" || hv.HypervisorHostname != "cmp1" {
		t.Fatalf("host = driver %q zone %q hypervisor %q", hv.Driver, hv.Zone, hv.HypervisorHostname)
	}
	inv := hv.Inventory["MEMORY_MB"]
	if inv.Total != 8192 || inv.Reserved != 512 || inv.AllocationRatio != 1.5 || hv.Inventory["VCPU"].AllocationRatio != 16 {
		t.Fatalf("inventory = %+v", hv.Inventory)
	}
	if _, err := e.ctl.State(e.ctx, "no-such-host"); !errors.Is(err, hostapi.ErrNotFound) {
		t.Fatalf("state of unknown host: %v", err)
	}
}

func TestStateServersPortsNetworksAndGroups(t *testing.T) {
	e := newEnv(t)
	a := e.register("cmp-a", "10.1.0.1", false)
	b := e.register("cmp-b", "10.1.0.2", false)
	c := e.register("cmp-c", "10.1.0.3", false)
	n, sn := e.network("net1", "10.0.0.0/24")

	s1 := e.server("web-1", "cmp-a", compute.CreateServerRequest{}, n.ID)
	s2 := e.server("web-2", "cmp-b", compute.CreateServerRequest{}, n.ID)
	// The fake host ("ctl", bootstrapped) has a server on the network too.
	if _, err := e.comp.RegisterHost(e.ctx, compute.FakeHostSpec("fake-1")); err != nil {
		t.Fatal(err)
	}
	sf := e.server("fake-1", "fake-1", compute.CreateServerRequest{}, n.ID)
	if s1.HostID != a || s2.HostID != b || sf.HostID == "" {
		t.Fatalf("placement: %s %s %s", s1.HostID, s2.HostID, sf.HostID)
	}

	sa := e.state(a)
	if got := serverIDs(sa); !slices.Equal(got, []string{s1.ID}) {
		t.Fatalf("host a servers = %v, want [%s]", got, s1.ID)
	}
	hs := sa.Servers[0]
	if hs.TaskState != compute.TaskSpawning || hs.VCPUs != 1 || hs.MemoryMB != 128 || hs.ImageID != e.imageID || len(hs.Ports) != 1 {
		t.Fatalf("server = %+v", hs)
	}
	port := findPort(sa, hs.Ports[0])
	if port == nil || port.NetworkID != n.ID || len(port.FixedIPs) != 1 || port.FixedIPs[0].SubnetID != sn.ID || len(port.SecurityGroups) != 1 {
		t.Fatalf("port = %+v", port)
	}
	hn := findNet(sa, n.ID)
	if hn == nil || hn.Type != "vxlan" || hn.SegmentationID == 0 || hn.MTU != 1450 || len(hn.Subnets) != 1 || hn.Subnets[0].CIDR != "10.0.0.0/24" {
		t.Fatalf("network = %+v", hn)
	}
	// Host b has a port on the network; the fake host's does not count.
	if !slices.Equal(hn.Remotes, []string{"10.1.0.2"}) {
		t.Fatalf("remotes = %v, want [10.1.0.2]", hn.Remotes)
	}
	if len(sa.SecurityGroups) != 1 || sa.SecurityGroups[0].ID != port.SecurityGroups[0] {
		t.Fatalf("groups = %+v", sa.SecurityGroups)
	}
	g := sa.SecurityGroups[0]
	ip1 := port.FixedIPs[0].IPAddress
	ip2 := e.state(b).Ports[0].FixedIPs[0].IPAddress
	if !slices.Contains(g.Members, ip1) || !slices.Contains(g.Members, ip2) || len(g.Members) != 3 {
		t.Fatalf("members = %v, want %s, %s and the fake server's", g.Members, ip1, ip2)
	}
	remoteGroup := false
	for _, r := range g.Rules {
		remoteGroup = remoteGroup || r.RemoteGroupID == g.ID
	}
	if len(g.Rules) != 4 || !remoteGroup {
		t.Fatalf("rules = %+v", g.Rules)
	}

	if got := serverIDs(e.state(b)); !slices.Equal(got, []string{s2.ID}) {
		t.Fatalf("host b servers = %v", got)
	}
	if sc := e.state(c); len(sc.Servers) != 0 || len(sc.Ports) != 0 || len(sc.Networks) != 0 {
		t.Fatalf("host c state = %+v", sc)
	}
	// The fake host's state is empty and no real host lists its server.
	if sf := e.state(sf.HostID); len(sf.Servers) != 0 || len(sf.Ports) != 0 {
		t.Fatalf("fake host state = %+v", sf)
	}
	for _, h := range []string{a, b, c} {
		if slices.Contains(serverIDs(e.state(h)), sf.ID) {
			t.Fatalf("fake server listed on %s", h)
		}
	}
	if sa.Revision <= 0 {
		t.Fatalf("revision = %d", sa.Revision)
	}
}

func TestReportServerAndPorts(t *testing.T) {
	e := newEnv(t)
	a := e.register("cmp-a", "10.1.0.1", false)
	b := e.register("cmp-b", "10.1.0.2", false)
	n, _ := e.network("net1", "10.0.0.0/24")
	sv := e.server("vm", "cmp-a", compute.CreateServerRequest{}, n.ID)
	if sv.TaskState != compute.TaskSpawning {
		t.Fatalf("task = %q", sv.TaskState)
	}
	rep := hostapi.ServerReport{ServerID: sv.ID, Task: compute.TaskSpawning, VMState: compute.VMActive, PowerState: compute.PowerRunning}
	// Another host's report changes nothing.
	if err := e.ctl.ReportServer(e.ctx, b, rep); err != nil {
		t.Fatal(err)
	}
	if got := e.get(sv.ID); got.TaskState != compute.TaskSpawning {
		t.Fatalf("after foreign report: %s/%s", got.VMState, got.TaskState)
	}
	if err := e.ctl.ReportServer(e.ctx, a, rep); err != nil {
		t.Fatal(err)
	}
	got := e.get(sv.ID)
	if got.VMState != compute.VMActive || got.TaskState != "" || got.PowerState != compute.PowerRunning || got.LaunchedAt == nil {
		t.Fatalf("after report: vm %s task %q power %d", got.VMState, got.TaskState, got.PowerState)
	}
	if err := e.ctl.ReportServer(e.ctx, a, hostapi.ServerReport{ServerID: "nope", Task: "spawning"}); !errors.Is(err, hostapi.ErrNotFound) {
		t.Fatalf("report on unknown server: %v", err)
	}

	portID := sv.Ports[0].ID
	before, err := e.net.GetPort(e.proj, portID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ctl.ReportPorts(e.ctx, b, []hostapi.PortReport{{PortID: portID, Status: "ACTIVE"}}); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.net.GetPort(e.proj, portID); p.Status != network.StatusDown {
		t.Fatalf("foreign host set status %s", p.Status)
	}
	if err := e.ctl.ReportPorts(e.ctx, a, []hostapi.PortReport{{PortID: portID, Status: "ACTIVE"}}); err != nil {
		t.Fatal(err)
	}
	p, err := e.net.GetPort(e.proj, portID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != network.StatusActive || p.Revision != before.Revision+1 {
		t.Fatalf("port status %s revision %d (was %d)", p.Status, p.Revision, before.Revision)
	}
	// Same status again: no new revision.
	if err := e.ctl.ReportPorts(e.ctx, a, []hostapi.PortReport{{PortID: portID, Status: "ACTIVE"}}); err != nil {
		t.Fatal(err)
	}
	if p2, _ := e.net.GetPort(e.proj, portID); p2.Revision != p.Revision {
		t.Fatalf("revision moved on an unchanged status: %d → %d", p.Revision, p2.Revision)
	}
}

func TestDHCPPortLeasesAndNetworkDelete(t *testing.T) {
	e := newEnv(t)
	node := e.register("net-node", "10.1.0.9", true)
	a := e.register("cmp-a", "10.1.0.1", false)
	n, sn := e.network("net1", "10.0.0.0/24")
	other, _ := e.network("idle", "10.9.0.0/24") // no ports on real hosts

	if err := e.dhcp.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if ps, _ := e.net.ListPorts(e.proj, n.ID); len(ps) != 0 {
		t.Fatalf("DHCP port before any server: %+v", ps)
	}
	s1 := e.server("vm1", "cmp-a", compute.CreateServerRequest{}, n.ID)
	s2 := e.server("vm2", "cmp-a", compute.CreateServerRequest{}, n.ID)
	if err := e.dhcp.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	var dhcp *network.Port
	all, _ := e.net.ListPorts(e.proj, "")
	for i := range all {
		if all[i].DeviceOwner == network.OwnerDHCP {
			if dhcp != nil {
				t.Fatalf("two DHCP ports")
			}
			dhcp = &all[i]
		}
	}
	if dhcp == nil || dhcp.NetworkID != n.ID || dhcp.DeviceID != network.DHCPDeviceID(node, n.ID) || dhcp.Binding.HostID != "net-node" ||
		len(dhcp.FixedIPs) != 1 || dhcp.FixedIPs[0].SubnetID != sn.ID {
		t.Fatalf("DHCP port = %+v", dhcp)
	}
	if ps, _ := e.net.ListPorts(e.proj, other.ID); len(ps) != 0 {
		t.Fatalf("DHCP port on a network with no servers: %+v", ps)
	}
	// A second pass changes nothing.
	rev, _ := e.st.Revision(e.ctx)
	if err := e.dhcp.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if rev2, _ := e.st.Revision(e.ctx); rev2 != rev {
		t.Fatalf("idle reconcile wrote: %d → %d", rev, rev2)
	}

	ns := e.state(node)
	if len(ns.DHCP) != 1 || ns.DHCP[0].PortID != dhcp.ID || ns.DHCP[0].NetworkID != n.ID {
		t.Fatalf("node DHCP = %+v", ns.DHCP)
	}
	if findPort(ns, dhcp.ID) == nil || findNet(ns, n.ID) == nil {
		t.Fatalf("node ports/networks miss DHCP: %+v", ns)
	}
	if len(ns.Servers) != 0 {
		t.Fatalf("node has servers: %v", serverIDs(ns))
	}
	leases := map[string]hostapi.Lease{}
	for _, l := range ns.DHCP[0].Leases {
		leases[l.PortID] = l
	}
	for _, sv := range []*compute.Server{s1, s2} {
		l, ok := leases[sv.Ports[0].ID]
		if !ok || l.IP != sv.Ports[0].FixedIPs[0].IPAddress || l.MAC != sv.Ports[0].MAC || l.Hostname != sv.Hostname {
			t.Fatalf("lease for %s = %+v (port %+v)", sv.Name, l, sv.Ports[0])
		}
	}
	if len(leases) != 2 {
		t.Fatalf("leases = %+v", ns.DHCP[0].Leases)
	}
	// Compute and network node see each other.
	if hn := findNet(e.state(a), n.ID); !slices.Equal(hn.Remotes, []string{"10.1.0.9"}) {
		t.Fatalf("compute remotes = %v", hn.Remotes)
	}
	if hn := findNet(ns, n.ID); !slices.Equal(hn.Remotes, []string{"10.1.0.1"}) {
		t.Fatalf("node remotes = %v", hn.Remotes)
	}

	// Delete the servers (the host reports them gone), then the network:
	// the DHCP port does not block the delete and goes with it.
	for _, sv := range []*compute.Server{s1, s2} {
		if err := e.comp.DeleteServer(e.proj, sv.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := e.ctl.ReportServer(e.ctx, a, hostapi.ServerReport{ServerID: sv.ID, Task: compute.TaskDeleting, Gone: true}); err != nil {
			t.Fatal(err)
		}
		e.reconcile(sv.ID) // releases the ports
	}
	if err := e.net.DeleteNetwork(e.proj, n.ID); err != nil {
		t.Fatalf("delete network with its DHCP port: %v", err)
	}
	if _, err := e.net.GetPort(e.proj, dhcp.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("DHCP port after network delete: %v", err)
	}
	if err := e.dhcp.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if ns := e.state(node); len(ns.DHCP) != 0 || len(ns.Ports) != 0 {
		t.Fatalf("node state after delete = %+v", ns)
	}
}

func TestDHCPPortGoesWhenNetworkIdle(t *testing.T) {
	e := newEnv(t)
	e.register("net-node", "10.1.0.9", true)
	a := e.register("cmp-a", "10.1.0.1", false)
	n, sn := e.network("net1", "10.0.0.0/24")
	sv := e.server("vm1", "cmp-a", compute.CreateServerRequest{}, n.ID)
	if err := e.dhcp.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if ps, _ := e.net.ListPorts(e.proj, n.ID); len(ps) != 2 {
		t.Fatalf("ports = %d, want server + DHCP", len(ps))
	}
	// Deleting the subnet is blocked by the server only, never by DHCP.
	if err := e.net.DeleteSubnet(e.proj, sn.ID); !fault.Is(err, fault.Conflict) {
		t.Fatalf("delete subnet in use: %v", err)
	}
	if err := e.comp.DeleteServer(e.proj, sv.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := e.ctl.ReportServer(e.ctx, a, hostapi.ServerReport{ServerID: sv.ID, Task: compute.TaskDeleting, Gone: true}); err != nil {
		t.Fatal(err)
	}
	e.reconcile(sv.ID)
	// The DHCP port's address on the subnet does not block its delete.
	if err := e.net.DeleteSubnet(e.proj, sn.ID); err != nil {
		t.Fatalf("delete subnet with a DHCP port: %v", err)
	}
	ps, _ := e.net.ListPorts(e.proj, n.ID)
	if len(ps) != 1 || ps[0].DeviceOwner != network.OwnerDHCP || len(ps[0].FixedIPs) != 0 {
		t.Fatalf("ports after subnet delete = %+v", ps)
	}
	if err := e.dhcp.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if ps, _ := e.net.ListPorts(e.proj, n.ID); len(ps) != 0 {
		t.Fatalf("DHCP port of an idle network kept: %+v", ps)
	}
}

func TestRouterOnNetworkNode(t *testing.T) {
	e := newEnv(t)
	node := e.register("net-node", "10.1.0.9", true)
	a := e.register("cmp-a", "10.1.0.1", false)
	n, sn := e.network("net1", "10.0.0.0/24")
	r, err := e.net.CreateRouter(e.proj, network.RouterSpec{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.net.AddInterface(e.proj, r.ID, sn.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	// No server on a real host yet: the router is not served.
	if ns := e.state(node); len(ns.Routers) != 0 {
		t.Fatalf("router served without servers: %+v", ns.Routers)
	}
	e.server("vm1", "cmp-a", compute.CreateServerRequest{}, n.ID)
	ns := e.state(node)
	if len(ns.Routers) != 1 || ns.Routers[0].ID != r.ID || !slices.Equal(ns.Routers[0].InterfacePortIDs, []string{info.PortID}) {
		t.Fatalf("routers = %+v", ns.Routers)
	}
	if p := findPort(ns, info.PortID); p == nil || p.DeviceOwner != network.OwnerRouterInterface {
		t.Fatalf("router leg = %+v", p)
	}
	if hn := findNet(e.state(a), n.ID); !slices.Contains(hn.Remotes, "10.1.0.9") {
		t.Fatalf("compute host does not reach the router's node: %v", hn.Remotes)
	}
	if sa := e.state(a); len(sa.Routers) != 0 || findPort(sa, info.PortID) != nil {
		t.Fatalf("compute host serves the router: %+v", sa)
	}
}

func TestMetadataByAddress(t *testing.T) {
	e := newEnv(t)
	e.register("cmp-a", "10.1.0.1", false)
	n, _ := e.network("net1", "10.0.0.0/24")
	if _, err := e.comp.CreateKeypair(e.proj, compute.KeypairRequest{Name: "k1", PublicKey: testKey}); err != nil {
		t.Fatal(err)
	}
	ud := base64.StdEncoding.EncodeToString([]byte("#cloud-config\n"))
	s1 := e.server("alpha", "cmp-a", compute.CreateServerRequest{KeyName: "k1", UserData: &ud, Metadata: map[string]string{"role": "db"}}, n.ID)
	s2 := e.server("beta", "cmp-a", compute.CreateServerRequest{}, n.ID)

	m, err := e.ctl.Metadata(e.ctx, hostapi.MetadataQuery{NetworkID: n.ID, Address: s1.Ports[0].FixedIPs[0].IPAddress})
	if err != nil {
		t.Fatal(err)
	}
	if m.ServerID != s1.ID || string(m.UserData) != "#cloud-config\n" || string(m.VendorData) != "{}" {
		t.Fatalf("metadata = %s %q %s", m.ServerID, m.UserData, m.VendorData)
	}
	var md struct {
		UUID       string            `json:"uuid"`
		Name       string            `json:"name"`
		Hostname   string            `json:"hostname"`
		ProjectID  string            `json:"project_id"`
		AZ         string            `json:"availability_zone"`
		PublicKeys map[string]string `json:"public_keys"`
		Keys       []struct{ Name, Type, Data string }
		Meta       map[string]string `json:"meta"`
		Devices    []any             `json:"devices"`
	}
	if err := json.Unmarshal(m.MetaData, &md); err != nil {
		t.Fatal(err)
	}
	if md.UUID != s1.ID || md.Name != "alpha" || md.Hostname != "alpha.novalocal" || md.ProjectID != "p1" || md.AZ != "nova" ||
		md.PublicKeys["k1"] != testKey || len(md.Keys) != 1 || md.Keys[0].Type != "ssh" || md.Meta["role"] != "db" || md.Devices == nil {
		t.Fatalf("meta_data = %s", m.MetaData)
	}
	var nd struct {
		Links []struct {
			ID, Type string
			MAC      string `json:"ethernet_mac_address"`
			MTU      int
			VIF      string `json:"vif_id"`
		}
		Networks []struct {
			ID, Type, Link, Netmask string
			NetworkID               string `json:"network_id"`
			IP                      string `json:"ip_address"`
			Routes                  []struct{ Network, Netmask, Gateway string }
		}
		Services []struct{ Type, Address string }
	}
	if err := json.Unmarshal(m.NetworkData, &nd); err != nil {
		t.Fatal(err)
	}
	p := s1.Ports[0]
	if len(nd.Links) != 1 || nd.Links[0].VIF != p.ID || nd.Links[0].MAC != p.MAC || nd.Links[0].MTU != 1450 || nd.Links[0].ID != hostctl.LinkName(p.ID) {
		t.Fatalf("links = %+v", nd.Links)
	}
	if len(nd.Networks) != 1 || nd.Networks[0].Type != "ipv4_dhcp" || nd.Networks[0].IP != p.FixedIPs[0].IPAddress || nd.Networks[0].Netmask != "255.255.255.0" ||
		nd.Networks[0].Link != nd.Links[0].ID || nd.Networks[0].NetworkID != n.ID || len(nd.Networks[0].Routes) != 1 || nd.Networks[0].Routes[0].Gateway != "10.0.0.1" {
		t.Fatalf("networks = %+v", nd.Networks)
	}
	if len(nd.Services) != 1 || nd.Services[0].Address != "192.0.2.53" {
		t.Fatalf("services = %+v", nd.Services)
	}

	m2, err := e.ctl.Metadata(e.ctx, hostapi.MetadataQuery{ServerID: s2.ID})
	if err != nil || m2.ServerID != s2.ID || m2.UserData != nil {
		t.Fatalf("by ID: %+v %v", m2, err)
	}
	if _, err := e.ctl.Metadata(e.ctx, hostapi.MetadataQuery{NetworkID: n.ID, Address: "10.0.0.250"}); !errors.Is(err, hostapi.ErrNotFound) {
		t.Fatalf("unknown address: %v", err)
	}
}

func TestWaitReturnsAfterAWrite(t *testing.T) {
	e := newEnv(t)
	a := e.register("cmp-a", "10.1.0.1", false)
	rev := e.state(a).Revision
	done := make(chan int64, 1)
	go func() {
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		defer cancel()
		r, _ := e.ctl.Wait(ctx, rev)
		done <- r
	}()
	select {
	case r := <-done:
		t.Fatalf("Wait returned %d before any write", r)
	case <-time.After(100 * time.Millisecond):
	}
	e.network("net1", "10.0.0.0/24")
	select {
	case r := <-done:
		if r <= rev {
			t.Fatalf("Wait returned %d, want > %d", r, rev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after a write")
	}
}

func TestDHCPReconcilerRunFollowsChanges(t *testing.T) {
	e := newEnv(t)
	e.register("net-node", "10.1.0.9", true)
	e.register("cmp-a", "10.1.0.1", false)
	n, _ := e.network("net1", "10.0.0.0/24")
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.dhcp.Run(ctx) }()
	defer func() { cancel(); <-done }()
	e.server("vm1", "cmp-a", compute.CreateServerRequest{}, n.ID)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ps, _ := e.net.ListPorts(e.proj, n.ID)
		for _, p := range ps {
			if p.DeviceOwner == network.OwnerDHCP {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the running reconciler made no DHCP port")
}

// TestDHCPReconcilerEngagesWhenNetworkNodeJoins: idle without a network
// node (host rewrites by placement do not wake it), the reconciler makes
// the DHCP port once a network node registers.
func TestDHCPReconcilerEngagesWhenNetworkNodeJoins(t *testing.T) {
	e := newEnv(t)
	e.register("cmp-a", "10.1.0.1", false)
	n, _ := e.network("net1", "10.0.0.0/24")
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.dhcp.Run(ctx) }()
	defer func() { cancel(); <-done }()
	e.server("vm1", "cmp-a", compute.CreateServerRequest{}, n.ID)
	dhcpPorts := func() int {
		ps, _ := e.net.ListPorts(e.proj, n.ID)
		k := 0
		for _, p := range ps {
			if p.DeviceOwner == network.OwnerDHCP {
				k++
			}
		}
		return k
	}
	time.Sleep(500 * time.Millisecond)
	if k := dhcpPorts(); k != 0 {
		t.Fatalf("%d DHCP ports without a network node", k)
	}
	e.register("net-node", "10.1.0.9", true)
	deadline := time.Now().Add(10 * time.Second)
	for dhcpPorts() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no DHCP port after the network node joined")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestImageStreamsBytes(t *testing.T) {
	e := newEnv(t)
	rc, info, err := e.ctl.Image(e.ctx, e.imageID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "disk bytes" || info.Size != 10 || info.DiskFormat != "qcow2" || info.ID != e.imageID {
		t.Fatalf("image = %q %+v", b, info)
	}
	if _, _, err := e.ctl.Image(e.ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, hostapi.ErrNotFound) {
		t.Fatalf("unknown image: %v", err)
	}
	snap, err := e.images.Create(creds("p2"), map[string]any{"name": "snap", "disk_format": "qcow2", "container_format": "bare"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ctl.UploadImage(e.ctx, snap.ID, bytes.NewReader([]byte("snapshot")), 8); err != nil {
		t.Fatal(err)
	}
	got, err := e.images.Get(creds("p2"), snap.ID)
	if err != nil || got.Status != image.StatusActive {
		t.Fatalf("snapshot = %+v %v", got, err)
	}
}

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb2b2ZJj3c0W0yW2nNfK0oYz1u8kz8r0eQJtGx8k3Gf test@nubo"

// TestConsoleOutputThroughTheAgent: a console read for a host of another
// machine goes through the store: the request appears in the host's
// State, the agent's answer comes back to the reader, and the request is
// gone afterwards. No answer in time, a simulated host, or no such guest
// is compute.ErrNoConsole.
func TestConsoleOutputThroughTheAgent(t *testing.T) {
	e := newEnv(t)
	hostID := e.register("cmp-a", "10.1.0.1", false)
	sv := e.server("vm1", "cmp-a", compute.CreateServerRequest{})

	// An agent that answers every request it is offered once.
	ctx, cancel := context.WithCancel(e.ctx)
	seen := map[string]bool{}
	go e.agentLoop(ctx, hostID, func(st *hostapi.State) {
		for _, r := range st.Consoles {
			if seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			rep := hostapi.ConsoleReport{ID: r.ID, Output: fmt.Sprintf("last %d lines of %s", r.Lines, r.ServerID)}
			if r.ServerID != sv.ID {
				rep = hostapi.ConsoleReport{ID: r.ID, NotFound: true}
			}
			if err := e.ctl.ReportConsole(ctx, hostID, rep); err != nil {
				t.Error(err)
			}
		}
	})
	out, err := e.ctl.ConsoleOutput(e.ctx, hostID, sv.ID, 5)
	if err != nil || out != "last 5 lines of "+sv.ID {
		t.Fatalf("console output %q, %v", out, err)
	}
	if _, err := e.ctl.ConsoleOutput(e.ctx, hostID, "other", 0); !errors.Is(err, compute.ErrNoConsole) {
		t.Fatalf("a guest the host lacks: %v, want ErrNoConsole", err)
	}
	cancel()
	if st, _ := e.ctl.State(e.ctx, hostID); len(st.Consoles) != 0 {
		t.Fatalf("requests left in the State: %+v", st.Consoles)
	}

	old := hostctl.ConsoleTimeout
	hostctl.ConsoleTimeout = 300 * time.Millisecond
	defer func() { hostctl.ConsoleTimeout = old }()
	start := time.Now()
	if _, err := e.ctl.ConsoleOutput(e.ctx, hostID, sv.ID, 0); !errors.Is(err, compute.ErrNoConsole) || time.Since(start) > 5*time.Second {
		t.Fatalf("no agent: %v after %v, want ErrNoConsole after the timeout", err, time.Since(start))
	}
	if err := e.ctl.ReportConsole(e.ctx, hostID, hostapi.ConsoleReport{ID: "gone", Output: "x"}); err != nil {
		t.Fatalf("an answer to a request that is gone: %v", err)
	}
	fake, err := e.comp.RegisterHost(e.ctx, compute.FakeHostSpec("sim"))
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if _, err := e.ctl.ConsoleOutput(e.ctx, fake.ID, sv.ID, 0); !errors.Is(err, compute.ErrNoConsole) || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("a simulated host: %v after %v, want ErrNoConsole at once", err, time.Since(start))
	}
}

// TestTunnelThroughTheAgent: DialVNC for a host of another machine
// offers a tunnel request in the host's State; the agent's Tunnel call
// joins the dialer to it (here the agent echoes). A simulated host, or an
// agent that never answers, is compute.ErrNoConsole.
func TestTunnelThroughTheAgent(t *testing.T) {
	e := newEnv(t)
	hostID := e.register("cmp-a", "10.1.0.1", false)
	sv := e.server("vm1", "cmp-a", compute.CreateServerRequest{})
	if _, err := e.ctl.Tunnel(e.ctx, hostID, "no-such-tunnel"); !errors.Is(err, hostapi.ErrNotFound) {
		t.Fatalf("unknown tunnel: %v", err)
	}

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	seen := map[string]bool{}
	go e.agentLoop(ctx, hostID, func(st *hostapi.State) {
		for _, r := range st.Tunnels {
			if seen[r.ID] || r.ServerID != sv.ID {
				continue
			}
			seen[r.ID] = true
			if _, err := e.ctl.Tunnel(ctx, "another-host", r.ID); !errors.Is(err, hostapi.ErrNotFound) {
				t.Errorf("another host took the tunnel: %v", err)
			}
			end, err := e.ctl.Tunnel(ctx, hostID, r.ID)
			if err != nil {
				t.Error(err)
				continue
			}
			go func() { _, _ = io.Copy(end, end); end.Close() }()
		}
	})
	conn, err := e.ctl.DialVNC(e.ctx, hostID, sv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("RFB 003.008\n")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 12)
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != "RFB 003.008\n" {
		t.Fatalf("through the tunnel: %q %v", got, err)
	}
	conn.Close()
	cancel()
	if st, _ := e.ctl.State(e.ctx, hostID); len(st.Tunnels) != 0 {
		t.Fatalf("tunnel requests left in the State: %+v", st.Tunnels)
	}

	old := hostctl.TunnelTimeout
	hostctl.TunnelTimeout = 300 * time.Millisecond
	defer func() { hostctl.TunnelTimeout = old }()
	if _, err := e.ctl.DialVNC(e.ctx, hostID, sv.ID); !errors.Is(err, compute.ErrNoConsole) {
		t.Fatalf("no agent: %v, want ErrNoConsole", err)
	}
	fake, err := e.comp.RegisterHost(e.ctx, compute.FakeHostSpec("sim"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ctl.DialVNC(e.ctx, fake.ID, sv.ID); !errors.Is(err, compute.ErrNoConsole) {
		t.Fatalf("a simulated host: %v, want ErrNoConsole", err)
	}
}

// agentLoop plays a host agent's loop until ctx ends: each State of
// hostID goes to handle, then it waits for the next change.
func (e *env) agentLoop(ctx context.Context, hostID string, handle func(*hostapi.State)) {
	for ctx.Err() == nil {
		st, err := e.ctl.State(ctx, hostID)
		if err != nil {
			return
		}
		handle(st)
		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, _ = e.ctl.Wait(wctx, st.Revision)
		cancel()
	}
}
