package compute

import (
	"errors"
	"maps"
	"slices"

	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
)

// placementCache is the ServerReconciler's copy of what the scheduler needs
// (hosts, their services, aggregates and every allocation), so that placing
// a server costs no store read proportional to the cloud's size. It is
// loaded whole on start and resync and kept current from the change feed:
// each changed host, service or allocation is read again (level-triggered,
// so a change seen late or twice is harmless), any aggregate change reloads
// the aggregates, and the reconciler's own claims are applied as they
// commit. It may lag the store; that costs nothing but a retry, because
// claims re-check capacity in their write transaction. It is used by one
// goroutine (the reconciler's) at a time.
type placementCache struct {
	hosts    map[string]*Host        // by ID
	services map[string]*NovaService // by ID
	aggs     []Aggregate
	allocs   map[string]cachedAlloc // by consumer ID
	used     map[string]scheduler.Resources
	count    map[string]int // allocations per host
	// order is the host IDs sorted (the store's List order); nil when a
	// host was added or removed since.
	order []string
	// sched caches each host's scheduler view minus its usage; nil entries
	// (or a nil map) are rebuilt.
	sched map[string]*scheduler.Host
}

type cachedAlloc struct {
	host string
	res  scheduler.Resources
}

// load reads the whole cache in tx.
func (c *placementCache) load(tx store.ReadTx) error {
	hosts, err := store.List[Host](tx, KindHost, store.ListOptions{})
	if err != nil {
		return err
	}
	svcs, err := store.List[NovaService](tx, KindService, store.ListOptions{})
	if err != nil {
		return err
	}
	aggs, err := store.List[Aggregate](tx, KindAggregate, store.ListOptions{})
	if err != nil {
		return err
	}
	allocs, err := store.List[Allocation](tx, KindAllocation, store.ListOptions{})
	if err != nil {
		return err
	}
	*c = placementCache{hosts: map[string]*Host{}, services: map[string]*NovaService{}, aggs: aggs,
		allocs: make(map[string]cachedAlloc, len(allocs)), used: map[string]scheduler.Resources{}, count: map[string]int{}}
	for i := range hosts {
		c.hosts[hosts[i].ID] = &hosts[i]
	}
	for i := range svcs {
		c.services[svcs[i].ID] = &svcs[i]
	}
	for _, a := range allocs {
		c.setAlloc(a.ConsumerID, a.ProviderID, a.Resources)
	}
	return nil
}

func (c *placementCache) loaded() bool { return c.hosts != nil }

// setAlloc records that consumer holds res on host ("" host: nothing).
func (c *placementCache) setAlloc(consumer, host string, res scheduler.Resources) {
	if old, ok := c.allocs[consumer]; ok {
		u := c.used[old.host]
		for k, v := range old.res {
			u[k] -= v
		}
		c.count[old.host]--
		delete(c.allocs, consumer)
	}
	if host == "" {
		return
	}
	c.allocs[consumer] = cachedAlloc{host: host, res: res}
	u := c.used[host]
	if u == nil {
		u = scheduler.Resources{}
		c.used[host] = u
	}
	for k, v := range res {
		u[k] += v
	}
	c.count[host]++
}

// apply reads again, in tx, every host, service, aggregate and allocation
// that changes names.
func (c *placementCache) apply(tx store.ReadTx, changes []store.Change) error {
	aggsChanged := false
	for _, ch := range changes {
		switch ch.Kind {
		case KindAllocation:
			a, err := store.Get[Allocation](tx, KindAllocation, ch.ID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				c.setAlloc(ch.ID, "", nil)
			case err != nil:
				return err
			default:
				c.setAlloc(a.ConsumerID, a.ProviderID, a.Resources)
			}
		case KindHost:
			h, err := store.Get[Host](tx, KindHost, ch.ID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				if _, ok := c.hosts[ch.ID]; ok {
					delete(c.hosts, ch.ID)
					c.order = nil
				}
			case err != nil:
				return err
			default:
				if _, ok := c.hosts[h.ID]; !ok {
					c.order = nil
				}
				c.hosts[h.ID] = h
			}
			delete(c.sched, ch.ID)
		case KindService:
			svc, err := store.Get[NovaService](tx, KindService, ch.ID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				delete(c.services, ch.ID)
			case err != nil:
				return err
			default:
				c.services[svc.ID] = svc
			}
			c.sched = nil // which host it serves is not indexed; rebuild all views
		case KindAggregate:
			aggsChanged = true
		}
	}
	if aggsChanged {
		aggs, err := store.List[Aggregate](tx, KindAggregate, store.ListOptions{})
		if err != nil {
			return err
		}
		c.aggs, c.sched = aggs, nil
	}
	return nil
}

// placementKinds are the kinds apply follows.
var placementKinds = []string{KindAllocation, KindHost, KindService, KindAggregate}

// snapshot returns the scheduler's view of every host, with usage copied so
// that the caller may add its own placements to it.
func (c *placementCache) snapshot() scheduler.Snapshot {
	if c.order == nil {
		c.order = slices.Sorted(maps.Keys(c.hosts))
	}
	if c.sched == nil {
		c.sched = make(map[string]*scheduler.Host, len(c.hosts))
	}
	snap := scheduler.Snapshot{Hosts: make([]scheduler.Host, 0, len(c.order))}
	for _, id := range c.order {
		v := c.sched[id]
		if v == nil {
			h := c.hosts[id]
			sh := schedHost(h, c.services[h.ServiceID], c.aggs, nil, 0)
			v = &sh
			c.sched[id] = v
		}
		sh := *v
		sh.Used = maps.Clone(c.used[id])
		if sh.Used == nil {
			sh.Used = scheduler.Resources{}
		}
		sh.Instances = c.count[id]
		snap.Hosts = append(snap.Hosts, sh)
	}
	return snap
}
