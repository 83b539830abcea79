package netagent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/nubo-cloud/nubo/internal/driver/dhcp"
	"github.com/nubo-cloud/nubo/internal/driver/firewall"
	"github.com/nubo-cloud/nubo/internal/driver/firewall/firewalltest"
	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netdevtest"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

var local = netip.MustParseAddr("192.0.2.1")

func pfxs(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestBuildPlan_NetworkNode(t *testing.T) {
	p := buildPlan(testState(), planOptions{nsPrefix: "x-", localIP: local})
	if err := p.err(); err != nil {
		t.Fatalf("plan errors: %v", err)
	}
	if err := p.spec.Validate(); err != nil {
		t.Fatalf("spec: %v", err)
	}

	// Networks: the tenant one over VXLAN with the taps, the external one
	// with the host-side gateway.
	if len(p.spec.Networks) != 2 {
		t.Fatalf("networks = %+v", p.spec.Networks)
	}
	in, ext := p.spec.Networks[0], p.spec.Networks[1]
	if in.ID != netInt || in.MTU != 1450 || in.VXLAN == nil || in.VXLAN.VNI != 1001 || in.VXLAN.Local != local ||
		!slices.Equal(in.VXLAN.Remotes, []netip.Addr{netip.MustParseAddr("192.0.2.2")}) || len(in.Addresses) != 0 {
		t.Errorf("tenant network = %+v (vxlan %+v)", in, in.VXLAN)
	}
	if len(in.Taps) != 2 || in.Taps[0].PortID != portVM1 || in.Taps[0].MAC.String() != macVM1 || in.Taps[1].PortID != portVM2 {
		t.Errorf("taps = %+v", in.Taps)
	}
	if ext.VXLAN != nil || len(ext.Taps) != 0 || !slices.Equal(ext.Addresses, pfxs("172.24.4.1/24")) {
		t.Errorf("external network = %+v", ext)
	}

	// Namespaces: the router with both legs, the floating IP and the
	// default route; the DHCP namespace with the metadata address.
	if len(p.spec.Namespaces) != 2 {
		t.Fatalf("namespaces = %+v", p.spec.Namespaces)
	}
	r, d := p.spec.Namespaces[0], p.spec.Namespaces[1]
	if r.Name != "x-qrouter-"+routerID || !r.Forwarding || len(r.Interfaces) != 2 {
		t.Fatalf("router namespace = %+v", r)
	}
	qr, qg := r.Interfaces[0], r.Interfaces[1]
	if qr.Name != netdev.RouterPortName(portQR) || qr.NetworkID != netInt || qr.MTU != 1450 || !slices.Equal(qr.Addresses, pfxs("10.0.0.1/24")) {
		t.Errorf("router interface = %+v", qr)
	}
	if qg.Name != netdev.GatewayPortName(portQG) || qg.NetworkID != netExt || !slices.Equal(qg.Addresses, pfxs("172.24.4.10/24", fipVM1+"/32")) {
		t.Errorf("router gateway = %+v", qg)
	}
	if want := []netdev.Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("172.24.4.1")}}; !slices.Equal(r.Routes, want) {
		t.Errorf("router routes = %+v", r.Routes)
	}
	if !slices.Equal(r.Loopback, pfxs("169.254.169.254/32")) ||
		!slices.Equal(p.routerMetadata[r.Name], []subnetRoute{{Prefix: netip.MustParsePrefix("10.0.0.0/24"), NetworkID: netInt}}) {
		t.Errorf("router metadata: loopback %v, subnets %v", r.Loopback, p.routerMetadata)
	}
	if d.Name != "x-qdhcp-"+netInt || !slices.Equal(d.Loopback, pfxs("169.254.169.254/32")) || len(d.Interfaces) != 1 ||
		d.Interfaces[0].Name != netdev.DHCPPortName(portDHCP) || !slices.Equal(d.Interfaces[0].Addresses, pfxs("10.0.0.2/24")) {
		t.Errorf("DHCP namespace = %+v", d)
	}

	// Host firewall: both taps, fixed IPs as /32, the remote group expanded.
	if len(p.host.Ports) != 2 || p.host.NAT != nil {
		t.Fatalf("host ruleset = %+v", p.host)
	}
	fp := p.host.Ports[0]
	if fp.Device != netdev.TapName(portVM1) || fp.MAC.String() != macVM1 || fp.SecurityDisabled || !slices.Equal(fp.Addresses, pfxs("10.0.0.11/32")) {
		t.Errorf("port firewall = %+v", fp)
	}
	if len(fp.Rules) != 4 {
		t.Fatalf("rules = %+v", fp.Rules)
	}
	web, grp := fp.Rules[2], fp.Rules[3]
	if web.Direction != firewall.Ingress || web.Protocol != "tcp" || *web.PortMin != 8080 || !slices.Equal(web.Remote, pfxs("0.0.0.0/0")) || web.RemoteGroup {
		t.Errorf("web rule = %+v", web)
	}
	if !grp.RemoteGroup || !slices.Equal(grp.Remote, pfxs("10.0.0.11/32", "10.0.0.12/32")) {
		t.Errorf("group rule = %+v", grp)
	}

	// Router NAT.
	rs := p.routers["x-qrouter-"+routerID]
	want := &firewall.NAT{
		GatewayDevice: netdev.GatewayPortName(portQG), GatewayIP: netip.MustParseAddr("172.24.4.10"),
		SNATSubnets: pfxs("10.0.0.0/24"),
		FloatingIPs: []firewall.FloatingIP{{External: netip.MustParseAddr(fipVM1), Internal: netip.MustParseAddr("10.0.0.11")}},
	}
	if rs.NAT == nil || fmt.Sprint(*rs.NAT) != fmt.Sprint(*want) || len(rs.Ports) != 0 {
		t.Errorf("router ruleset = %+v, want NAT %+v", rs.NAT, want)
	}

	// DHCP: MTU, gateway, DNS, and the metadata route via the DHCP port.
	svc, ok := p.services[netInt]
	if !ok || svc.Namespace != "x-qdhcp-"+netInt || svc.Interface != netdev.DHCPPortName(portDHCP) || svc.ServerIP != netip.MustParseAddr("10.0.0.2") || len(svc.Leases) != 2 {
		t.Fatalf("service = %+v", svc)
	}
	l := svc.Leases[0]
	if l.MAC.String() != macVM1 || l.Address != netip.MustParsePrefix("10.0.0.11/24") || l.MTU != 1450 || l.Hostname != "vm1" ||
		l.Router != netip.MustParseAddr("10.0.0.1") || !slices.Equal(l.DNS, []netip.Addr{netip.MustParseAddr("10.0.0.3")}) ||
		!slices.Equal(l.Routes, []dhcp.Route{{Dst: netip.MustParsePrefix("169.254.169.254/32"), Via: netip.MustParseAddr("10.0.0.2")}}) {
		t.Errorf("lease = %+v", l)
	}

	// Every port is wired somewhere.
	for _, id := range []string{portVM1, portVM2, portDHCP, portQR, portQG} {
		if p.devices[id] == "" {
			t.Errorf("port %s has no device", id)
		}
	}
	if p.devices[portQR] != netdev.VethName(portQR) || p.devices[portVM1] != netdev.TapName(portVM1) {
		t.Errorf("devices = %v", p.devices)
	}
}

