package scheduler

import (
	"fmt"
	"slices"
	"strings"
)

// Weights of the weighers (Nova's defaults: RAM and CPU spread, fewer
// instances preferred).
const (
	ramWeight      = 1.0
	cpuWeight      = 1.0
	instanceWeight = -1.0
)

// A filter keeps a host or says why not.
type filter struct {
	name string
	keep func(req *Request, h *Host) bool
}

var filters = []filter{
	{"ComputeFilter", func(req *Request, h *Host) bool { return h.Enabled }},
	{"IgnoreFilter", func(req *Request, h *Host) bool { return !slices.Contains(req.Ignore, h.ID) }},
	{"HostFilter", func(req *Request, h *Host) bool { return req.Host == "" || req.Host == h.Name }},
	{"AvailabilityZoneFilter", func(req *Request, h *Host) bool {
		if req.AvailabilityZone == "" {
			return true
		}
		zone := h.AvailabilityZone
		if zone == "" {
			zone = req.DefaultZone
		}
		return zone == req.AvailabilityZone
	}},
	{"ResourceFilter", func(req *Request, h *Host) bool { return Fits(h.Inventory, h.Used, req.Resources) }},
	{"AggregateInstanceExtraSpecsFilter", func(req *Request, h *Host) bool {
		for k, v := range req.ExtraSpecs {
			key, ok := aggregateKey(k)
			if !ok {
				continue
			}
			if !slices.Contains(h.AggregateMetadata[key], v) {
				return false
			}
		}
		return true
	}},
	{"ImagePropertiesFilter", func(req *Request, h *Host) bool {
		for _, k := range []string{"hypervisor_type", "architecture"} {
			want := req.ImageProperties[k]
			have := h.AggregateMetadata[k]
			if want == "" || len(have) == 0 {
				continue
			}
			if !slices.ContainsFunc(have, func(v string) bool { return strings.EqualFold(v, want) }) {
				return false
			}
		}
		return true
	}},
	{"ServerGroupAffinityFilter", func(req *Request, h *Host) bool {
		g := req.Group
		if g == nil || g.Policy != Affinity || len(g.Members) == 0 {
			return true
		}
		return g.Members[h.ID] > 0
	}},
	{"ServerGroupAntiAffinityFilter", func(req *Request, h *Host) bool {
		g := req.Group
		if g == nil || g.Policy != AntiAffinity {
			return true
		}
		return g.Members[h.ID] < max(g.MaxServerPerHost, 1)
	}},
}

// aggregateKey returns the aggregate-metadata key an extra spec must match:
// scoped "aggregate_instance_extra_specs:k", or an unscoped "k" (Nova's
// filter matches unscoped keys too). Other namespaces ("hw:", "quota:", …)
// are not aggregate constraints.
func aggregateKey(spec string) (string, bool) {
	if k, ok := strings.CutPrefix(spec, "aggregate_instance_extra_specs:"); ok {
		return k, true
	}
	return spec, !strings.Contains(spec, ":")
}

// Place runs the filters and weighers and returns the best host. Hosts with
// equal weights are ordered by name, so the result is deterministic.
func Place(req Request, snap Snapshot) (Placement, error) {
	var cands []*Host
	rejected := map[string]int{}
	for i := range snap.Hosts {
		h := &snap.Hosts[i]
		ok := true
		for _, f := range filters {
			if !f.keep(&req, h) {
				rejected[f.name]++
				ok = false
				break
			}
		}
		if ok {
			cands = append(cands, h)
		}
	}
	if len(cands) == 0 {
		return Placement{}, fmt.Errorf("%w (%d hosts; rejected by %s)", ErrNoValidHost, len(snap.Hosts), reasons(rejected))
	}
	w := weigh(&req, cands)
	best := 0
	for i := 1; i < len(cands); i++ {
		if w[i] > w[best] || (w[i] == w[best] && cands[i].Name < cands[best].Name) {
			best = i
		}
	}
	h := cands[best]
	return Placement{HostID: h.ID, HostName: h.Name, Resources: req.Resources}, nil
}

func reasons(r map[string]int) string {
	if len(r) == 0 {
		return "nothing"
	}
	var out []string
	for _, f := range filters {
		if n := r[f.name]; n > 0 {
			out = append(out, fmt.Sprintf("%s: %d", f.name, n))
		}
	}
	return strings.Join(out, ", ")
}

// weigh sums each weigher's score, normalised to [0, 1] over the
// candidates, times its multiplier (Nova's weighing).
func weigh(req *Request, hosts []*Host) []float64 {
	total := make([]float64, len(hosts))
	add := func(mult float64, raw func(h *Host) float64) {
		vals := make([]float64, len(hosts))
		lo, hi := 0.0, 0.0
		for i, h := range hosts {
			vals[i] = raw(h)
			if i == 0 || vals[i] < lo {
				lo = vals[i]
			}
			if i == 0 || vals[i] > hi {
				hi = vals[i]
			}
		}
		for i := range hosts {
			n := 0.0
			if hi > lo {
				n = (vals[i] - lo) / (hi - lo)
			}
			total[i] += mult * n
		}
	}
	free := func(class string) func(h *Host) float64 {
		return func(h *Host) float64 { return float64(h.Inventory[class].Capacity() - h.Used[class]) }
	}
	add(ramWeight, free(MemoryMB))
	add(cpuWeight, free(VCPU))
	add(instanceWeight, func(h *Host) float64 { return float64(h.Instances) })
	if g := req.Group; g != nil && (g.Policy == SoftAffinity || g.Policy == SoftAntiAffinity) {
		mult := 1.0
		if g.Policy == SoftAntiAffinity {
			mult = -1.0
		}
		// Weigh group members heavier than the spread weighers together.
		add(10*mult, func(h *Host) float64 { return float64(g.Members[h.ID]) })
	}
	return total
}
