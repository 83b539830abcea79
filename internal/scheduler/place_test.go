package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func genHost(i int) *rapid.Generator[Host] {
	return rapid.Custom(func(t *rapid.T) Host {
		inv := map[string]Inventory{
			VCPU:     {Total: rapid.Int64Range(1, 64).Draw(t, "vcpu"), AllocationRatio: rapid.SampledFrom([]float64{1, 1.5, 4, 16}).Draw(t, "cpuRatio")},
			MemoryMB: {Total: rapid.Int64Range(512, 65536).Draw(t, "ram"), Reserved: rapid.Int64Range(0, 512).Draw(t, "ramReserved"), AllocationRatio: rapid.SampledFrom([]float64{1, 1.5}).Draw(t, "ramRatio")},
			DiskGB:   {Total: rapid.Int64Range(1, 2000).Draw(t, "disk"), AllocationRatio: 1},
		}
		used := Resources{}
		for class, in := range inv {
			used[class] = rapid.Int64Range(0, in.Capacity()).Draw(t, "used"+class)
		}
		md := map[string][]string{}
		if rapid.Bool().Draw(t, "ssd") {
			md["ssd"] = []string{"true"}
		}
		return Host{
			ID:                fmt.Sprintf("host-%02d", i),
			Name:              fmt.Sprintf("compute%02d", i),
			Enabled:           rapid.Float64Range(0, 1).Draw(t, "enabled") < 0.85,
			AvailabilityZone:  rapid.SampledFrom([]string{"", "az1", "az2"}).Draw(t, "az"),
			Inventory:         inv,
			Used:              used,
			Instances:         rapid.IntRange(0, 20).Draw(t, "instances"),
			AggregateMetadata: md,
		}
	})
}

func genSnapshot(t *rapid.T) Snapshot {
	n := rapid.IntRange(0, 12).Draw(t, "hosts")
	s := Snapshot{}
	for i := range n {
		s.Hosts = append(s.Hosts, genHost(i).Draw(t, fmt.Sprintf("host%d", i)))
	}
	return s
}

func genRequest(t *rapid.T, snap Snapshot) Request {
	req := Request{
		Resources: Resources{
			VCPU:     rapid.Int64Range(1, 16).Draw(t, "reqVCPU"),
			MemoryMB: rapid.Int64Range(64, 16384).Draw(t, "reqRAM"),
			DiskGB:   rapid.Int64Range(0, 200).Draw(t, "reqDisk"),
		},
		AvailabilityZone: rapid.SampledFrom([]string{"", "", "nova", "az1", "az2"}).Draw(t, "reqAZ"),
		DefaultZone:      "nova",
	}
	if rapid.Bool().Draw(t, "wantSSD") {
		req.ExtraSpecs = map[string]string{"aggregate_instance_extra_specs:ssd": "true", "hw:cpu_policy": "shared"}
	}
	if len(snap.Hosts) > 0 && rapid.Bool().Draw(t, "group") {
		g := &Group{Policy: rapid.SampledFrom([]string{Affinity, AntiAffinity, SoftAffinity, SoftAntiAffinity}).Draw(t, "policy"), Members: map[string]int{}}
		for range rapid.IntRange(0, 4).Draw(t, "members") {
			h := rapid.SampledFrom(snap.Hosts).Draw(t, "memberHost")
			g.Members[h.ID]++
		}
		g.MaxServerPerHost = rapid.IntRange(0, 3).Draw(t, "maxPerHost")
		req.Group = g
	}
	if len(snap.Hosts) > 0 {
		if rapid.Bool().Draw(t, "sameHost") {
			req.SameHost = true
			for range rapid.IntRange(0, 3).Draw(t, "sameHosts") {
				req.SameHosts = append(req.SameHosts, rapid.SampledFrom(snap.Hosts).Draw(t, "sameHostID").ID)
			}
		}
		for range rapid.IntRange(0, 3).Draw(t, "differentHosts") {
			req.DifferentHosts = append(req.DifferentHosts, rapid.SampledFrom(snap.Hosts).Draw(t, "differentHostID").ID)
		}
	}
	return req
}

// passes is an independent statement of the filters.
func passes(req Request, h Host) bool {
	if !h.Enabled || slices.Contains(req.Ignore, h.ID) || (req.Host != "" && req.Host != h.Name) {
		return false
	}
	zone := h.AvailabilityZone
	if zone == "" {
		zone = req.DefaultZone
	}
	if req.AvailabilityZone != "" && zone != req.AvailabilityZone {
		return false
	}
	for class, amount := range req.Resources {
		in := h.Inventory[class]
		if amount > 0 && h.Used[class]+amount > int64(float64(in.Total-in.Reserved)*max(in.AllocationRatio, 1e-9)) {
			return false
		}
	}
	if req.ExtraSpecs["aggregate_instance_extra_specs:ssd"] == "true" && !slices.Contains(h.AggregateMetadata["ssd"], "true") {
		return false
	}
	if req.SameHost && !slices.Contains(req.SameHosts, h.ID) || slices.Contains(req.DifferentHosts, h.ID) {
		return false
	}
	if g := req.Group; g != nil {
		switch g.Policy {
		case Affinity:
			if len(g.Members) > 0 && g.Members[h.ID] == 0 {
				return false
			}
		case AntiAffinity:
			if g.Members[h.ID] >= max(1, g.MaxServerPerHost) {
				return false
			}
		}
	}
	return true
}

