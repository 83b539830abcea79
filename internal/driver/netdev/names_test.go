package netdev

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	const id = "5f0c2d9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f"
	for got, want := range map[string]string{
		BridgeName(id): "nb-5f0c2d9e8a1", VXLANName(id): "vx-5f0c2d9e8a1", TapName(id): "tap5f0c2d9e8a1",
		VethName(id): "nv-5f0c2d9e8a1", RouterPortName(id): "qr-5f0c2d9e8a1", GatewayPortName(id): "qg-5f0c2d9e8a1",
		DHCPPortName(id): "ns-5f0c2d9e8a1", RouterNamespace(id): "qrouter-" + id,
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
		if len(got) > 15 && !strings.HasPrefix(got, "qrouter-") {
			t.Errorf("%s is longer than IFNAMSIZ-1", got)
		}
	}
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	if got := HostMAC(mac).String(); got != "fe:54:00:12:34:56" {
		t.Errorf("HostMAC = %s", got)
	}
}

func TestHostSpecValidate(t *testing.T) {
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	ok := HostSpec{
		Networks: []Network{{ID: "n1", MTU: 1450, VXLAN: &VXLAN{VNI: 7, Local: netip.MustParseAddr("10.0.0.1"),
			Remotes: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}, Taps: []Tap{{PortID: "p1", MAC: mac}}}},
		Namespaces: []Namespace{{Name: "qrouter-r1", Interfaces: []Interface{{PortID: "p2", Name: "qr-p2", NetworkID: "n1"}},
			Routes: []Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.1.0.1")}}}},
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*HostSpec){
		"VNI zero":          func(s *HostSpec) { s.Networks[0].VXLAN.VNI = 0 },
		"remote family":     func(s *HostSpec) { s.Networks[0].VXLAN.Remotes = []netip.Addr{netip.MustParseAddr("::1")} },
		"tap without MAC":   func(s *HostSpec) { s.Networks[0].Taps[0].MAC = nil },
		"duplicate network": func(s *HostSpec) { s.Networks = append(s.Networks, s.Networks[0]) },
		"unknown network":   func(s *HostSpec) { s.Namespaces[0].Interfaces[0].NetworkID = "n9" },
		"long inside name":  func(s *HostSpec) { s.Namespaces[0].Interfaces[0].Name = "qr-0123456789abcdef" },
		"duplicate tap":     func(s *HostSpec) { s.Networks[0].Taps = append(s.Networks[0].Taps, s.Networks[0].Taps[0]) },
		"route without via": func(s *HostSpec) { s.Namespaces[0].Routes[0].Via = netip.Addr{} },
		"namespace slash":   func(s *HostSpec) { s.Namespaces[0].Name = "../etc" },
	}
	for name, mut := range cases {
		s := ok
		s.Networks = append([]Network(nil), ok.Networks...)
		v := *ok.Networks[0].VXLAN
		s.Networks[0].VXLAN = &v
		s.Networks[0].Taps = append([]Tap(nil), ok.Networks[0].Taps...)
		s.Namespaces = append([]Namespace(nil), ok.Namespaces...)
		s.Namespaces[0].Interfaces = append([]Interface(nil), ok.Namespaces[0].Interfaces...)
		s.Namespaces[0].Routes = append([]Route(nil), ok.Namespaces[0].Routes...)
		mut(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
