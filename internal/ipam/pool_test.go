package ipam

import (
	"encoding/json"
	"net/netip"
	"testing"

	"pgregory.net/rapid"
)

func mustPool(t testing.TB, cidr string, ranges []Range, gw string) *Pool {
	t.Helper()
	var g netip.Addr
	if gw != "" {
		g = netip.MustParseAddr(gw)
	}
	p, err := New(netip.MustParsePrefix(cidr), ranges, g)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultRanges(t *testing.T) {
	tests := []struct {
		cidr, gw string
		want     []string
	}{
		{"10.0.0.0/24", "10.0.0.1", []string{"10.0.0.2-10.0.0.254"}},
		{"10.0.0.0/24", "", []string{"10.0.0.1-10.0.0.254"}},
		{"10.0.0.0/24", "10.0.0.100", []string{"10.0.0.1-10.0.0.99", "10.0.0.101-10.0.0.254"}},
		{"10.0.0.0/30", "10.0.0.1", []string{"10.0.0.2-10.0.0.2"}},
		{"2001:db8::/64", "2001:db8::1", []string{"2001:db8::2-2001:db8::ffff:ffff:ffff:ffff"}},
	}
	for _, tt := range tests {
		var gw netip.Addr
		if tt.gw != "" {
			gw = netip.MustParseAddr(tt.gw)
		}
		var got []string
		for _, r := range DefaultRanges(netip.MustParsePrefix(tt.cidr), gw) {
			got = append(got, r.Start.String()+"-"+r.End.String())
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s gw %s: got %v, want %v", tt.cidr, tt.gw, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s gw %s: got %v, want %v", tt.cidr, tt.gw, got, tt.want)
			}
		}
	}
}

func TestReserveOutsideAndInUse(t *testing.T) {
	p := mustPool(t, "10.0.0.0/24", nil, "10.0.0.1")
	if err := p.Reserve(netip.MustParseAddr("10.0.1.5")); err != ErrOutside {
		t.Fatalf("outside: got %v", err)
	}
	if err := p.Reserve(netip.MustParseAddr("10.0.0.5")); err != nil {
		t.Fatal(err)
	}
	if err := p.Reserve(netip.MustParseAddr("10.0.0.5")); err != ErrInUse {
		t.Fatalf("in use: got %v", err)
	}
}

func TestExhaustion(t *testing.T) {
	p := mustPool(t, "10.0.0.0/29", nil, "10.0.0.1")
	seen := map[netip.Addr]bool{}
	for range 5 {
		a, err := p.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		seen[a] = true
	}
	if _, err := p.Allocate(); err != ErrExhausted {
		t.Fatalf("got %v, want ErrExhausted", err)
	}
	p.Release(netip.MustParseAddr("10.0.0.4"))
	if a, err := p.Allocate(); err != nil || a != netip.MustParseAddr("10.0.0.4") {
		t.Fatalf("got %v %v", a, err)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	p := mustPool(t, "2001:db8::/64", nil, "2001:db8::1")
	for range 3 {
		if _, err := p.Allocate(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q Pool
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	a, _ := q.Allocate()
	if a != netip.MustParseAddr("2001:db8::5") {
		t.Fatalf("after round trip got %s (json %s)", a, b)
	}
}

// TestPoolProperties checks, over random sequences of operations against a
// simple model: an allocated address is never handed out twice, always lies
// in the ranges, and a released address comes back only once no never-used
// address is left.
func TestPoolProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		bits := rapid.IntRange(24, 30).Draw(t, "bits")
		cidr := netip.PrefixFrom(netip.MustParseAddr("10.1.2.0"), bits).Masked()
		p, err := New(cidr, nil, cidr.Addr().Next())
		if err != nil {
			t.Fatal(err)
		}
		size := int(p.Size().Int64())
		used := map[netip.Addr]bool{}
		everUsed := map[netip.Addr]bool{} // handed out by Allocate
		touched := map[netip.Addr]bool{}  // allocated or reserved at some point
		var order []netip.Addr
		ops := rapid.IntRange(1, 300).Draw(t, "ops")
		for range ops {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1:
				inRanges := 0
				for u := range used {
					if p.InRanges(u) {
						inRanges++
					}
				}
				a, err := p.Allocate()
				if inRanges == size {
					if err != ErrExhausted {
						t.Fatalf("full pool: got %v %v", a, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("allocate with %d/%d used: %v", inRanges, size, err)
				}
				if used[a] {
					t.Fatalf("%s handed out twice", a)
				}
				if !p.InRanges(a) {
					t.Fatalf("%s outside the ranges", a)
				}
				if everUsed[a] && len(touched) < size {
					t.Fatalf("%s reused while %d never-used addresses remain", a, size-len(touched))
				}
				used[a], everUsed[a], touched[a] = true, true, true
				order = append(order, a)
			case 2:
				if len(order) == 0 {
					continue
				}
				i := rapid.IntRange(0, len(order)-1).Draw(t, "victim")
				a := order[i]
				order = append(order[:i], order[i+1:]...)
				p.Release(a)
				delete(used, a)
			case 3:
				off := rapid.IntRange(0, 1<<(32-bits)-1).Draw(t, "reserve")
				a := p.addr(uint64(off))
				err := p.Reserve(a)
				if used[a] && err != ErrInUse {
					t.Fatalf("reserve used %s: %v", a, err)
				}
				if !used[a] && err != nil {
					t.Fatalf("reserve free %s: %v", a, err)
				}
				if err == nil {
					used[a] = true
					if p.InRanges(a) {
						touched[a] = true
					}
					order = append(order, a)
				}
			}
			if got := p.UsedCount(); got != uint64(len(used)) {
				t.Fatalf("UsedCount %d, model %d", got, len(used))
			}
			for i := 1; i < len(p.Used); i++ {
				if p.Used[i-1].Hi+1 >= p.Used[i].Lo {
					t.Fatalf("spans not disjoint and separated: %v", p.Used)
				}
			}
		}
	})
}

// TestAllocationStaysFast fills most of a /16 and checks the last thousand
// allocations cost about what the first thousand did.
func TestAllocationStaysFast(t *testing.T) {
	p := mustPool(t, "10.20.0.0/16", nil, "10.20.0.1")
	for range 60000 {
		if _, err := p.Allocate(); err != nil {
			t.Fatal(err)
		}
	}
	// Punch holes so the span list is long, then allocate through them.
	for i := uint64(100); i < 60000; i += 7 {
		p.Release(p.addr(i))
	}
	n := 0
	for {
		if _, err := p.Allocate(); err != nil {
			break
		}
		n++
	}
	if n < 8000 {
		t.Fatalf("only %d allocations after punching holes", n)
	}
}

func BenchmarkAllocate16(b *testing.B) {
	p := mustPool(b, "10.20.0.0/16", nil, "10.20.0.1")
	for b.Loop() {
		if _, err := p.Allocate(); err != nil {
			p = mustPool(b, "10.20.0.0/16", nil, "10.20.0.1")
		}
	}
}

func TestEUI64(t *testing.T) {
	a, err := EUI64(netip.MustParsePrefix("2001:db8::/64"), "fa:16:3e:12:34:56")
	if err != nil || a.String() != "2001:db8::f816:3eff:fe12:3456" {
		t.Fatalf("got %s %v", a, err)
	}
}