// TestPlace_RespectsFilters: the chosen host passes every filter, and Place
// fails only when no host does.
func TestPlace_RespectsFilters(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		snap := genSnapshot(t)
		req := genRequest(t, snap)
		p, err := Place(req, snap)
		anyOK := slices.ContainsFunc(snap.Hosts, func(h Host) bool { return passes(req, h) })
		if err != nil {
			if !errors.Is(err, ErrNoValidHost) {
				t.Fatalf("unexpected error %v", err)
			}
			if anyOK {
				t.Fatalf("no valid host, but a host passes: %v", err)
			}
			return
		}
		i := slices.IndexFunc(snap.Hosts, func(h Host) bool { return h.ID == p.HostID })
		if i < 0 {
			t.Fatalf("placed on unknown host %s", p.HostID)
		}
		if !passes(req, snap.Hosts[i]) {
			t.Fatalf("placed on %s which fails the filters", p.HostID)
		}
		// Deterministic.
		if p2, _ := Place(req, snap); p2.HostID != p.HostID {
			t.Fatalf("not deterministic: %s then %s", p.HostID, p2.HostID)
		}
	})
}

// TestPlace_NeverOverCommits places servers one after another, applying each
// placement's usage, until the cloud is full: no inventory ever goes over
// its capacity.
func TestPlace_NeverOverCommits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		snap := genSnapshot(t)
		for range rapid.IntRange(1, 60).Draw(t, "servers") {
			req := genRequest(t, snap)
			req.Group = nil
			p, err := Place(req, snap)
			if err != nil {
				continue
			}
			i := slices.IndexFunc(snap.Hosts, func(h Host) bool { return h.ID == p.HostID })
			h := &snap.Hosts[i]
			used := Resources{}
			for k, v := range h.Used {
				used[k] = v
			}
			for class, amount := range p.Resources {
				used[class] += amount
			}
			h.Used = used
			h.Instances++
		}
		for _, h := range snap.Hosts {
			for class, in := range h.Inventory {
				if h.Used[class] > in.Capacity() {
					t.Fatalf("%s over-committed on %s: %d > %d", h.Name, class, h.Used[class], in.Capacity())
				}
			}
		}
	})
}

func TestPlace_AntiAffinitySpreads(t *testing.T) {
	snap := Snapshot{}
	for i := range 3 {
		snap.Hosts = append(snap.Hosts, Host{ID: fmt.Sprint("h", i), Name: fmt.Sprint("n", i), Enabled: true,
			Inventory: map[string]Inventory{VCPU: {Total: 8, AllocationRatio: 1}, MemoryMB: {Total: 8192, AllocationRatio: 1}}})
	}
	g := &Group{Policy: AntiAffinity, Members: map[string]int{}}
	req := Request{Resources: Resources{VCPU: 1, MemoryMB: 512}, Group: g}
	for range 3 {
		p, err := Place(req, snap)
		if err != nil {
			t.Fatal(err)
		}
		if g.Members[p.HostID] != 0 {
			t.Fatalf("anti-affinity placed twice on %s", p.HostID)
		}
		g.Members[p.HostID]++
	}
	if _, err := Place(req, snap); !errors.Is(err, ErrNoValidHost) {
		t.Fatalf("4th member of an anti-affinity group on 3 hosts: err = %v", err)
	}
	g.MaxServerPerHost = 2
	if _, err := Place(req, snap); err != nil {
		t.Fatalf("max_server_per_host=2: %v", err)
	}
}

func TestPlace_WeighersSpread(t *testing.T) {
	inv := map[string]Inventory{VCPU: {Total: 8, AllocationRatio: 1}, MemoryMB: {Total: 8192, AllocationRatio: 1}}
	snap := Snapshot{Hosts: []Host{
		{ID: "busy", Name: "a", Enabled: true, Inventory: inv, Used: Resources{VCPU: 6, MemoryMB: 6000}, Instances: 6},
		{ID: "idle", Name: "b", Enabled: true, Inventory: inv},
	}}
	p, err := Place(Request{Resources: Resources{VCPU: 1, MemoryMB: 256}}, snap)
	if err != nil || p.HostID != "idle" {
		t.Fatalf("placed on %q (%v), want the idle host", p.HostID, err)
	}
	g := &Group{Policy: SoftAffinity, Members: map[string]int{"busy": 1}}
	p, _ = Place(Request{Resources: Resources{VCPU: 1, MemoryMB: 256}, Group: g}, snap)
	if p.HostID != "busy" {
		t.Fatalf("soft-affinity placed on %q, want busy", p.HostID)
	}
}

func TestInventoryCapacity(t *testing.T) {
	for _, tc := range []struct {
		in   Inventory
		want int64
	}{
		{Inventory{Total: 8, AllocationRatio: 16}, 128},
		{Inventory{Total: 1000, Reserved: 512, AllocationRatio: 1.5}, 732},
		{Inventory{Total: 10}, 10},
	} {
		if got := tc.in.Capacity(); got != tc.want {
			t.Errorf("%+v: capacity %d, want %d", tc.in, got, tc.want)
		}
	}
	if (Inventory{Total: 8, AllocationRatio: 1, MaxUnit: 4}).Fits(0, 5) {
		t.Error("max_unit ignored")
	}
}
