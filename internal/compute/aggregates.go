package compute

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/store"
)

func aggregateNotFound(id string) error { return notFound("Aggregate %s could not be found.", id) }

func aggregateRecord(a *Aggregate) store.Record {
	return store.Record{Kind: KindAggregate, ID: a.UUID, Unique: []string{"name:" + a.Name, seqKey(a.ID)}, Value: a}
}

func findAggregate(tx store.ReadTx, id string) (*Aggregate, error) {
	uuid := id
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		u, err := tx.Lookup(KindAggregate, seqKey(n))
		if errors.Is(err, store.ErrNotFound) {
			return nil, aggregateNotFound(id)
		}
		if err != nil {
			return nil, err
		}
		uuid = u
	}
	return get[Aggregate](tx, KindAggregate, uuid, "Aggregate "+id+" could not be found.")
}

func validateZoneName(z *string) error {
	if z == nil {
		return nil
	}
	if *z == "" || len(*z) > 255 || strings.TrimSpace(*z) != *z {
		return badRequest("Invalid input for field/attribute availability_zone. Value: %s.", *z)
	}
	if strings.Contains(*z, ":") {
		return badRequest("Invalid input for field/attribute availability_zone. Value: %s. ':' is not allowed.", *z)
	}
	return nil
}

func validateAggregateName(name string) error {
	if name == "" || len(name) > 255 || strings.TrimSpace(name) != name {
		return badRequest("Invalid input for field/attribute name. Value: %s. name must be 1 to 255 characters without leading or trailing spaces.", name)
	}
	return nil
}

// CreateAggregate adds a host aggregate (admin), optionally an availability zone.
func (s *Service) CreateAggregate(ctx context.Context, name string, zone *string) (*Aggregate, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if err := validateAggregateName(name); err != nil {
		return nil, err
	}
	if err := validateZoneName(zone); err != nil {
		return nil, err
	}
	a := &Aggregate{UUID: newID(), Name: name, Hosts: []string{}, Metadata: map[string]string{}, CreatedAt: s.now()}
	if zone != nil {
		a.Metadata["availability_zone"] = *zone
	}
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if a.ID, err = nextSeq(tx, "aggregate"); err != nil {
			return err
		}
		err = tx.Create(aggregateRecord(a))
		if errors.Is(err, store.ErrConflict) {
			return conflict("Aggregate %s already exists.", name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// GetAggregate returns an aggregate by integer ID or UUID (admin).
func (s *Service) GetAggregate(ctx context.Context, id string) (*Aggregate, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var a *Aggregate
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		a, err = findAggregate(tx, id)
		return err
	})
	return a, err
}

// ListAggregates returns every aggregate by ID (admin).
func (s *Service) ListAggregates(ctx context.Context) ([]Aggregate, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Aggregate
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Aggregate](tx, KindAggregate, store.ListOptions{})
		return err
	})
	slices.SortFunc(out, func(a, b Aggregate) int { return cmpInt(a.ID, b.ID) })
	return out, err
}

// UpdateAggregate renames an aggregate or changes its zone (admin).
func (s *Service) UpdateAggregate(ctx context.Context, id string, name, zone *string) (*Aggregate, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if name != nil {
		if err := validateAggregateName(*name); err != nil {
			return nil, err
		}
	}
	if err := validateZoneName(zone); err != nil {
		return nil, err
	}
	return s.mutateAggregate(ctx, id, func(tx store.Tx, a *Aggregate) error {
		if name != nil {
			a.Name = *name
		}
		if zone != nil {
			if err := checkZoneChange(tx, a, *zone); err != nil {
				return err
			}
			a.Metadata["availability_zone"] = *zone
		}
		return nil
	})
}

// checkZoneChange refuses a zone that would put a host of a in two zones.
func checkZoneChange(tx store.ReadTx, a *Aggregate, zone string) error {
	zones, _, err := hostZonesExcept(tx, a.UUID)
	if err != nil {
		return err
	}
	for _, h := range a.Hosts {
		if z, ok := zones[h]; ok && z != zone {
			return badRequest("Cannot update aggregate %d. Reason: One or more hosts already in availability zone(s) [%s].", a.ID, z)
		}
	}
	return nil
}

func hostZonesExcept(tx store.ReadTx, skip string) (map[string]string, []Aggregate, error) {
	aggs, err := store.List[Aggregate](tx, KindAggregate, store.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	zones := map[string]string{}
	for _, a := range aggs {
		if a.UUID == skip {
			continue
		}
		if z := a.AvailabilityZone(); z != nil {
			for _, h := range a.Hosts {
				zones[h] = *z
			}
		}
	}
	return zones, aggs, nil
}

func (s *Service) mutateAggregate(ctx context.Context, id string, fn func(store.Tx, *Aggregate) error) (*Aggregate, error) {
	var a *Aggregate
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if a, err = findAggregate(tx, id); err != nil {
			return err
		}
		if err := fn(tx, a); err != nil {
			return err
		}
		now := s.now()
		a.UpdatedAt = &now
		err = tx.Update(aggregateRecord(a))
		if errors.Is(err, store.ErrConflict) {
			return conflict("Aggregate %s already exists.", a.Name)
		}
		return err
	})
	return a, err
}

