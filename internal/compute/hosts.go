package compute

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
)

// HostSpec registers a compute host.
type HostSpec struct {
	Name               string
	HypervisorHostname string
	HypervisorType     string
	HypervisorVersion  int64
	HostIP             string
	Driver             string
	// NetworkNode marks a host that serves routers, DHCP and metadata.
	NetworkNode bool
	CPUInfo     map[string]any
	Inventory   map[string]scheduler.Inventory
}

// RegisterHost creates or updates the compute host named spec.Name and its
// nova-compute service. It is for the control plane itself (bootstrap, host
// agents), not for API callers, so it checks no policy.
func (s *Service) RegisterHost(ctx context.Context, spec HostSpec) (*Host, error) {
	now := s.now()
	var h *Host
	err := s.write(ctx, func(tx store.Tx) error {
		id, err := tx.Lookup(KindHost, "name:"+spec.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			h = &Host{ID: newID(), Name: spec.Name, CreatedAt: now}
			if h.Seq, err = nextSeq(tx, "host"); err != nil {
				return err
			}
			svc, err := createService(tx, BinaryCompute, spec.Name, now)
			if err != nil {
				return err
			}
			h.ServiceID = svc.ID
		case err != nil:
			return err
		default:
			if h, err = get[Host](tx, KindHost, id, "host"); err != nil {
				return err
			}
		}
		h.HypervisorHostname, h.HypervisorType, h.HypervisorVersion = spec.HypervisorHostname, spec.HypervisorType, spec.HypervisorVersion
		h.HostIP, h.Driver, h.CPUInfo, h.NetworkNode = spec.HostIP, spec.Driver, spec.CPUInfo, spec.NetworkNode
		h.Inventory = spec.Inventory
		h.StartedAt = now
		h.Generation++
		rec := store.Record{Kind: KindHost, ID: h.ID, Unique: []string{"name:" + h.Name, seqKey(h.Seq)}, Value: h}
		if h.Generation == 1 {
			return tx.Create(rec)
		}
		return tx.Update(rec)
	})
	return h, err
}

// EnsureControlServices records the scheduler and conductor services of a
// control-plane host (zone "internal"), as Nova lists them.
func (s *Service) EnsureControlServices(ctx context.Context, host string) error {
	return s.write(ctx, func(tx store.Tx) error {
		for _, bin := range []string{BinaryScheduler, BinaryConductor} {
			if _, err := tx.Lookup(KindService, bin+"@"+host); err == nil {
				continue
			}
			if _, err := createService(tx, bin, host, s.now()); err != nil {
				return err
			}
		}
		return nil
	})
}

func createService(tx store.Tx, binary, host string, now time.Time) (*NovaService, error) {
	n, err := nextSeq(tx, "service")
	if err != nil {
		return nil, err
	}
	svc := &NovaService{ID: newID(), Seq: n, Binary: binary, Host: host, CreatedAt: now, UpdatedAt: &now}
	return svc, putService(tx, svc, true)
}

func putService(tx store.Tx, svc *NovaService, create bool) error {
	rec := store.Record{Kind: KindService, ID: svc.ID, Unique: []string{svc.Binary + "@" + svc.Host, seqKey(svc.Seq)}, Value: svc}
	if create {
		return tx.Create(rec)
	}
	return tx.Update(rec)
}

// usage sums allocations and counts servers per host.
type usage struct {
	used      map[string]scheduler.Resources
	instances map[string]int
	servers   map[string][]Server
}

