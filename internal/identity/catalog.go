package identity

import (
	"context"
	"errors"
	"slices"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Endpoint interfaces.
var interfaces = []string{"public", "internal", "admin"}

// CreateRegion adds a region; an empty ID gets a generated one.
func (s *Service) CreateRegion(ctx context.Context, r Region) (*Region, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if r.ID == "" {
		r.ID = hexID()
	}
	err := s.write(ctx, func(tx store.Tx) error {
		if err := checkParentRegion(tx, r.ID, r.ParentRegionID); err != nil {
			return err
		}
		err := tx.Create(store.Record{Kind: kindRegion, ID: r.ID, Value: r})
		if errors.Is(err, store.ErrConflict) {
			return conflict("region", "Duplicate ID, "+r.ID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func checkParentRegion(tx store.ReadTx, id, parent string) error {
	for cur := parent; cur != ""; {
		if cur == id {
			return badRequest("Circular reference or a repeated entry found in region tree - %s.", id)
		}
		p, err := store.Get[Region](tx, kindRegion, cur)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("region", cur)
		}
		if err != nil {
			return err
		}
		cur = p.ParentRegionID
	}
	return nil
}

// GetRegion returns a region (any authenticated caller).
func (s *Service) GetRegion(ctx context.Context, id string) (*Region, error) {
	var r *Region
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		r, err = get[Region](tx, kindRegion, "region", id)
		return err
	})
	return r, err
}

// ListRegions returns every region.
func (s *Service) ListRegions(ctx context.Context) ([]Region, error) {
	var out []Region
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Region](tx, kindRegion, store.ListOptions{})
		return err
	})
	return out, err
}

// UpdateRegion applies mutate to a region.
func (s *Service) UpdateRegion(ctx context.Context, id string, mutate func(*Region) error) (*Region, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var r *Region
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if r, err = get[Region](tx, kindRegion, "region", id); err != nil {
			return err
		}
		if err := mutate(r); err != nil {
			return err
		}
		r.ID = id
		if err := checkParentRegion(tx, id, r.ParentRegionID); err != nil {
			return err
		}
		return tx.Update(store.Record{Kind: kindRegion, ID: id, Value: r})
	})
	return r, err
}

// DeleteRegion removes a region with no child regions and no endpoints.
func (s *Service) DeleteRegion(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if _, err := get[Region](tx, kindRegion, "region", id); err != nil {
			return err
		}
		regions, err := store.List[Region](tx, kindRegion, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, r := range regions {
			if r.ParentRegionID == id {
				return fault.New(fault.Forbidden, "Unable to delete region %s because it or its child regions have associated endpoints.", id)
			}
		}
		eps, err := store.List[Endpoint](tx, kindEndpoint, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range eps {
			if e.RegionID == id {
				return fault.New(fault.Forbidden, "Unable to delete region %s because it or its child regions have associated endpoints.", id)
			}
		}
		return tx.Delete(kindRegion, id)
	})
}

// CreateService adds a catalog service.
func (s *Service) CreateService(ctx context.Context, sv ServiceEntry) (*ServiceEntry, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if sv.ID == "" {
		sv.ID = hexID()
	}
	err := s.write(ctx, func(tx store.Tx) error {
		return tx.Create(store.Record{Kind: kindService, ID: sv.ID, Value: sv})
	})
	if err != nil {
		return nil, err
	}
	return &sv, nil
}

// GetService returns a catalog service.
func (s *Service) GetService(ctx context.Context, id string) (*ServiceEntry, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var sv *ServiceEntry
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		sv, err = get[ServiceEntry](tx, kindService, "service", id)
		return err
	})
	return sv, err
}

// ListServices returns the catalog services.
func (s *Service) ListServices(ctx context.Context) ([]ServiceEntry, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []ServiceEntry
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[ServiceEntry](tx, kindService, store.ListOptions{})
		return err
	})
	return out, err
}

// UpdateService applies mutate to a catalog service.
func (s *Service) UpdateService(ctx context.Context, id string, mutate func(*ServiceEntry) error) (*ServiceEntry, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var sv *ServiceEntry
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if sv, err = get[ServiceEntry](tx, kindService, "service", id); err != nil {
			return err
		}
		if err := mutate(sv); err != nil {
			return err
		}
		sv.ID = id
		return tx.Update(store.Record{Kind: kindService, ID: id, Value: sv})
	})
	return sv, err
}

// DeleteService removes a catalog service and its endpoints.
func (s *Service) DeleteService(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if _, err := get[ServiceEntry](tx, kindService, "service", id); err != nil {
			return err
		}
		if err := deleteAll(tx, kindEndpoint, id); err != nil {
			return err
		}
		return tx.Delete(kindService, id)
	})
}