// DeleteAggregate removes an empty aggregate (admin).
func (s *Service) DeleteAggregate(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		a, err := findAggregate(tx, id)
		if err != nil {
			return err
		}
		if len(a.Hosts) > 0 {
			return badRequest("Invalid aggregate action: delete on aggregate %d. Reason: Host aggregate is not empty.", a.ID)
		}
		return tx.Delete(KindAggregate, a.UUID)
	})
}

// AddAggregateHost adds a compute host to an aggregate (admin).
func (s *Service) AddAggregateHost(ctx context.Context, id, host string) (*Aggregate, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	return s.mutateAggregate(ctx, id, func(tx store.Tx, a *Aggregate) error {
		if _, err := hostByName(tx, host); err != nil {
			return err
		}
		if slices.Contains(a.Hosts, host) {
			return conflict("Aggregate %d already has host %s.", a.ID, host)
		}
		if z := a.AvailabilityZone(); z != nil {
			zones, _, err := hostZonesExcept(tx, a.UUID)
			if err != nil {
				return err
			}
			if other, ok := zones[host]; ok && other != *z {
				return conflict("Cannot add host %s to aggregate %d: host is already in availability zone %s.", host, a.ID, other)
			}
		}
		a.Hosts = append(a.Hosts, host)
		return nil
	})
}

// RemoveAggregateHost removes a host from an aggregate (admin).
func (s *Service) RemoveAggregateHost(ctx context.Context, id, host string) (*Aggregate, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	return s.mutateAggregate(ctx, id, func(tx store.Tx, a *Aggregate) error {
		i := slices.Index(a.Hosts, host)
		if i < 0 {
			if _, err := hostByName(tx, host); err != nil {
				return err
			}
			return notFound("Cannot remove host %s from aggregate %d: host not found in it.", host, a.ID)
		}
		a.Hosts = slices.Delete(a.Hosts, i, i+1)
		return nil
	})
}

// SetAggregateMetadata merges metadata into an aggregate; nil values delete
// keys (admin).
func (s *Service) SetAggregateMetadata(ctx context.Context, id string, md map[string]*string) (*Aggregate, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	for k, v := range md {
		if k == "" || len(k) > 255 || (v != nil && len(*v) > 255) {
			return nil, badRequest("Invalid input for field/attribute metadata. Keys and values must be 1 to 255 characters.")
		}
		if k == "availability_zone" {
			if err := validateZoneName(v); err != nil {
				return nil, err
			}
		}
	}
	return s.mutateAggregate(ctx, id, func(tx store.Tx, a *Aggregate) error {
		for k, v := range md {
			if v == nil {
				delete(a.Metadata, k)
				continue
			}
			if k == "availability_zone" {
				if err := checkZoneChange(tx, a, *v); err != nil {
					return err
				}
			}
			a.Metadata[k] = *v
		}
		return nil
	})
}

func removeHostFromAggregates(tx store.Tx, host string) error {
	aggs, err := store.List[Aggregate](tx, KindAggregate, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, a := range aggs {
		if i := slices.Index(a.Hosts, host); i >= 0 {
			a.Hosts = slices.Delete(a.Hosts, i, i+1)
			if err := tx.Update(aggregateRecord(&a)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Zone is an availability zone with its hosts' services.
type Zone struct {
	Name      string
	Available bool
	// Hosts maps host name → its services in the zone.
	Hosts map[string][]ServiceView
}

// ListZones returns the availability zones: those of compute hosts, and with
// detail (admin) the internal zone of control services too.
func (s *Service) ListZones(ctx context.Context, detail bool) ([]Zone, error) {
	if detail {
		if err := requireReader(ctx); err != nil {
			return nil, err
		}
	}
	var svcs []ServiceView
	err := s.read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[NovaService](tx, KindService, store.ListOptions{})
		if err != nil {
			return err
		}
		zones, _, err := hostZones(tx)
		if err != nil {
			return err
		}
		for _, sv := range all {
			svcs = append(svcs, ServiceView{NovaService: sv, Zone: serviceZone(&sv, zones)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	byName := map[string]*Zone{}
	var order []string
	for _, sv := range svcs {
		if sv.Zone == InternalZone && !detail {
			continue
		}
		z := byName[sv.Zone]
		if z == nil {
			z = &Zone{Name: sv.Zone, Hosts: map[string][]ServiceView{}}
			byName[sv.Zone] = z
			order = append(order, sv.Zone)
		}
		if !sv.Disabled {
			z.Available = true
		}
		z.Hosts[sv.Host] = append(z.Hosts[sv.Host], sv)
	}
	slices.Sort(order)
	out := make([]Zone, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out, nil
}