// readUsage sums every allocation; withServers also lists the servers of
// each host (the hypervisor views need them, the scheduler does not).
func readUsage(tx store.ReadTx, withServers bool) (*usage, error) {
	allocs, err := store.List[Allocation](tx, KindAllocation, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	u := &usage{used: map[string]scheduler.Resources{}, instances: map[string]int{}, servers: map[string][]Server{}}
	for _, a := range allocs {
		r := u.used[a.ProviderID]
		if r == nil {
			r = scheduler.Resources{}
			u.used[a.ProviderID] = r
		}
		for k, v := range a.Resources {
			r[k] += v
		}
		u.instances[a.ProviderID]++
	}
	if !withServers {
		return u, nil
	}
	servers, err := store.List[Server](tx, KindServer, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, sv := range servers {
		if sv.HostID != "" && !sv.Deleted {
			u.servers[sv.HostID] = append(u.servers[sv.HostID], sv)
		}
	}
	return u, nil
}

// hostZones maps host names to their availability zone (from aggregates).
func hostZones(tx store.ReadTx) (map[string]string, []Aggregate, error) {
	aggs, err := store.List[Aggregate](tx, KindAggregate, store.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	zones := map[string]string{}
	for _, a := range aggs {
		if z := a.AvailabilityZone(); z != nil {
			for _, h := range a.Hosts {
				zones[h] = *z
			}
		}
	}
	return zones, aggs, nil
}

// Snapshot reads every host with its usage, zone, aggregate metadata and
// service state, for the scheduler.
func (s *Service) Snapshot(ctx context.Context) (scheduler.Snapshot, error) {
	var snap scheduler.Snapshot
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		snap, err = snapshot(tx)
		return err
	})
	return snap, err
}

func snapshot(tx store.ReadTx) (scheduler.Snapshot, error) {
	hosts, err := store.List[Host](tx, KindHost, store.ListOptions{})
	if err != nil {
		return scheduler.Snapshot{}, err
	}
	u, err := readUsage(tx, false)
	if err != nil {
		return scheduler.Snapshot{}, err
	}
	_, aggs, err := hostZones(tx)
	if err != nil {
		return scheduler.Snapshot{}, err
	}
	svcs, err := store.List[NovaService](tx, KindService, store.ListOptions{})
	if err != nil {
		return scheduler.Snapshot{}, err
	}
	services := make(map[string]*NovaService, len(svcs))
	for i := range svcs {
		services[svcs[i].ID] = &svcs[i]
	}
	snap := scheduler.Snapshot{Hosts: make([]scheduler.Host, 0, len(hosts))}
	for i := range hosts {
		snap.Hosts = append(snap.Hosts, schedHost(&hosts[i], services[hosts[i].ServiceID], aggs, u.used[hosts[i].ID], u.instances[hosts[i].ID]))
	}
	return snap, nil
}

// schedHost is h as the scheduler sees it: svc is its compute service (nil
// if missing), aggs every aggregate, used and instances its allocations.
func schedHost(h *Host, svc *NovaService, aggs []Aggregate, used scheduler.Resources, instances int) scheduler.Host {
	zone := ""
	md := map[string][]string{}
	for _, a := range aggs {
		if !slices.Contains(a.Hosts, h.Name) {
			continue
		}
		if z := a.AvailabilityZone(); z != nil {
			zone = *z
		}
		for k, v := range a.Metadata {
			md[k] = append(md[k], v)
		}
	}
	return scheduler.Host{
		ID: h.ID, Name: h.Name,
		Enabled:           svc != nil && !svc.Disabled && !svc.ForcedDown,
		AvailabilityZone:  zone,
		Inventory:         h.Inventory,
		Used:              used,
		Instances:         instances,
		AggregateMetadata: md,
	}
}

// HostView is a host with its service, zone and usage: what the hypervisor,
// availability-zone and placement APIs show.
type HostView struct {
	Host
	Service   NovaService
	Zone      string
	Used      scheduler.Resources
	Instances int
	Servers   []Server
}

// State is "up" unless the service is forced down.
func (v *HostView) State() string {
	if v.Service.ForcedDown {
		return "down"
	}
	return "up"
}

// Status is "enabled" or "disabled".
func (v *HostView) Status() string {
	if v.Service.Disabled {
		return "disabled"
	}
	return "enabled"
}

// ListHosts returns every compute host with its state (admin or system
// reader), ordered by their integer ID.
func (s *Service) ListHosts(ctx context.Context) ([]HostView, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []HostView
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = hostViews(tx)
		return err
	})
	return out, err
}

func hostViews(tx store.ReadTx) ([]HostView, error) {
	hosts, err := store.List[Host](tx, KindHost, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	u, err := readUsage(tx, true)
	if err != nil {
		return nil, err
	}
	zones, _, err := hostZones(tx)
	if err != nil {
		return nil, err
	}
	out := make([]HostView, 0, len(hosts))
	for _, h := range hosts {
		v := HostView{Host: h, Zone: zones[h.Name], Used: u.used[h.ID], Instances: u.instances[h.ID], Servers: u.servers[h.ID]}
		if v.Zone == "" {
			v.Zone = DefaultZone
		}
		if v.Used == nil {
			v.Used = scheduler.Resources{}
		}
		if svc, err := store.Get[NovaService](tx, KindService, h.ServiceID); err == nil {
			v.Service = *svc
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// GetHost returns one host by UUID or, when numeric, by its integer ID.
func (s *Service) GetHost(ctx context.Context, id string) (*HostView, error) {
	hs, err := s.ListHosts(ctx)
	if err != nil {
		return nil, err
	}
	for i := range hs {
		if hs[i].ID == id || strconv.FormatInt(hs[i].Seq, 10) == id {
			return &hs[i], nil
		}
	}
	return nil, notFound("Hypervisor with ID %s could not be found.", id)
}

// HostByName returns the compute host named name, or a 404 fault.
func hostByName(tx store.ReadTx, name string) (*Host, error) {
	id, err := tx.Lookup(KindHost, "name:"+name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Compute host %s could not be found.", name)
	}
	if err != nil {
		return nil, fmt.Errorf("look up host %s: %w", name, err)
	}
	return get[Host](tx, KindHost, id, "Compute host "+name+" could not be found.")
}