func TestBuildPlan_PortSecurityVariants(t *testing.T) {
	st := testState()
	st.Routers, st.DHCP = nil, nil
	st.Ports = st.Ports[:2]
	st.Ports[0].PortSecurity = false
	st.Ports[1].AllowedAddressPairs = []hostapi.AddressPair{
		{IPAddress: "10.0.0.200"}, {IPAddress: "10.0.1.0/24", MACAddress: "fa:16:3e:00:00:99"},
	}
	st.Ports = append(st.Ports,
		hostapi.Port{ID: "down-port", NetworkID: netInt, MAC: "fa:16:3e:00:00:03", DeviceOwner: "compute:nova",
			FixedIPs: []hostapi.FixedIP{{SubnetID: subInt, IPAddress: "10.0.0.13"}}, PortSecurity: true, SecurityGroups: []string{sgWeb}},
		hostapi.Port{ID: "bad-mac", NetworkID: netInt, MAC: "nope", DeviceOwner: "compute:nova"},
		hostapi.Port{ID: "lost-port", NetworkID: "net-gone", MAC: "fa:16:3e:00:00:04", DeviceOwner: "compute:nova"},
		hostapi.Port{ID: "nosg-port", NetworkID: netInt, MAC: "fa:16:3e:00:00:05", DeviceOwner: "compute:nova", AdminStateUp: true,
			PortSecurity: true, SecurityGroups: []string{"sg-missing"}},
	)
	p := buildPlan(st, planOptions{})
	err := p.err()
	for _, want := range []string{"bad-mac", "net-gone", "sg-missing", "vxlan needs"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("plan errors %v: want one about %q", err, want)
		}
	}
	if p.spec.Networks[0].VXLAN != nil {
		t.Error("vxlan network without a local VTEP got a VXLAN device")
	}
	byDev := map[string]firewall.Port{}
	for _, fp := range p.host.Ports {
		byDev[fp.Device] = fp
	}
	if len(byDev) != 4 {
		t.Fatalf("firewall ports = %+v", p.host.Ports)
	}
	if fp := byDev[netdev.TapName(portVM1)]; !fp.SecurityDisabled {
		t.Errorf("port_security_enabled=false: %+v", fp)
	}
	if fp := byDev[netdev.TapName(portVM2)]; !slices.Equal(fp.Addresses, pfxs("10.0.0.12/32", "10.0.0.200/32", "10.0.1.0/24")) ||
		len(fp.ExtraMACs) != 1 || fp.ExtraMACs[0].String() != "fa:16:3e:00:00:99" {
		t.Errorf("allowed address pairs: %+v", fp)
	}
	if fp := byDev[netdev.TapName("down-port")]; fp.SecurityDisabled || len(fp.Addresses) != 0 || len(fp.Rules) != 0 || !p.down["down-port"] {
		t.Errorf("admin down port must be isolated: %+v", fp)
	}
	if fp := byDev[netdev.TapName("nosg-port")]; len(fp.Rules) != 0 || fp.SecurityDisabled {
		t.Errorf("port with an unknown group must deny: %+v", fp)
	}
}