func checkEndpoint(tx store.ReadTx, e *Endpoint) error {
	if !slices.Contains(interfaces, e.Interface) {
		return badRequest("Invalid input for field 'interface': '%s' is not one of ['admin', 'internal', 'public'].", e.Interface)
	}
	if e.URL == "" {
		return badRequest("Invalid input for field 'url': None is not of type 'string'.")
	}
	if _, err := store.Get[ServiceEntry](tx, kindService, e.ServiceID); errors.Is(err, store.ErrNotFound) {
		return badRequest("Could not find service: %s.", e.ServiceID)
	} else if err != nil {
		return err
	}
	if e.RegionID != "" {
		if _, err := store.Get[Region](tx, kindRegion, e.RegionID); errors.Is(err, store.ErrNotFound) {
			return badRequest("Could not find region: %s.", e.RegionID)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreateEndpoint adds an endpoint.
func (s *Service) CreateEndpoint(ctx context.Context, e Endpoint) (*Endpoint, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if e.ID == "" {
		e.ID = hexID()
	}
	err := s.write(ctx, func(tx store.Tx) error {
		if err := checkEndpoint(tx, &e); err != nil {
			return err
		}
		return tx.Create(store.Record{Kind: kindEndpoint, ID: e.ID, Ref: e.ServiceID, Value: e})
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// GetEndpoint returns an endpoint.
func (s *Service) GetEndpoint(ctx context.Context, id string) (*Endpoint, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var e *Endpoint
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		e, err = get[Endpoint](tx, kindEndpoint, "endpoint", id)
		return err
	})
	return e, err
}

// ListEndpoints returns every endpoint.
func (s *Service) ListEndpoints(ctx context.Context) ([]Endpoint, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Endpoint
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Endpoint](tx, kindEndpoint, store.ListOptions{})
		return err
	})
	return out, err
}

// UpdateEndpoint applies mutate to an endpoint.
func (s *Service) UpdateEndpoint(ctx context.Context, id string, mutate func(*Endpoint) error) (*Endpoint, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var e *Endpoint
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if e, err = get[Endpoint](tx, kindEndpoint, "endpoint", id); err != nil {
			return err
		}
		if err := mutate(e); err != nil {
			return err
		}
		e.ID = id
		if err := checkEndpoint(tx, e); err != nil {
			return err
		}
		return tx.Update(store.Record{Kind: kindEndpoint, ID: id, Ref: e.ServiceID, Value: e})
	})
	return e, err
}

// DeleteEndpoint removes an endpoint.
func (s *Service) DeleteEndpoint(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := tx.Delete(kindEndpoint, id); errors.Is(err, store.ErrNotFound) {
			return notFound("endpoint", id)
		} else {
			return err
		}
	})
}

// CatalogEndpoint is one endpoint as the token catalog shows it.
type CatalogEndpoint struct {
	ID        string `json:"id"`
	Interface string `json:"interface"`
	RegionID  string `json:"region_id"`
	Region    string `json:"region"`
	URL       string `json:"url"`
}

// CatalogService is one service of the token catalog.
type CatalogService struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Name      string            `json:"name"`
	Endpoints []CatalogEndpoint `json:"endpoints"`
}

// Catalog returns the service catalog: enabled services with their enabled
// endpoints. It is cached until the next identity write.
func (s *Service) Catalog(ctx context.Context) ([]CatalogService, error) {
	gen := s.gen.Load()
	s.catMu.Lock()
	if s.catOK && s.catGen == gen {
		c := s.cat
		s.catMu.Unlock()
		return c, nil
	}
	s.catMu.Unlock()
	var out []CatalogService
	err := s.read(ctx, func(tx store.ReadTx) error {
		svcs, err := store.List[ServiceEntry](tx, kindService, store.ListOptions{})
		if err != nil {
			return err
		}
		eps, err := store.List[Endpoint](tx, kindEndpoint, store.ListOptions{})
		if err != nil {
			return err
		}
		out = make([]CatalogService, 0, len(svcs))
		for _, sv := range svcs {
			if !sv.Enabled {
				continue
			}
			cs := CatalogService{ID: sv.ID, Type: sv.Type, Name: sv.Name, Endpoints: []CatalogEndpoint{}}
			for _, e := range eps {
				if e.ServiceID == sv.ID && e.Enabled {
					cs.Endpoints = append(cs.Endpoints, CatalogEndpoint{ID: e.ID, Interface: e.Interface, RegionID: e.RegionID, Region: e.RegionID, URL: e.URL})
				}
			}
			out = append(out, cs)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.catMu.Lock()
	s.cat, s.catGen, s.catOK = out, gen, true
	s.catMu.Unlock()
	return out, nil
}

// EnsureRegion creates region id if it does not exist (admin).
func (s *Service) EnsureRegion(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		err := tx.Create(store.Record{Kind: kindRegion, ID: id, Value: Region{ID: id}})
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	})
}
