package scheduler

import (
	"errors"
	"math"
)

// Resource classes (Placement's standard names).
const (
	VCPU     = "VCPU"
	MemoryMB = "MEMORY_MB"
	DiskGB   = "DISK_GB"
)

// Inventory is one resource class of a provider.
type Inventory struct {
	Total           int64   `json:"total"`
	Reserved        int64   `json:"reserved"`
	MinUnit         int64   `json:"min_unit"`
	MaxUnit         int64   `json:"max_unit"`
	StepSize        int64   `json:"step_size"`
	AllocationRatio float64 `json:"allocation_ratio"`
}

// Capacity is what may be allocated in total: (total - reserved) × ratio.
func (i Inventory) Capacity() int64 {
	r := i.AllocationRatio
	if r <= 0 {
		r = 1
	}
	return int64(math.Floor(float64(i.Total-i.Reserved) * r))
}

// Fits reports whether amount more of a class fits on top of used, and
// respects the inventory's units. An amount of 0 always fits.
func (i Inventory) Fits(used, amount int64) bool {
	if amount == 0 {
		return true
	}
	if amount < 0 || (i.MinUnit > 0 && amount < i.MinUnit) || (i.MaxUnit > 0 && amount > i.MaxUnit) {
		return false
	}
	if i.StepSize > 1 && amount%i.StepSize != 0 {
		return false
	}
	return used+amount <= i.Capacity()
}

// Resources maps resource classes to amounts.
type Resources map[string]int64

// Fits reports whether req fits on a provider with inv and used: every
// requested class must be in the inventory and fit.
func Fits(inv map[string]Inventory, used, req Resources) bool {
	for class, amount := range req {
		if amount == 0 {
			continue
		}
		i, ok := inv[class]
		if !ok || !i.Fits(used[class], amount) {
			return false
		}
	}
	return true
}

// Host is one compute host as the scheduler sees it.
type Host struct {
	// ID is the resource provider UUID (also the hypervisor ID).
	ID   string
	Name string
	// Enabled is false for disabled or forced-down compute services.
	Enabled bool
	// AvailabilityZone is the host's zone ("" means the default zone).
	AvailabilityZone string
	Inventory        map[string]Inventory
	// Used sums the allocations against the host.
	Used Resources
	// Instances counts servers on the host.
	Instances int
	// AggregateMetadata merges the metadata of the host's aggregates: key →
	// every value any aggregate sets.
	AggregateMetadata map[string][]string
}

// Snapshot is a read-only view of every host.
type Snapshot struct {
	Hosts []Host
}

// Group policies (Nova's server-group policies).
const (
	Affinity         = "affinity"
	AntiAffinity     = "anti-affinity"
	SoftAffinity     = "soft-affinity"
	SoftAntiAffinity = "soft-anti-affinity"
)

// Group is the server group a server joins.
type Group struct {
	Policy string
	// MaxServerPerHost is the anti-affinity rule (2.64); 0 means 1.
	MaxServerPerHost int
	// Members counts the group's servers per host ID.
	Members map[string]int
}

// Request is what one server needs.
type Request struct {
	Resources Resources
	// AvailabilityZone restricts hosts to a zone ("" for any).
	AvailabilityZone string
	// DefaultZone is the zone of hosts in no zone-bearing aggregate.
	DefaultZone string
	// ExtraSpecs are the flavor's extra specs; keys with an
	// "aggregate_instance_extra_specs:" prefix (or without a namespace)
	// must match the host's aggregate metadata.
	ExtraSpecs map[string]string
	// ImageProperties constrain hosts by the image's hypervisor_type and
	// architecture (checked against aggregate metadata when set there).
	ImageProperties map[string]string
	Group           *Group
	// Host, when set, forces the host name ("zone:host" requests).
	Host string
	// Ignore lists host IDs to skip (retries, resize to another host).
	Ignore []string
	// SameHost, when true, keeps only the hosts in SameHosts (the
	// same_host hint: the hosts of the servers it names).
	SameHost  bool
	SameHosts []string
	// DifferentHosts are hosts to avoid (the different_host hint).
	DifferentHosts []string

	// amounts is Resources without zero amounts, set by Place.
	amounts []classAmount
}

type classAmount struct {
	class  string
	amount int64
}

// Placement is where a server goes and what it takes there.
type Placement struct {
	HostID    string
	HostName  string
	Resources Resources
}

// ErrNoValidHost means no host passed every filter.
var ErrNoValidHost = errors.New("no valid host was found")
