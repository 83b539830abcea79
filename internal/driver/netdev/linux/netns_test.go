//go:build netns

package linux

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns/netnstest"
	"github.com/vishvananda/netlink"
)

func handle(t *testing.T, ns string) *netlink.Handle {
	t.Helper()
	nsh, err := netns.Open(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// underlay joins two host namespaces with a veth pair a/b carrying
// addresses pa/pb, standing in for the hosts' physical network.
func underlay(t *testing.T, nsA, nsB string, pa, pb netip.Prefix) {
	t.Helper()
	ha, hb := handle(t, nsA), handle(t, nsB)
	nsh, _ := netns.Open(nsB)
	defer nsh.Close()
	if err := ha.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ul"}, PeerName: "ul", PeerNamespace: netlink.NsFd(int(nsh))}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		h *netlink.Handle
		p netip.Prefix
	}{{ha, pa}, {hb, pb}} {
		l, err := x.h.LinkByName("ul")
		if err != nil {
			t.Fatal(err)
		}
		if err := x.h.AddrAdd(l, &netlink.Addr{IPNet: toIPNet(x.p)}); err != nil {
			t.Fatal(err)
		}
		if err := x.h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
}

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func TestSync_VXLANBetweenHosts(t *testing.T) {
	netnstest.RequireRoot(t)
	ctx := t.Context()
	p := netnstest.Prefix(t)
	h1, h2 := p+"host1", p+"host2"
	netnstest.NewNS(t, h1)
	netnstest.NewNS(t, h2)
	underlay(t, h1, h2, pfx("10.252.0.1/24"), pfx("10.252.0.2/24"))
	d1 := New(Config{HostNamespace: h1, NamespacePrefixes: []string{p + "a-"}}, nil)
	d2 := New(Config{HostNamespace: h2, NamespacePrefixes: []string{p + "b-"}}, nil)
	t.Cleanup(func() {
		d1.Sync(context.Background(), netdev.HostSpec{})
		d2.Sync(context.Background(), netdev.HostSpec{})
	})
	if err := d1.CheckBridgeNetfilter(ctx); err != nil {
		t.Fatal(err)
	}

	const netID = "5f0c2d9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f"
	spec := func(local, remote, guest string, ns string, remotes ...netip.Addr) netdev.HostSpec {
		return netdev.HostSpec{
			Networks: []netdev.Network{{
				ID: netID, MTU: 1450,
				VXLAN: &netdev.VXLAN{VNI: 4242, Local: addr(local), Remotes: remotes},
				Taps:  []netdev.Tap{{PortID: "7a1b2c3d-0000-4000-8000-00000000000" + ns[len(ns)-1:], MAC: mac("52:54:00:00:00:0" + ns[len(ns)-1:])}},
			}},
			Namespaces: []netdev.Namespace{{
				Name: ns,
				Interfaces: []netdev.Interface{{
					PortID: "guest-" + ns, Name: "eth0", NetworkID: netID, MTU: 1450,
					MAC: mac("52:54:00:aa:00:0" + ns[len(ns)-1:]), Addresses: []netip.Prefix{pfx(guest)},
				}},
			}},
		}
	}
	s1 := spec("10.252.0.1", "10.252.0.2", "10.0.0.11/24", p+"a-1", addr("10.252.0.2"))
	s2 := spec("10.252.0.2", "10.252.0.1", "10.0.0.12/24", p+"b-2", addr("10.252.0.1"))
	start := time.Now()
	for i := 0; i < 2; i++ { // the second round proves idempotence
		if err := d1.Sync(ctx, s1); err != nil {
			t.Fatalf("sync host1 (round %d): %v", i, err)
		}
		if err := d2.Sync(ctx, s2); err != nil {
			t.Fatalf("sync host2 (round %d): %v", i, err)
		}
	}
	t.Logf("two syncs of two hosts: %v", time.Since(start))

	st, err := d1.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	br, vx, tap := netdev.BridgeName(netID), netdev.VXLANName(netID), netdev.TapName(s1.Networks[0].Taps[0].PortID)
	want := map[string]string{br: "bridge", vx: "vxlan", tap: "tuntap", netdev.VethName("guest-" + p + "a-1"): "veth"}
	if len(st.Links) != len(want) {
		t.Fatalf("links = %+v, want %v", st.Links, want)
	}
	for _, l := range st.Links {
		if want[l.Name] != l.Kind || !l.Up || l.MTU != 1450 {
			t.Errorf("link %+v: want kind %q, up, MTU 1450", l, want[l.Name])
		}
		if l.Kind != "bridge" && l.Master != br {
			t.Errorf("link %s master = %q, want %s", l.Name, l.Master, br)
		}
		if l.Kind == "tuntap" && l.MAC.String() != "fe:54:00:00:00:01" {
			t.Errorf("tap MAC = %v, want fe:54:00:00:00:01", l.MAC)
		}
	}
	if got := st.FDB[vx]; !slices.Equal(got, []netip.Addr{addr("10.252.0.2")}) {
		t.Errorf("FDB = %v, want [10.252.0.2]", got)
	}
	if !slices.Equal(st.Namespaces, []string{p + "a-1"}) {
		t.Errorf("namespaces = %v", st.Namespaces)
	}

	// Guest to guest across the VXLAN, with a payload above the MTU.
	netnstest.EchoServer(t, p+"b-2", "10.0.0.12:7000")
	got, err := netnstest.Talk(p+"a-1", "10.0.0.12:7000", "", 4000)
	for try := 0; err != nil && try < 2; try++ { // fresh links may drop the first SYN under load
		got, err = netnstest.Talk(p+"a-1", "10.0.0.12:7000", "", 4000)
	}
	if err != nil || !strings.HasPrefix(got, "10.0.0.11:") {
		t.Fatalf("guest a -> guest b over VXLAN: %q, %v", got, err)
	}

	// The FDB follows the remote set: add one, then remove it again.
	s1.Networks[0].VXLAN.Remotes = []netip.Addr{addr("10.252.0.2"), addr("10.252.0.9")}
	if err := d1.Sync(ctx, s1); err != nil {
		t.Fatal(err)
	}
	st, _ = d1.Status(ctx)
	if got := st.FDB[vx]; len(got) != 2 {
		t.Errorf("FDB after add = %v, want 2 entries", got)
	}
	s1.Networks[0].VXLAN.Remotes = []netip.Addr{addr("10.252.0.2")}
	if err := d1.Sync(ctx, s1); err != nil {
		t.Fatal(err)
	}
	st, _ = d1.Status(ctx)
	if got := st.FDB[vx]; !slices.Equal(got, []netip.Addr{addr("10.252.0.2")}) {
		t.Errorf("FDB after remove = %v", got)
	}

	// A stray device and namespace are removed; the spec is restored.
	hh := handle(t, h1)
	stray := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "nb-stray"}}
	if err := hh.LinkAdd(stray); err != nil {
		t.Fatal(err)
	}
	hh.LinkSetAlias(stray, Alias)
	netnstest.NewNS(t, p+"a-stray")
	if err := d1.Sync(ctx, s1); err != nil {
		t.Fatal(err)
	}
	if _, err := hh.LinkByName("nb-stray"); err == nil {
		t.Error("stray bridge survived Sync")
	}
	if netns.Exists(p + "a-stray") {
		t.Error("stray namespace survived Sync")
	}

	// An empty spec removes everything Nubo made.
	for _, d := range []*Driver{d1, d2} {
		if err := d.Sync(ctx, netdev.HostSpec{}); err != nil {
			t.Fatal(err)
		}
		st, err := d.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Links) != 0 || len(st.Namespaces) != 0 {
			t.Errorf("after empty sync: %+v", st)
		}
	}
	links, _ := hh.LinkList()
	for _, l := range links {
		if n := l.Attrs().Name; n != "lo" && n != "ul" {
			t.Errorf("device %s (%s) left in host1", n, l.Type())
		}
	}
}