func TestBuildPlan_RouterVariants(t *testing.T) {
	st := testState()
	st.DHCP = nil
	st.Routers[0].EnableSNAT = false
	st.Routers[0].InterfacePortIDs = []string{portQR, portQR} // listed twice: wired once
	st.Routers[0].Routes = []hostapi.Route{{Destination: "10.9.0.0/16", NextHop: "10.0.0.254"}}
	p := buildPlan(st, planOptions{localIP: local})
	if err := p.err(); err == nil || !strings.Contains(err.Error(), "already wired") {
		t.Errorf("err = %v, want one about the repeated leg", err)
	}
	if len(p.spec.Namespaces) != 1 || len(p.spec.Namespaces[0].Interfaces) != 2 {
		t.Fatalf("namespaces = %+v", p.spec.Namespaces)
	}
	rs := p.routers[netdev.RouterNamespace(routerID)]
	if rs.NAT == nil || len(rs.NAT.SNATSubnets) != 0 || len(rs.NAT.FloatingIPs) != 1 {
		t.Errorf("no SNAT: %+v", rs.NAT)
	}
	if r := p.spec.Namespaces[0]; len(r.Routes) != 2 || r.Routes[1].Dst != netip.MustParsePrefix("10.9.0.0/16") {
		t.Errorf("extra routes: %+v", r.Routes)
	}

	// Without a gateway: legs only, no NAT; an admin-down router has no
	// namespace at all.
	st.Routers[0].GatewayPortID = ""
	p = buildPlan(st, planOptions{localIP: local})
	if rs := p.routers[netdev.RouterNamespace(routerID)]; rs.NAT != nil {
		t.Errorf("router without gateway has NAT %+v", rs.NAT)
	}
	st.Routers[0].AdminStateUp = false
	p = buildPlan(st, planOptions{localIP: local})
	if len(p.spec.Namespaces) != 0 || len(p.routers) != 0 {
		t.Errorf("admin-down router wired: %+v", p.spec.Namespaces)
	}
	if _, ok := p.devices[portQR]; ok {
		t.Error("leg of an admin-down router has a device")
	}
}

