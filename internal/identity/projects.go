package identity

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// MaxProjectDepth is the deepest project hierarchy allowed, counting the
// domain's top-level projects as depth 1 (Keystone's default).
const MaxProjectDepth = 5

func domainKey(name string) string           { return strings.ToLower(name) }
func scopedKey(domainID, name string) string { return domainID + "/" + name }

func putDomain(tx store.Tx, d *Domain, create bool) error {
	r := store.Record{Kind: kindDomain, ID: d.ID, Unique: []string{domainKey(d.Name)}, Value: d}
	var err error
	if create {
		err = tx.Create(r)
	} else {
		err = tx.Update(r)
	}
	if errors.Is(err, store.ErrConflict) {
		return conflict("domain", "Duplicate entry found with name "+d.Name)
	}
	return err
}

// CreateDomain adds a domain.
func (s *Service) CreateDomain(ctx context.Context, d Domain) (*Domain, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if d.ID == "" {
		d.ID = hexID()
	}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if d.Options == nil {
		d.Options = map[string]any{}
	}
	err := s.write(ctx, func(tx store.Tx) error { return putDomain(tx, &d, true) })
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// GetDomain returns a domain the caller may see.
func (s *Service) GetDomain(ctx context.Context, id string) (*Domain, error) {
	c := creds(ctx)
	if !c.IsReader() && c.DomainID != id && c.ProjectDomainID != id && c.UserDomainID != id {
		return nil, forbidden()
	}
	var d *Domain
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		d, err = get[Domain](tx, kindDomain, "domain", id)
		return err
	})
	return d, err
}

// ListDomains returns all domains (admin).
func (s *Service) ListDomains(ctx context.Context) ([]Domain, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Domain
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Domain](tx, kindDomain, store.ListOptions{})
		return err
	})
	return out, err
}

// UpdateDomain applies mutate to a domain.
func (s *Service) UpdateDomain(ctx context.Context, id string, mutate func(*Domain) error) (*Domain, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var d *Domain
	err := s.write(ctx, func(tx store.Tx) (err error) {
		d, err = get[Domain](tx, kindDomain, "domain", id)
		if err != nil {
			return err
		}
		wasEnabled := d.Enabled
		if err := mutate(d); err != nil {
			return err
		}
		d.ID = id
		if wasEnabled && !d.Enabled {
			d.TokensValidAfter = s.now()
		}
		return putDomain(tx, d, false)
	})
	return d, err
}

// DeleteDomain removes a disabled domain and everything in it.
func (s *Service) DeleteDomain(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		d, err := get[Domain](tx, kindDomain, "domain", id)
		if err != nil {
			return err
		}
		if d.Enabled {
			return fault.New(fault.Forbidden, "Cannot delete a domain that is enabled, please disable it first.")
		}
		if id == DefaultDomainID {
			return fault.New(fault.Forbidden, "Cannot delete the default domain.")
		}
		projects, err := store.List[Project](tx, kindProject, store.ListOptions{Ref: id})
		if err != nil {
			return err
		}
		// Children first, so every project deleted is a leaf.
		slices.SortFunc(projects, func(a, b Project) int { return depthOf(projects, b) - depthOf(projects, a) })
		for _, p := range projects {
			if err := deleteProjectTx(tx, p.ID); err != nil {
				return err
			}
		}
		for _, kind := range []string{kindUser, kindGroup, kindRole} {
			items, err := tx.List(kind, store.ListOptions{Ref: id})
			if err != nil {
				return err
			}
			for _, it := range items {
				var err error
				switch kind {
				case kindUser:
					err = deleteUserTx(tx, it.ID)
				case kindGroup:
					err = deleteGroupTx(tx, it.ID)
				case kindRole:
					err = deleteRoleTx(tx, it.ID)
				}
				if err != nil {
					return err
				}
			}
		}
		if err := deleteAssignmentsTo(tx, TargetDomain, id); err != nil {
			return err
		}
		if err := tx.Delete(kindDomainConfig, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.Delete(kindDomain, id)
	})
}

func depthOf(all []Project, p Project) int {
	byID := map[string]Project{}
	for _, q := range all {
		byID[q.ID] = q
	}
	d := 1
	for cur := p; cur.ParentID != cur.DomainID; d++ {
		next, ok := byID[cur.ParentID]
		if !ok {
			break
		}
		cur = next
	}
	return d
}

func putProject(tx store.Tx, p *Project, create bool) error {
	r := store.Record{Kind: kindProject, ID: p.ID, Ref: p.DomainID, Unique: []string{scopedKey(p.DomainID, p.Name)}, Value: p}
	var err error
	if create {
		err = tx.Create(r)
	} else {
		err = tx.Update(r)
	}
	if errors.Is(err, store.ErrConflict) {
		return conflict("project", "Duplicate entry found with name "+p.Name+" at domain ID "+p.DomainID)
	}
	return err
}

// projectDepth returns the depth of a project whose parent is parentID in domainID.
func projectDepth(tx store.ReadTx, domainID, parentID string) (int, error) {
	depth := 1
	for cur := parentID; cur != domainID; depth++ {
		p, err := get[Project](tx, kindProject, "project", cur)
		if err != nil {
			return 0, err
		}
		cur = p.ParentID
	}
	return depth, nil
}

