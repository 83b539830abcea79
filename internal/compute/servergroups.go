package compute

import (
	"context"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Policies lists the server-group policies.
var Policies = []string{scheduler.Affinity, scheduler.AntiAffinity, scheduler.SoftAffinity, scheduler.SoftAntiAffinity}

// CreateServerGroup adds a server group in the caller's project. rules is
// only valid with anti-affinity ({"max_server_per_host": n}, n ≥ 1).
func (s *Service) CreateServerGroup(ctx context.Context, name, pol string, rules map[string]int) (*ServerGroup, error) {
	c := creds(ctx)
	if c == nil || c.ProjectID == "" || !c.HasRole("member") {
		return nil, forbidden()
	}
	if name == "" || len(name) > 255 || strings.TrimSpace(name) == "" {
		return nil, badRequest("Invalid input for field/attribute name. Value: %s.", name)
	}
	if !slices.Contains(Policies, pol) {
		return nil, badRequest("Invalid input for field/attribute policy. Value: %s. It must be one of %s.", pol, strings.Join(Policies, ", "))
	}
	for k, v := range rules {
		switch {
		case k != "max_server_per_host":
			return nil, badRequest("Invalid input for field/attribute rules. Additional properties are not allowed ('%s' was unexpected).", k)
		case pol != scheduler.AntiAffinity:
			return nil, badRequest("Only anti-affinity policy supports rules.")
		case v < 1:
			return nil, badRequest("Invalid input for field/attribute max_server_per_host. Value: %d. It must be at least 1.", v)
		}
	}
	g := &ServerGroup{ID: newID(), Name: name, Policy: pol, Rules: rules, ProjectID: c.ProjectID, UserID: c.UserID, Members: []string{}, CreatedAt: s.now()}
	err := s.write(ctx, func(tx store.Tx) error {
		q, err := effectiveQuota(tx, c.ProjectID, c.UserID)
		if err != nil {
			return err
		}
		have, err := tx.List(KindServerGroup, store.ListOptions{Ref: c.ProjectID})
		if err != nil {
			return err
		}
		if l := q["server_groups"]; l >= 0 && int64(len(have))+1 > l {
			return fault.New(fault.Forbidden, "Quota exceeded, too many server groups.")
		}
		return tx.Create(store.Record{Kind: KindServerGroup, ID: g.ID, Ref: g.ProjectID, Value: g})
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

func groupNotFound(id string) error { return notFound("Instance group %s could not be found.", id) }

// GetServerGroup returns a group of the caller's project (any for admins).
func (s *Service) GetServerGroup(ctx context.Context, id string) (*ServerGroup, error) {
	var g *ServerGroup
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		g, err = get[ServerGroup](tx, KindServerGroup, id, "Instance group "+id+" could not be found.")
		return err
	})
	if err != nil {
		return nil, err
	}
	if c := creds(ctx); !c.IsReader() && !c.OwnsProject(g.ProjectID) {
		return nil, groupNotFound(id)
	}
	return g, nil
}

// ListServerGroups returns the caller's project's groups, or every group
// for an admin asking for all projects.
func (s *Service) ListServerGroups(ctx context.Context, allProjects bool) ([]ServerGroup, error) {
	c := creds(ctx)
	opts := store.ListOptions{Ref: c.ProjectID}
	if allProjects && c.IsReader() {
		opts = store.ListOptions{}
	}
	var out []ServerGroup
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[ServerGroup](tx, KindServerGroup, opts)
		return err
	})
	slices.SortFunc(out, func(a, b ServerGroup) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// DeleteServerGroup removes a group of the caller's project (any for admins).
func (s *Service) DeleteServerGroup(ctx context.Context, id string) error {
	c := creds(ctx)
	return s.write(ctx, func(tx store.Tx) error {
		g, err := get[ServerGroup](tx, KindServerGroup, id, "Instance group "+id+" could not be found.")
		if err != nil {
			return err
		}
		if !c.IsAdmin() && !(c.ProjectID == g.ProjectID && c.HasRole("member")) {
			if c.OwnsProject(g.ProjectID) {
				return forbidden()
			}
			return groupNotFound(id)
		}
		return tx.Delete(KindServerGroup, id)
	})
}
