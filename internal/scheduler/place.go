package scheduler

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// placeHook is called after every Place when set (SetPlaceHook).
var placeHook atomic.Pointer[func(hosts int, wall, cpu time.Duration)]

// SetPlaceHook makes every later Place call fn with the number of hosts it
// considered, how long it took (wall) and the CPU time its thread spent on
// it (cpu: wall less the time other goroutines held the CPU; 0 where the
// OS cannot tell) (nil stops it). It is for benchmarks, which measure the
// time per scheduling decision; fn must be safe for concurrent use and
// quick. While set, Place keeps its goroutine on one OS thread.
func SetPlaceHook(fn func(hosts int, wall, cpu time.Duration)) {
	if fn == nil {
		placeHook.Store(nil)
		return
	}
	placeHook.Store(&fn)
}

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
	{"ResourceFilter", func(req *Request, h *Host) bool {
		if req.amounts == nil {
			return Fits(h.Inventory, h.Used, req.Resources)
		}
		for _, a := range req.amounts {
			i, ok := h.Inventory[a.class]
			if !ok || !i.Fits(h.Used[a.class], a.amount) {
				return false
			}
		}
		return true
	}},
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
	{"SameHostFilter", func(req *Request, h *Host) bool { return !req.SameHost || slices.Contains(req.SameHosts, h.ID) }},
	{"DifferentHostFilter", func(req *Request, h *Host) bool { return !slices.Contains(req.DifferentHosts, h.ID) }},
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

// filterApplies says, per filter name, whether a filter can reject any
// host for a request (a filter not listed always can): Place runs only the
// filters that can, as most requests use few of them.
var filterApplies = map[string]func(req *Request) bool{
	"IgnoreFilter":                      func(req *Request) bool { return len(req.Ignore) > 0 },
	"HostFilter":                        func(req *Request) bool { return req.Host != "" },
	"AvailabilityZoneFilter":            func(req *Request) bool { return req.AvailabilityZone != "" },
	"AggregateInstanceExtraSpecsFilter": func(req *Request) bool { return len(req.ExtraSpecs) > 0 },
	"ImagePropertiesFilter":             func(req *Request) bool { return len(req.ImageProperties) > 0 },
	"SameHostFilter":                    func(req *Request) bool { return req.SameHost },
	"DifferentHostFilter":               func(req *Request) bool { return len(req.DifferentHosts) > 0 },
	"ServerGroupAffinityFilter":         func(req *Request) bool { return req.Group != nil },
	"ServerGroupAntiAffinityFilter":     func(req *Request) bool { return req.Group != nil },
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
	if hook := placeHook.Load(); hook != nil {
		runtime.LockOSThread()
		cpu0, start := threadCPU(), time.Now()
		defer func() {
			wall, cpu := time.Since(start), threadCPU()-cpu0
			runtime.UnlockOSThread()
			(*hook)(len(snap.Hosts), wall, cpu)
		}()
	}
	return place(&req, &snap)
}

func init() {
	if len(filters) > 16 {
		panic("scheduler: more than 16 filters")
	}
}

func place(req *Request, snap *Snapshot) (Placement, error) {
	// The requested amounts as a slice: ranging over the map for every
	// host costs more than the rest of the filters.
	req.amounts = make([]classAmount, 0, len(req.Resources))
	for class, amount := range req.Resources {
		if amount != 0 {
			req.amounts = append(req.amounts, classAmount{class, amount})
		}
	}
	var active [16]int // indexes of the filters that apply, len(filters) <= 16
	n := 0
	for fi := range filters {
		if ap := filterApplies[filters[fi].name]; ap == nil || ap(req) {
			active[n] = fi
			n++
		}
	}
	cands := make([]*Host, 0, len(snap.Hosts))
	var rejected [16]int // per filter
	for i := range snap.Hosts {
		h := &snap.Hosts[i]
		ok := true
		for _, fi := range active[:n] {
			if !filters[fi].keep(req, h) {
				rejected[fi]++
				ok = false
				break
			}
		}
		if ok {
			cands = append(cands, h)
		}
	}
	if len(cands) == 0 {
		r := map[string]int{}
		for fi, f := range filters {
			if rejected[fi] > 0 {
				r[f.name] = rejected[fi]
			}
		}
		return Placement{}, fmt.Errorf("%w (%d hosts; rejected by %s)", ErrNoValidHost, len(snap.Hosts), reasons(r))
	}
	w := weigh(req, cands)
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
	n := len(hosts)
	total := make([]float64, n)
	vals := make([]float64, 3*n)
	ram, cpu, inst := vals[:n], vals[n:2*n], vals[2*n:]
	for i, h := range hosts {
		ram[i] = float64(h.Inventory[MemoryMB].Capacity() - h.Used[MemoryMB])
		cpu[i] = float64(h.Inventory[VCPU].Capacity() - h.Used[VCPU])
		inst[i] = float64(h.Instances)
	}
	add := func(mult float64, vals []float64) {
		lo, hi := vals[0], vals[0]
		for _, v := range vals[1:] {
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi <= lo {
			return
		}
		for i, v := range vals {
			total[i] += mult * ((v - lo) / (hi - lo))
		}
	}
	add(ramWeight, ram)
	add(cpuWeight, cpu)
	add(instanceWeight, inst)
	if g := req.Group; g != nil && (g.Policy == SoftAffinity || g.Policy == SoftAntiAffinity) {
		mult := 1.0
		if g.Policy == SoftAntiAffinity {
			mult = -1.0
		}
		members := ram // reused
		for i, h := range hosts {
			members[i] = float64(g.Members[h.ID])
		}
		// Weigh group members heavier than the spread weighers together.
		add(10*mult, members)
	}
	return total
}