// CreateProject adds a project; an empty DomainID means the parent's domain,
// or else the caller's.
func (s *Service) CreateProject(ctx context.Context, p Project) (*Project, error) {
	c := creds(ctx)
	if !c.IsAdmin() {
		return nil, forbidden()
	}
	p.ID = hexID()
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if p.Options == nil {
		p.Options = map[string]any{}
	}
	err := s.write(ctx, func(tx store.Tx) error {
		if p.ParentID != "" && p.DomainID == "" {
			if parent, err := store.Get[Project](tx, kindProject, p.ParentID); err == nil {
				p.DomainID = parent.DomainID
			} else if _, err := store.Get[Domain](tx, kindDomain, p.ParentID); err == nil {
				p.DomainID = p.ParentID
			}
		}
		if p.DomainID == "" {
			p.DomainID = c.ProjectDomainID
			if c.DomainID != "" {
				p.DomainID = c.DomainID
			}
			if p.DomainID == "" {
				p.DomainID = DefaultDomainID
			}
		}
		if err := requireDomain(tx, p.DomainID); err != nil {
			return err
		}
		if p.ParentID == "" {
			p.ParentID = p.DomainID
		}
		if p.ParentID != p.DomainID {
			parent, err := store.Get[Project](tx, kindProject, p.ParentID)
			if errors.Is(err, store.ErrNotFound) {
				return fault.New(fault.NotFound, "Could not find project: %s.", p.ParentID)
			}
			if err != nil {
				return err
			}
			if parent.DomainID != p.DomainID {
				return fault.New(fault.BadRequest, "Cannot create project, the parent (%s) is in a different domain (%s).", parent.ID, parent.DomainID)
			}
			depth, err := projectDepth(tx, p.DomainID, p.ParentID)
			if err != nil {
				return err
			}
			if depth+1 > MaxProjectDepth {
				return fault.New(fault.Forbidden, "Max hierarchy depth reached for %s branch.", p.ParentID)
			}
		}
		return putProject(tx, &p, true)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// GetProject returns a project the caller may see.
func (s *Service) GetProject(ctx context.Context, id string) (*Project, error) {
	c := creds(ctx)
	if !c.IsReader() && c.ProjectID != id && !(c.DomainID != "" && c.HasRole("admin")) {
		// A user may read a project they hold a role on.
		ok, err := s.userHasProject(ctx, c.UserID, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, forbidden()
		}
	}
	var p *Project
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		p, err = get[Project](tx, kindProject, "project", id)
		return err
	})
	return p, err
}

func (s *Service) userHasProject(ctx context.Context, userID, projectID string) (bool, error) {
	var ok bool
	err := s.read(ctx, func(tx store.ReadTx) error {
		roles, err := effectiveRoles(tx, userID, TargetProject, projectID)
		ok = len(roles) > 0
		return err
	})
	return ok, err
}

// ListProjects returns all projects (admin, or a domain-scoped caller's domain).
func (s *Service) ListProjects(ctx context.Context) ([]Project, error) {
	c := creds(ctx)
	domain := ""
	switch {
	case c.IsReader():
	case c.DomainID != "" && c.HasRole("reader"):
		domain = c.DomainID
	default:
		return nil, forbidden()
	}
	all, err := listCached[Project](ctx, s, kindProject)
	if err != nil || domain == "" {
		return all, err
	}
	var out []Project
	for _, p := range all {
		if p.DomainID == domain {
			out = append(out, p)
		}
	}
	return out, nil
}

// ProjectTree returns every project of the project's domain, for the
// parents/subtree views.
func (s *Service) ProjectTree(ctx context.Context, domainID string) ([]Project, error) {
	var out []Project
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Project](tx, kindProject, store.ListOptions{Ref: domainID})
		return err
	})
	return out, err
}

// UpdateProject applies mutate to a project. Domain and parent cannot change.
func (s *Service) UpdateProject(ctx context.Context, id string, mutate func(*Project) error) (*Project, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var p *Project
	err := s.write(ctx, func(tx store.Tx) (err error) {
		p, err = get[Project](tx, kindProject, "project", id)
		if err != nil {
			return err
		}
		old := *p
		if err := mutate(p); err != nil {
			return err
		}
		p.ID = id
		if p.DomainID != old.DomainID {
			return badRequest("Update of `domain_id` is not allowed.")
		}
		if p.ParentID != old.ParentID {
			return fault.New(fault.Forbidden, "Update of `parent_id` is not allowed.")
		}
		if old.Enabled && !p.Enabled {
			p.TokensValidAfter = s.now()
		}
		return putProject(tx, p, false)
	})
	return p, err
}

// DeleteProject removes a leaf project and its role assignments.
func (s *Service) DeleteProject(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		p, err := get[Project](tx, kindProject, "project", id)
		if err != nil {
			return err
		}
		siblings, err := store.List[Project](tx, kindProject, store.ListOptions{Ref: p.DomainID})
		if err != nil {
			return err
		}
		for _, q := range siblings {
			if q.ParentID == id {
				return fault.New(fault.Forbidden, "Cannot delete the project %s since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.", id)
			}
		}
		return deleteProjectTx(tx, id)
	})
}

// deleteProjectTx removes a project with everything that points at it:
// role assignments, endpoint and endpoint-group associations, and
// credentials scoped to it.
func deleteProjectTx(tx store.Tx, id string) error {
	if err := deleteAssignmentsTo(tx, TargetProject, id); err != nil {
		return err
	}
	if err := deleteAll(tx, kindProjectEndpoint, id); err != nil {
		return err
	}
	links, err := store.List[EndpointGroupProject](tx, kindEPGroupProject, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, l := range links {
		if l.ProjectID == id {
			if err := tx.Delete(kindEPGroupProject, epGroupProjectID(l.EndpointGroupID, id)); err != nil {
				return err
			}
		}
	}
	creds, err := store.List[Credential](tx, kindCredential, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, c := range creds {
		if c.ProjectID == id {
			if err := tx.Delete(kindCredential, c.ID); err != nil {
				return err
			}
		}
	}
	return tx.Delete(kindProject, id)
}
