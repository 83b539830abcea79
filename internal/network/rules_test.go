package network

import (
	"net/netip"
	"strings"
	"testing"
)

func ip(v int) *int { return &v }

func TestValidateRulePorts(t *testing.T) {
	tests := []struct {
		proto    string
		min, max *int
		want     string // substring of the error; "" = valid
	}{
		{"tcp", ip(22), ip(22), ""},
		{"tcp", nil, nil, ""},
		{"tcp", ip(-16), ip(80), "Invalid value for port -16"},
		{"tcp", ip(80), ip(79), "port_range_min must be <= port_range_max"},
		{"tcp", ip(80), ip(65536), "Invalid value for port 65536"},
		{"tcp", nil, ip(6), "port_range_min must be <= port_range_max"},
		{"17", ip(53), ip(53), ""},
		{"icmp", ip(8), ip(0), ""},
		{"icmp", ip(1), ip(256), "Invalid value for ICMP code"},
		{"icmp", ip(-1), ip(25), "Invalid value"},
		{"icmp", nil, ip(6), "ICMP type (port-range-min) is missing"},
		{"icmp", ip(300), ip(1), "Invalid value for ICMP type"},
		{"gre", ip(1), nil, "Port range is only supported"},
	}
	for _, tt := range tests {
		n, err := protoNumber(tt.proto)
		if err != nil {
			t.Fatalf("%s: %v", tt.proto, err)
		}
		err = validateRulePorts(n, tt.min, tt.max)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %v-%v: unexpected %v", tt.proto, tt.min, tt.max, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s %v-%v: got %v, want %q", tt.proto, tt.min, tt.max, err, tt.want)
		}
	}
	if _, err := protoNumber("bogus"); err == nil {
		t.Error("bogus protocol accepted")
	}
	if _, err := protoNumber("256"); err == nil {
		t.Error("protocol 256 accepted")
	}
}

func TestRuleKeyNormalises(t *testing.T) {
	a := &SecurityGroupRule{SecurityGroupID: "g", Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: ip(22), PortRangeMax: ip(22), RemoteIPPrefix: "10.0.0.1/8"}
	b := &SecurityGroupRule{SecurityGroupID: "g", Direction: "ingress", EtherType: "IPv4", Protocol: "6", PortRangeMin: ip(22), PortRangeMax: ip(22), RemoteIPPrefix: "10.0.0.0/8"}
	if ruleKey(a) != ruleKey(b) {
		t.Errorf("same rule, different keys: %s vs %s", ruleKey(a), ruleKey(b))
	}
	c := &SecurityGroupRule{SecurityGroupID: "g", Direction: "egress", EtherType: "IPv4", RemoteIPPrefix: "0.0.0.0/0"}
	d := &SecurityGroupRule{SecurityGroupID: "g", Direction: "egress", EtherType: "IPv4"}
	if ruleKey(c) != ruleKey(d) {
		t.Errorf("0.0.0.0/0 and any should be the same rule")
	}
}

func TestBuildPool(t *testing.T) {
	pfx := netip.MustParsePrefix("10.0.0.0/24")
	gw := netip.MustParseAddr("10.0.0.1")
	if _, _, err := buildPool(pfx, []Pool{{Start: "10.0.0.1", End: "10.0.0.10"}}, gw); err == nil {
		t.Error("pool containing the gateway accepted")
	}
	if _, _, err := buildPool(pfx, []Pool{{Start: "10.0.0.2", End: "10.0.1.10"}}, gw); err == nil {
		t.Error("pool beyond the CIDR accepted")
	}
	if _, _, err := buildPool(pfx, []Pool{{Start: "10.0.0.2", End: "10.0.0.20"}, {Start: "10.0.0.10", End: "10.0.0.30"}}, gw); err == nil {
		t.Error("overlapping pools accepted")
	}
	_, out, err := buildPool(pfx, nil, gw)
	if err != nil || len(out) != 1 || out[0].Start != "10.0.0.2" || out[0].End != "10.0.0.254" {
		t.Errorf("default pool: %v %v", out, err)
	}
}
