//go:build netns

package linux

import (
	"context"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns/netnstest"
	"github.com/vishvananda/netlink"
)

// TestSync_BridgeAddresses keeps the addresses of a bridge exact (the
// external network's host-side gateway).
func TestSync_BridgeAddresses(t *testing.T) {
	netnstest.RequireRoot(t)
	ctx := t.Context()
	p := netnstest.Prefix(t)
	hostNS := p + "host"
	netnstest.NewNS(t, hostNS)
	d := New(Config{HostNamespace: hostNS, NamespacePrefixes: []string{p + "g-"}}, nil)
	t.Cleanup(func() { d.Sync(context.Background(), netdev.HostSpec{}) })
	h := handle(t, hostNS)
	addrs := func() []netip.Prefix {
		t.Helper()
		br, err := h.LinkByName(netdev.BridgeName("net-ext"))
		if err != nil {
			t.Fatal(err)
		}
		as, err := h.AddrList(br, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatal(err)
		}
		var out []netip.Prefix
		for _, a := range as {
			if p, ok := fromIPNet(a.IPNet); ok && !p.Addr().IsLinkLocalUnicast() {
				out = append(out, p)
			}
		}
		slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
		return out
	}
	for _, want := range [][]netip.Prefix{
		{pfx("172.24.4.1/24")},
		{pfx("172.24.4.1/24"), pfx("2001:db8::1/64")},
		{pfx("172.24.5.1/24")},
		nil,
	} {
		spec := netdev.HostSpec{Networks: []netdev.Network{{ID: "net-ext", Addresses: want}}}
		for i := 0; i < 2; i++ {
			if err := d.Sync(ctx, spec); err != nil {
				t.Fatalf("sync %v: %v", want, err)
			}
		}
		if got := addrs(); !slices.Equal(got, want) {
			t.Errorf("bridge addresses = %v, want %v", got, want)
		}
	}
	bad := netdev.HostSpec{Networks: []netdev.Network{{ID: "net-ext", Addresses: []netip.Prefix{{}}}}}
	if err := d.Sync(ctx, bad); err == nil {
		t.Error("Sync accepted an invalid bridge address")
	}
}

// TestSync_FlatUplink joins a flat network's bridge to an existing device
// (the host's "physical" interface) and checks traffic to a namespace on
// the other end of it; the device is released, not deleted, when the
// network goes.
func TestSync_FlatUplink(t *testing.T) {
	netnstest.RequireRoot(t)
	ctx := t.Context()
	p := netnstest.Prefix(t)
	hostNS, wire := p+"host", p+"wire"
	netnstest.NewNS(t, hostNS)
	netnstest.NewNS(t, wire)
	d := New(Config{HostNamespace: hostNS, NamespacePrefixes: []string{p + "g-"}}, nil)
	t.Cleanup(func() { d.Sync(context.Background(), netdev.HostSpec{}) })
	h, w := handle(t, hostNS), handle(t, wire)
	wh, err := netns.Open(wire)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "phys0"}, PeerName: "phys0", PeerNamespace: netlink.NsFd(int(wh))}); err != nil {
		t.Fatal(err)
	}
	phys0, err := w.LinkByName("phys0")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddrAdd(phys0, &netlink.Addr{IPNet: toIPNet(pfx("10.2.0.1/24"))}); err != nil {
		t.Fatal(err)
	}
	if err := w.LinkSetUp(phys0); err != nil {
		t.Fatal(err)
	}
	spec := netdev.HostSpec{
		Networks: []netdev.Network{{ID: "net-flat", Uplink: "phys0"}},
		Namespaces: []netdev.Namespace{{Name: p + "g-flat", Interfaces: []netdev.Interface{{
			PortID: "port-flat", Name: "eth0", NetworkID: "net-flat", Addresses: []netip.Prefix{pfx("10.2.0.2/24")}}}}},
	}
	for i := 0; i < 2; i++ {
		if err := d.Sync(ctx, spec); err != nil {
			t.Fatalf("sync (round %d): %v", i, err)
		}
	}
	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range st.Links {
		if l.Name == "phys0" {
			t.Error("the uplink is listed as owned")
		}
	}
	netnstest.EchoServer(t, wire, "10.2.0.1:7000")
	var got string
	for try := 0; try < 3; try++ {
		if got, err = netnstest.Talk(p+"g-flat", "10.2.0.1:7000", "", 0); err == nil {
			break
		}
	}
	if err != nil || !strings.HasPrefix(got, "10.2.0.2:") {
		t.Errorf("guest -> physical network: %q, %v", got, err)
	}

	if err := d.Sync(ctx, netdev.HostSpec{}); err != nil {
		t.Fatal(err)
	}
	l, err := h.LinkByName("phys0")
	if err != nil || l.Attrs().MasterIndex != 0 {
		t.Errorf("uplink after its bridge went: %v, %v", l, err)
	}
	for _, n := range []netdev.Network{
		{ID: "n", Uplink: "bad name"},
		{ID: "n", Uplink: "phys0", VXLAN: &netdev.VXLAN{VNI: 5, Local: addr("10.0.0.1")}},
	} {
		if err := n.Validate(); err == nil {
			t.Errorf("Validate accepted %+v", n)
		}
	}
}
