package dhcp

import (
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func testServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{Interface: "ns-1", ServerIP: netip.MustParseAddr("10.0.0.2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.SetLeases([]Lease{{
		MAC:      mustMAC("52:54:00:00:00:01"),
		Address:  netip.MustParsePrefix("10.0.0.11/24"),
		Router:   netip.MustParseAddr("10.0.0.1"),
		DNS:      []netip.Addr{netip.MustParseAddr("10.0.0.3")},
		MTU:      1450,
		Routes:   []Route{{Dst: netip.MustParsePrefix("169.254.169.254/32"), Via: netip.MustParseAddr("10.0.0.1")}},
		Hostname: "vm1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func TestHandle_DiscoverGetsOfferWithOptions(t *testing.T) {
	s := testServer(t)
	req, err := dhcpv4.NewDiscovery(mustMAC("52:54:00:00:00:01"))
	if err != nil {
		t.Fatal(err)
	}
	reply, dst := s.handle(req)
	if reply == nil {
		t.Fatal("no reply")
	}
	if reply.MessageType() != dhcpv4.MessageTypeOffer || !reply.YourIPAddr.Equal(net.ParseIP("10.0.0.11")) {
		t.Fatalf("reply %s yiaddr %v", reply.MessageType(), reply.YourIPAddr)
	}
	if !dst.IP.Equal(net.IPv4bcast) || dst.Port != 68 {
		t.Errorf("sent to %v, want broadcast:68", dst)
	}
	if mtu, err := dhcpv4.GetUint16(dhcpv4.OptionInterfaceMTU, reply.Options); err != nil || mtu != 1450 {
		t.Errorf("MTU option = %d, %v", mtu, err)
	}
	routes := reply.ClasslessStaticRoute()
	if len(routes) != 2 || routes[0].String() != "route to 169.254.169.254/32 via 10.0.0.1" || routes[1].String() != "route to 0.0.0.0/0 via 10.0.0.1" {
		t.Errorf("option 121 = %v", routes)
	}
	if got := reply.SubnetMask().String(); got != "ffffff00" {
		t.Errorf("subnet mask = %s", got)
	}
	if !reply.ServerIdentifier().Equal(net.ParseIP("10.0.0.2")) || reply.HostName() != "vm1" {
		t.Errorf("server id %v hostname %q", reply.ServerIdentifier(), reply.HostName())
	}
}

func TestHandle_Request(t *testing.T) {
	s := testServer(t)
	mac := mustMAC("52:54:00:00:00:01")
	request := func(ip string, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
		m := append([]dhcpv4.Modifier{dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithHwAddr(mac),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(ip)))}, mods...)
		r, err := dhcpv4.New(m...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r, _ := s.handle(request("10.0.0.11")); r == nil || r.MessageType() != dhcpv4.MessageTypeAck {
		t.Errorf("request for the reserved address: %v", r)
	}
	if r, _ := s.handle(request("10.0.0.99")); r == nil || r.MessageType() != dhcpv4.MessageTypeNak {
		t.Errorf("request for another address: %v", r)
	}
	if r, _ := s.handle(request("10.0.0.11", dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP("10.0.0.3"))))); r != nil {
		t.Errorf("request to another server answered: %v", r)
	}
	other, _ := dhcpv4.NewDiscovery(mustMAC("52:54:00:00:00:02"))
	if r, _ := s.handle(other); r != nil {
		t.Errorf("unknown MAC answered: %v", r)
	}
}

func TestSetLeases_Rejects(t *testing.T) {
	s := testServer(t)
	l := Lease{MAC: mustMAC("52:54:00:00:00:01"), Address: netip.MustParsePrefix("10.0.0.11/24")}
	for name, leases := range map[string][]Lease{
		"duplicate MAC": {l, l},
		"IPv6":          {{MAC: l.MAC, Address: netip.MustParsePrefix("2001:db8::1/64")}},
		"short MAC":     {{MAC: net.HardwareAddr{1, 2}, Address: l.Address}},
		"tiny MTU":      {{MAC: l.MAC, Address: l.Address, MTU: 10}},
	} {
		if err := s.SetLeases(leases); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, ok := s.lease(l.MAC); !ok {
		t.Error("a rejected SetLeases changed the table")
	}
}
