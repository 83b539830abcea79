package scheduler

import (
	"fmt"
	"testing"
)

// benchSnapshot is n enabled hosts of 64 vCPU (16× overcommit) and 256 GiB,
// half of them in one aggregate zone, each with some use.
func benchSnapshot(n int) Snapshot {
	s := Snapshot{Hosts: make([]Host, n)}
	for i := range s.Hosts {
		zone := ""
		if i%2 == 1 {
			zone = "az1"
		}
		s.Hosts[i] = Host{
			ID: fmt.Sprintf("host-%04d", i), Name: fmt.Sprintf("compute%04d", i), Enabled: true, AvailabilityZone: zone,
			Inventory: map[string]Inventory{
				VCPU:     {Total: 64, MaxUnit: 64, AllocationRatio: 16},
				MemoryMB: {Total: 262144, Reserved: 512, AllocationRatio: 1.5},
				DiskGB:   {Total: 4000, AllocationRatio: 1},
			},
			Used:              Resources{VCPU: int64(i % 97), MemoryMB: int64(i%89) * 512, DiskGB: int64(i % 83)},
			Instances:         i % 97,
			AggregateMetadata: map[string][]string{},
		}
	}
	return s
}

// BenchmarkPlace1000Hosts is one scheduling decision over 1,000 hosts (the
// scale benchmark's size; target < 1 ms).
func BenchmarkPlace1000Hosts(b *testing.B) {
	snap := benchSnapshot(1000)
	req := Request{Resources: Resources{VCPU: 1, MemoryMB: 128, DiskGB: 1}, DefaultZone: "nova"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Place(req, snap); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlace1000HostsZone adds an availability-zone and extra-spec
// request, so that filters reject half the hosts.
func BenchmarkPlace1000HostsZone(b *testing.B) {
	snap := benchSnapshot(1000)
	req := Request{Resources: Resources{VCPU: 2, MemoryMB: 2048, DiskGB: 20}, AvailabilityZone: "az1", DefaultZone: "nova",
		ExtraSpecs: map[string]string{"hw:cpu_policy": "shared"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Place(req, snap); err != nil {
			b.Fatal(err)
		}
	}
}