func TestBuildPlan_Empty(t *testing.T) {
	for _, st := range []*hostapi.State{nil, {}} {
		p := buildPlan(st, planOptions{localIP: local})
		if p.err() != nil || len(p.spec.Networks)+len(p.spec.Namespaces)+len(p.host.Ports)+len(p.routers)+len(p.services) != 0 {
			t.Errorf("plan of %v = %+v", st, p)
		}
	}
}

func newFakeAgent(t *testing.T) (*Agent, *netdevtest.Fake, *firewalltest.Fake) {
	t.Helper()
	nd, fw := &netdevtest.Fake{}, &firewalltest.Fake{}
	a, err := New(Config{Net: nd, Firewall: fw, LocalIP: local, NamespacePrefix: "fake-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, nd, fw
}

func TestConverge_WithFakes(t *testing.T) {
	ctx := context.Background()
	a, nd, fw := newFakeAgent(t)
	st := testState()
	st.DHCP = nil // DHCP and metadata need real namespaces (netns test)
	st.Ports = append(st.Ports, hostapi.Port{ID: "down-port", NetworkID: netInt, MAC: "fa:16:3e:00:00:03", DeviceOwner: "compute:nova"})
	reports, err := a.Converge(ctx, st)
	// The router's metadata listener needs its namespace too: the only
	// failure expected here.
	if err == nil || !strings.Contains(err.Error(), "fake-qrouter-router-1") || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("err = %v, want only the router's metadata listener", err)
	}
	want := map[string]string{portVM1: "ACTIVE", portVM2: "ACTIVE", portQR: "ACTIVE", portQG: "ACTIVE", portDHCP: "DOWN", "down-port": "DOWN"}
	if len(reports) != len(want) {
		t.Fatalf("reports = %+v", reports)
	}
	for _, r := range reports {
		if want[r.PortID] != r.Status {
			t.Errorf("port %s: %s, want %s", r.PortID, r.Status, want[r.PortID])
		}
	}
	if got := nd.Spec(); len(got.Networks) != 2 || len(got.Namespaces) != 1 {
		t.Errorf("synced spec = %+v", got)
	}
	if rs, ok := fw.Ruleset(""); !ok || len(rs.Ports) != 3 {
		t.Errorf("host ruleset = %+v", rs)
	}
	if rs, ok := fw.Ruleset(a.RouterNamespace(routerID)); !ok || rs.NAT == nil {
		t.Errorf("router ruleset = %+v", rs)
	}
	if a.TapName(portVM1) != "tapvm1port" {
		t.Errorf("TapName = %q", a.TapName(portVM1))
	}

	// An empty state removes everything.
	if _, err := a.Converge(ctx, &hostapi.State{}); err != nil {
		t.Fatal(err)
	}
	if got := nd.Spec(); len(got.Networks)+len(got.Namespaces) != 0 {
		t.Errorf("after empty converge: %+v", got)
	}
	if _, ok := fw.Ruleset(""); ok {
		t.Error("host ruleset left after empty converge")
	}
}

func TestConverge_ReportsFailures(t *testing.T) {
	ctx := context.Background()
	a, nd, fw := newFakeAgent(t)
	nd.SyncFunc = func(context.Context, netdev.HostSpec) error { return errors.New("netlink exploded") }
	fw.ApplyFunc = func(context.Context, string, firewall.Ruleset) error { return errors.New("nft exploded") }
	reports, err := a.Converge(ctx, testState())
	if err == nil || !strings.Contains(err.Error(), "netlink exploded") || !strings.Contains(err.Error(), "nft exploded") {
		t.Errorf("err = %v", err)
	}
	// The DHCP namespace does not exist (the fake made nothing).
	if err == nil || !strings.Contains(err.Error(), "fake-qdhcp-"+netInt) {
		t.Errorf("err = %v, want the missing DHCP namespace", err)
	}
	for _, r := range reports {
		if r.Status != StatusDown {
			t.Errorf("port %s is %s although nothing was wired", r.PortID, r.Status)
		}
	}
	if len(reports) != 5 {
		t.Errorf("reports = %+v", reports)
	}
}

func TestNew_RefusesWithoutBridgeNetfilter(t *testing.T) {
	_, err := New(Config{Net: &netdevtest.Fake{BridgeNetfilterOff: true}, Firewall: &firewalltest.Fake{}})
	if !errors.Is(err, netdev.ErrBridgeNetfilter) {
		t.Errorf("New = %v, want ErrBridgeNetfilter", err)
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without drivers succeeded")
	}
	a, _ := New(Config{Net: &netdevtest.Fake{}, Firewall: &firewalltest.Fake{}})
	a.Close()
	if _, err := a.Converge(context.Background(), nil); err == nil {
		t.Error("Converge after Close succeeded")
	}
}

func TestBuildPlan_PhysicalInterfaces(t *testing.T) {
	st := testState()
	st.Networks[1].PhysicalNetwork = "public"
	st.Networks = append(st.Networks,
		hostapi.Network{ID: "net-vlan", Type: "vlan", SegmentationID: 42, PhysicalNetwork: "public", MTU: 1500},
		hostapi.Network{ID: "net-flat2", Type: "flat", PhysicalNetwork: "public", MTU: 1500})
	// Unmapped: the host is the upstream.
	p := buildPlan(st, planOptions{localIP: local})
	if ext := p.spec.Networks[1]; ext.Uplink != "" || len(ext.Addresses) != 1 {
		t.Errorf("unmapped external network = %+v", ext)
	}
	if p.err() != nil {
		t.Errorf("unmapped: %v", p.err())
	}
	// Mapped: the bridge joins the device and the host keeps out of the
	// subnet; VLAN networks are not supported yet and say so.
	p = buildPlan(st, planOptions{localIP: local, physical: map[string]string{"public": "eth1"}})
	if ext := p.spec.Networks[1]; ext.Uplink != "eth1" || len(ext.Addresses) != 0 {
		t.Errorf("mapped external network = %+v", ext)
	}
	if v := p.spec.Networks[2]; v.Uplink != "" || v.VXLAN != nil {
		t.Errorf("vlan network = %+v", v)
	}
	if err := p.err(); err == nil || !strings.Contains(err.Error(), "VLAN 42") || !strings.Contains(err.Error(), "already carries flat network net-ext") {
		t.Errorf("err = %v, want one about the VLAN and one about the second flat network", err)
	}
	if f2 := p.spec.Networks[3]; f2.Uplink != "" {
		t.Errorf("second flat network on one device = %+v", f2)
	}
	if err := p.spec.Validate(); err != nil {
		t.Error(err)
	}
}

func TestMetadataLookup_CachesBriefly(t *testing.T) {
	calls := 0
	a, err := New(Config{Net: &netdevtest.Fake{}, Firewall: &firewalltest.Fake{},
		Metadata: func(_ context.Context, q hostapi.MetadataQuery) (*hostapi.Metadata, error) {
			calls++
			if q.Address == "10.0.0.99" {
				return nil, hostapi.ErrNotFound
			}
			return &hostapi.Metadata{ServerID: q.NetworkID + "/" + q.Address}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	l1, l2 := a.metadataLookup("n1"), a.metadataLookup("n2")
	for i := 0; i < 3; i++ {
		if md, err := l1(ctx, "10.0.0.11"); err != nil || md.ServerID != "n1/10.0.0.11" {
			t.Fatalf("lookup = %+v, %v", md, err)
		}
	}
	if md, _ := l2(ctx, "10.0.0.11"); md.ServerID != "n2/10.0.0.11" {
		t.Errorf("network n2 got %+v", md)
	}
	for i := 0; i < 2; i++ {
		if _, err := l1(ctx, "10.0.0.99"); !errors.Is(err, hostapi.ErrNotFound) {
			t.Errorf("unknown address: %v", err)
		}
	}
	if calls != 4 {
		t.Errorf("%d upstream calls, want 4 (one per network and address, errors not cached)", calls)
	}
}
