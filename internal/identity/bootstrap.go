package identity

import (
	"context"
	"errors"

	"github.com/nubo-cloud/nubo/internal/store"
)

// CatalogEntry is a service Nubo serves, for the bootstrapped catalog.
type CatalogEntry struct {
	Type, Name, Description string
	// URL is the endpoint of all three interfaces.
	URL string
}

// BootstrapConfig is what the first start creates.
type BootstrapConfig struct {
	AdminPassword string
	Region        string
	Services      []CatalogEntry
}

// Bootstrap creates, if absent, the Default domain, the admin and service
// projects, the admin user, the roles admin ⊃ member ⊃ reader (and service),
// the region and the catalog, and points every catalog endpoint at its
// current URL. It is idempotent: a second run changes only what differs
// (an endpoint URL after a new --listen, the admin password if given anew).
func (s *Service) Bootstrap(ctx context.Context, cfg BootstrapConfig) error {
	if cfg.Region == "" {
		cfg.Region = "RegionOne"
	}
	hash := ""
	// Hash before the transaction: it is slow and needs no lock.
	var existing *User
	_ = s.read(ctx, func(tx store.ReadTx) error {
		if id, err := tx.Lookup(kindUser, scopedKey(DefaultDomainID, "admin")); err == nil {
			existing, _ = store.Get[User](tx, kindUser, id)
		}
		return nil
	})
	if cfg.AdminPassword != "" && (existing == nil || !checkHash(existing.PasswordHash, cfg.AdminPassword)) {
		h, err := s.hash(cfg.AdminPassword)
		if err != nil {
			return err
		}
		hash = h
	}
	return s.write(ctx, func(tx store.Tx) error {
		now := s.now()
		ensure := func(r store.Record) error {
			err := tx.Create(r)
			if errors.Is(err, store.ErrConflict) {
				return nil
			}
			return err
		}
		d := Domain{ID: DefaultDomainID, Name: "Default", Description: "The default domain", Enabled: true, Tags: []string{}, Options: map[string]any{}}
		if _, err := tx.Get(kindDomain, d.ID); errors.Is(err, store.ErrNotFound) {
			if err := putDomain(tx, &d, true); err != nil {
				return err
			}
		}
		roles := map[string]string{}
		for _, name := range []string{"admin", "member", "reader", "service"} {
			id, err := tx.Lookup(kindRole, scopedKey("", name))
			if errors.Is(err, store.ErrNotFound) {
				r := Role{ID: hexID(), Name: name, Options: map[string]any{}}
				if err := putRole(tx, &r, true); err != nil {
					return err
				}
				id = r.ID
			} else if err != nil {
				return err
			}
			roles[name] = id
		}
		for _, pair := range [][2]string{{"admin", "member"}, {"member", "reader"}} {
			p, i := roles[pair[0]], roles[pair[1]]
			if err := ensure(store.Record{Kind: kindImplied, ID: p + "/" + i, Ref: p, Value: ImpliedRole{PriorID: p, ImpliedID: i}}); err != nil {
				return err
			}
		}
		projects := map[string]string{}
		for _, name := range []string{"admin", "service"} {
			id, err := tx.Lookup(kindProject, scopedKey(DefaultDomainID, name))
			if errors.Is(err, store.ErrNotFound) {
				p := Project{ID: hexID(), Name: name, Description: "Bootstrap project for " + name, DomainID: DefaultDomainID, ParentID: DefaultDomainID, Enabled: true, Tags: []string{}, Options: map[string]any{}}
				if err := putProject(tx, &p, true); err != nil {
					return err
				}
				id = p.ID
			} else if err != nil {
				return err
			}
			projects[name] = id
		}
		var admin *User
		if id, err := tx.Lookup(kindUser, scopedKey(DefaultDomainID, "admin")); err == nil {
			if admin, err = store.Get[User](tx, kindUser, id); err != nil {
				return err
			}
			if hash != "" {
				admin.PasswordHash = hash
				admin.TokensValidAfter = now
				if err := putUser(tx, admin, false); err != nil {
					return err
				}
			}
		} else if errors.Is(err, store.ErrNotFound) {
			admin = &User{ID: hexID(), Name: "admin", DomainID: DefaultDomainID, DefaultProjectID: projects["admin"], Enabled: true, PasswordHash: hash, Options: map[string]any{}, CreatedAt: now}
			if err := putUser(tx, admin, true); err != nil {
				return err
			}
		} else {
			return err
		}
		for _, a := range []Assignment{
			{ActorType: ActorUser, ActorID: admin.ID, TargetType: TargetProject, TargetID: projects["admin"], RoleID: roles["admin"]},
			{ActorType: ActorUser, ActorID: admin.ID, TargetType: TargetDomain, TargetID: DefaultDomainID, RoleID: roles["admin"]},
			{ActorType: ActorUser, ActorID: admin.ID, TargetType: TargetSystem, TargetID: SystemTarget, RoleID: roles["admin"]},
		} {
			if err := ensure(store.Record{Kind: kindAssignment, ID: a.key(), Ref: actorRef(a.ActorType, a.ActorID), Value: a}); err != nil {
				return err
			}
		}
		if err := ensure(store.Record{Kind: kindRegion, ID: cfg.Region, Value: Region{ID: cfg.Region, Description: ""}}); err != nil {
			return err
		}
		svcs, err := store.List[ServiceEntry](tx, kindService, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, ce := range cfg.Services {
			var sv *ServiceEntry
			for i := range svcs {
				if svcs[i].Type == ce.Type {
					sv = &svcs[i]
				}
			}
			if sv == nil {
				sv = &ServiceEntry{ID: hexID(), Type: ce.Type, Name: ce.Name, Description: ce.Description, Enabled: true}
				if err := tx.Create(store.Record{Kind: kindService, ID: sv.ID, Value: sv}); err != nil {
					return err
				}
			}
			eps, err := store.List[Endpoint](tx, kindEndpoint, store.ListOptions{Ref: sv.ID})
			if err != nil {
				return err
			}
			for _, iface := range interfaces {
				var ep *Endpoint
				for i := range eps {
					if eps[i].Interface == iface && eps[i].RegionID == cfg.Region {
						ep = &eps[i]
					}
				}
				switch {
				case ep == nil:
					ep = &Endpoint{ID: hexID(), ServiceID: sv.ID, RegionID: cfg.Region, Interface: iface, URL: ce.URL, Enabled: true}
					if err := tx.Create(store.Record{Kind: kindEndpoint, ID: ep.ID, Ref: sv.ID, Value: ep}); err != nil {
						return err
					}
				case ep.URL != ce.URL:
					ep.URL = ce.URL
					if err := tx.Update(store.Record{Kind: kindEndpoint, ID: ep.ID, Ref: sv.ID, Value: ep}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}
