package nftables

import (
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubo-cloud/nubo/internal/driver/firewall"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func pfx(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
}

var i = firewall.Int

// goldenRulesets are rendered to testdata/<name>.nft.
var goldenRulesets = []struct {
	name string
	rs   firewall.Ruleset
}{
	{"empty", firewall.Ruleset{}},
	{"ports", firewall.Ruleset{Ports: []firewall.Port{
		{
			Device:    "tap7a1b2c3d000",
			MAC:       mac("fa:16:3e:00:00:02"),
			Addresses: pfx("10.0.0.12/32", "2001:db8::12/128"),
			Rules: []firewall.Rule{
				{Direction: firewall.Egress, EtherType: firewall.IPv4},
				{Direction: firewall.Egress, EtherType: firewall.IPv6},
			},
		},
		{
			Device:    "tap0c9d8e7f000",
			MAC:       mac("fa:16:3e:00:00:01"),
			Addresses: pfx("10.0.0.11/32", "10.0.0.200/30", "2001:db8::11/128"),
			ExtraMACs: []net.HardwareAddr{mac("fa:16:3e:aa:bb:cc")},
			Rules: []firewall.Rule{
				{Direction: firewall.Egress, EtherType: firewall.IPv4},
				{Direction: firewall.Ingress, EtherType: firewall.IPv4, Protocol: "tcp", PortMin: i(22), PortMax: i(22)},
				{Direction: firewall.Ingress, EtherType: firewall.IPv4, Protocol: "tcp", PortMin: i(8000), PortMax: i(8080), Remote: pfx("192.0.2.0/24")},
				{Direction: firewall.Ingress, EtherType: firewall.IPv4, Protocol: "udp", PortMin: i(53), PortMax: i(53), RemoteGroup: true, Remote: pfx("10.0.0.12/32", "10.0.0.13/32", "2001:db8::12/128")},
				{Direction: firewall.Ingress, EtherType: firewall.IPv4, Protocol: "icmp", PortMin: i(8), PortMax: i(0)},
				{Direction: firewall.Ingress, EtherType: firewall.IPv6, Protocol: "icmp"},
				{Direction: firewall.Ingress, EtherType: firewall.IPv6, Protocol: "ipv6-icmp", PortMin: i(128)},
				{Direction: firewall.Ingress, EtherType: firewall.IPv4, Protocol: "112"},
				{Direction: firewall.Ingress, EtherType: firewall.IPv6, Protocol: "udp", Remote: pfx("::/0")},
				{Direction: firewall.Ingress, EtherType: firewall.IPv4, Protocol: "tcp", RemoteGroup: true}, // empty group: nothing
				{Direction: firewall.Egress, EtherType: firewall.IPv6, Protocol: "tcp", PortMin: i(443), PortMax: i(443), Remote: pfx("2001:db8:1::/48")},
			},
		},
		{Device: "tapunfiltered0", MAC: mac("fa:16:3e:00:00:03"), SecurityDisabled: true},
	}}},
	{"router", firewall.Ruleset{NAT: &firewall.NAT{
		GatewayDevice: "qg-1234567890a",
		GatewayIP:     netip.MustParseAddr("203.0.113.2"),
		SNATSubnets:   pfx("10.0.0.0/24", "10.0.1.0/24"),
		FloatingIPs: []firewall.FloatingIP{
			{External: netip.MustParseAddr("203.0.113.101"), Internal: netip.MustParseAddr("10.0.1.5")},
			{External: netip.MustParseAddr("203.0.113.100"), Internal: netip.MustParseAddr("10.0.0.11")},
		},
		Metadata: netip.MustParseAddrPort("127.0.0.1:8775"),
	}}},
	{"router-no-snat", firewall.Ruleset{NAT: &firewall.NAT{
		GatewayDevice: "qg-1234567890a",
		FloatingIPs:   []firewall.FloatingIP{{External: netip.MustParseAddr("203.0.113.100"), Internal: netip.MustParseAddr("10.0.0.11")}},
	}}},
}

func TestRender_Golden(t *testing.T) {
	for _, tc := range goldenRulesets {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.rs)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Render(tc.rs)
			if got != again {
				t.Fatal("Render is not deterministic")
			}
			path := filepath.Join("testdata", tc.name+".nft")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Render differs from %s (run with -update after checking):\n%s", path, got)
			}
		})
	}
}

func TestRender_Rejects(t *testing.T) {
	port := func(mut func(*firewall.Port)) firewall.Ruleset {
		p := firewall.Port{Device: "tap1", MAC: mac("fa:16:3e:00:00:01"), Addresses: pfx("10.0.0.1/32")}
		mut(&p)
		return firewall.Ruleset{Ports: []firewall.Port{p}}
	}
	rule := func(r firewall.Rule) firewall.Ruleset {
		return port(func(p *firewall.Port) { p.Rules = []firewall.Rule{r} })
	}
	cases := []struct {
		name string
		rs   firewall.Ruleset
		want string
	}{
		{"device with a quote", port(func(p *firewall.Port) { p.Device = `tap"; flush ruleset` }), "device name"},
		{"long device", port(func(p *firewall.Port) { p.Device = "tap0123456789abcdef" }), "device name"},
		{"no MAC", port(func(p *firewall.Port) { p.MAC = nil }), "MAC"},
		{"unknown protocol", rule(firewall.Rule{Direction: firewall.Ingress, Protocol: "bogus"}), "unknown protocol"},
		{"protocol number", rule(firewall.Rule{Direction: firewall.Ingress, Protocol: "300"}), "out of range"},
		{"reversed ports", rule(firewall.Rule{Direction: firewall.Ingress, Protocol: "tcp", PortMin: i(90), PortMax: i(80)}), "port range"},
		{"bad direction", rule(firewall.Rule{Direction: "sideways"}), "direction"},
		{"bad ethertype", rule(firewall.Rule{Direction: firewall.Ingress, EtherType: "IPX"}), "ethertype"},
		{"icmpv6 in IPv4", rule(firewall.Rule{Direction: firewall.Ingress, EtherType: firewall.IPv4, Protocol: "icmpv6"}), "IPv4 rule"},
		{"ICMP code only", rule(firewall.Rule{Direction: firewall.Ingress, Protocol: "icmp", PortMax: i(0)}), "without type"},
		{"duplicate device", firewall.Ruleset{Ports: []firewall.Port{{Device: "tap1", SecurityDisabled: true}, {Device: "tap1", SecurityDisabled: true}}}, "twice"},
		{"NAT IPv6", firewall.Ruleset{NAT: &firewall.NAT{GatewayDevice: "qg-1", FloatingIPs: []firewall.FloatingIP{{External: netip.MustParseAddr("2001:db8::1"), Internal: netip.MustParseAddr("10.0.0.1")}}}}, "IPv4 only"},
		{"SNAT without gateway IP", firewall.Ruleset{NAT: &firewall.NAT{GatewayDevice: "qg-1", SNATSubnets: pfx("10.0.0.0/24")}}, "gateway address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.rs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseTables(t *testing.T) {
	out := "table inet filter\ntable bridge nubo\ntable inet nubo\ntable ip nubo_nat\ntable ip nat\n"
	got := parseTables(out)
	if len(got) != 3 || got[0] != (firewall.Table{Family: "bridge", Name: "nubo"}) {
		t.Fatalf("parseTables = %v", got)
	}
}

func TestLinkLocal(t *testing.T) {
	if got := linkLocal(mac("52:54:00:12:34:56")).String(); got != "fe80::5054:ff:fe12:3456" {
		t.Fatalf("linkLocal = %s", got)
	}
}
