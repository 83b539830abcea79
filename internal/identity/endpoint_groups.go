package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nubo-cloud/nubo/internal/store"
)

// Record kinds of Keystone's OS-EP-FILTER extension.
const (
	kindEndpointGroup = "identity.endpoint_group"
	// kindEPGroupProject associates an endpoint group with a project; ID is
	// "<group>/<project>", Ref the group.
	kindEPGroupProject = "identity.endpoint_group_project"
	// kindProjectEndpoint associates one endpoint with a project; ID is
	// "<project>/<endpoint>", Ref the project.
	kindProjectEndpoint = "identity.project_endpoint"
)

// EndpointGroupFilterKeys are the endpoint attributes an endpoint group may
// filter on, as in Keystone.
var EndpointGroupFilterKeys = []string{"service_id", "region_id", "interface"}

// EndpointGroup is a dynamic set of endpoints selected by attribute filters
// (OS-EP-FILTER).
//
// Nubo stores endpoint groups and their project associations, and the
// project-endpoint associations, and answers the OS-EP-FILTER API about
// them; it does not (yet) filter the catalog of project-scoped tokens by
// them: tokens always carry the full catalog.
type EndpointGroup struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Description is nil when the group has none (Keystone shows null).
	Description *string        `json:"description"`
	Filters     map[string]any `json:"filters"`
}

// Matches reports whether endpoint e passes every filter of the group.
func (g *EndpointGroup) Matches(e *Endpoint) bool {
	for k, want := range g.Filters {
		var got string
		switch k {
		case "service_id":
			got = e.ServiceID
		case "region_id":
			got = e.RegionID
		case "interface":
			got = e.Interface
		default:
			return false
		}
		if s, ok := want.(string); !ok || s != got {
			if want == nil && got == "" {
				continue
			}
			return false
		}
	}
	return true
}

// EndpointGroupProject is one endpoint group to project association.
type EndpointGroupProject struct {
	EndpointGroupID string `json:"endpoint_group_id"`
	ProjectID       string `json:"project_id"`
}

type projectEndpoint struct {
	ProjectID  string `json:"project_id"`
	EndpointID string `json:"endpoint_id"`
}

func checkEndpointGroup(g *EndpointGroup) error {
	if len(g.Filters) == 0 {
		return badRequest("filters field is required and cannot be empty")
	}
	for k := range g.Filters {
		if !slices.Contains(EndpointGroupFilterKeys, k) {
			return badRequest("Expecting to find service_id or region_id or interface in endpoint_group. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
		}
	}
	return nil
}

// CreateEndpointGroup adds an endpoint group with a generated ID.
func (s *Service) CreateEndpointGroup(ctx context.Context, g EndpointGroup) (*EndpointGroup, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if err := checkEndpointGroup(&g); err != nil {
		return nil, err
	}
	g.ID = hexID()
	err := s.write(ctx, func(tx store.Tx) error {
		return conflictIf(tx.Create(store.Record{Kind: kindEndpointGroup, ID: g.ID, Value: g}), "endpoint_group", "Duplicate ID, "+g.ID)
	})
	if err != nil {
		return nil, err
	}
	return &g, nil
}

func getEndpointGroup(tx store.ReadTx, id string) (*EndpointGroup, error) {
	return get[EndpointGroup](tx, kindEndpointGroup, "Endpoint Group", id)
}

// GetEndpointGroup returns an endpoint group.
func (s *Service) GetEndpointGroup(ctx context.Context, id string) (*EndpointGroup, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var g *EndpointGroup
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		g, err = getEndpointGroup(tx, id)
		return err
	})
	return g, err
}

// ListEndpointGroups returns every endpoint group.
func (s *Service) ListEndpointGroups(ctx context.Context) ([]EndpointGroup, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []EndpointGroup
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[EndpointGroup](tx, kindEndpointGroup, store.ListOptions{})
		return err
	})
	return out, err
}

// UpdateEndpointGroup applies mutate to an endpoint group.
func (s *Service) UpdateEndpointGroup(ctx context.Context, id string, mutate func(*EndpointGroup) error) (*EndpointGroup, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var g *EndpointGroup
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if g, err = getEndpointGroup(tx, id); err != nil {
			return err
		}
		if err := mutate(g); err != nil {
			return err
		}
		g.ID = id
		if err := checkEndpointGroup(g); err != nil {
			return err
		}
		return tx.Update(store.Record{Kind: kindEndpointGroup, ID: id, Value: g})
	})
	return g, err
}

// DeleteEndpointGroup removes an endpoint group and its project associations.
func (s *Service) DeleteEndpointGroup(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if _, err := getEndpointGroup(tx, id); err != nil {
			return err
		}
		if err := deleteAll(tx, kindEPGroupProject, id); err != nil {
			return err
		}
		return tx.Delete(kindEndpointGroup, id)
	})
}

func groupEndpoints(tx store.ReadTx, g *EndpointGroup) ([]Endpoint, error) {
	eps, err := store.List[Endpoint](tx, kindEndpoint, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := eps[:0]
	for _, e := range eps {
		if g.Matches(&e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// ListEndpointGroupEndpoints returns the endpoints an endpoint group selects.
func (s *Service) ListEndpointGroupEndpoints(ctx context.Context, id string) ([]Endpoint, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Endpoint
	err := s.read(ctx, func(tx store.ReadTx) error {
		g, err := getEndpointGroup(tx, id)
		if err != nil {
			return err
		}
		out, err = groupEndpoints(tx, g)
		return err
	})
	return out, err
}

func epGroupProjectID(groupID, projectID string) string { return groupID + "/" + projectID }

// checkGroupAndProject reports a missing project, then a missing group, as
// Keystone does.
func checkGroupAndProject(tx store.ReadTx, groupID, projectID string) error {
	if _, err := get[Project](tx, kindProject, "project", projectID); err != nil {
		return err
	}
	_, err := getEndpointGroup(tx, groupID)
	return err
}

// AddEndpointGroupToProject associates an endpoint group with a project.
func (s *Service) AddEndpointGroupToProject(ctx context.Context, groupID, projectID string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := checkGroupAndProject(tx, groupID, projectID); err != nil {
			return err
		}
		a := EndpointGroupProject{EndpointGroupID: groupID, ProjectID: projectID}
		err := tx.Create(store.Record{Kind: kindEPGroupProject, ID: epGroupProjectID(groupID, projectID), Ref: groupID, Value: a})
		return conflictIf(err, "project_endpoint_group", fmt.Sprintf("Duplicate entry for endpoint group %s and project %s", groupID, projectID))
	})
}

// GetEndpointGroupInProject returns an endpoint group to project association.
func (s *Service) GetEndpointGroupInProject(ctx context.Context, groupID, projectID string) (*EndpointGroupProject, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var a *EndpointGroupProject
	err := s.read(ctx, func(tx store.ReadTx) error {
		if err := checkGroupAndProject(tx, groupID, projectID); err != nil {
			return err
		}
		var err error
		a, err = store.Get[EndpointGroupProject](tx, kindEPGroupProject, epGroupProjectID(groupID, projectID))
		if errors.Is(err, store.ErrNotFound) {
			return notFound("Endpoint Group Project Association", groupID+", "+projectID)
		}
		return err
	})
	return a, err
}

// RemoveEndpointGroupFromProject removes an endpoint group to project association.
func (s *Service) RemoveEndpointGroupFromProject(ctx context.Context, groupID, projectID string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := checkGroupAndProject(tx, groupID, projectID); err != nil {
			return err
		}
		err := tx.Delete(kindEPGroupProject, epGroupProjectID(groupID, projectID))
		if errors.Is(err, store.ErrNotFound) {
			return notFound("Endpoint Group Project Association", groupID+", "+projectID)
		}
		return err
	})
}

// ListEndpointGroupProjects returns the projects associated with an
// endpoint group (associations whose project is gone are skipped).
func (s *Service) ListEndpointGroupProjects(ctx context.Context, groupID string) ([]Project, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Project
	err := s.read(ctx, func(tx store.ReadTx) error {
		if _, err := getEndpointGroup(tx, groupID); err != nil {
			return err
		}
		as, err := store.List[EndpointGroupProject](tx, kindEPGroupProject, store.ListOptions{Ref: groupID})
		if err != nil {
			return err
		}
		for _, a := range as {
			p, err := store.Get[Project](tx, kindProject, a.ProjectID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, *p)
		}
		return nil
	})
	return out, err
}

func projectEndpointGroups(tx store.ReadTx, projectID string) ([]EndpointGroup, error) {
	as, err := store.List[EndpointGroupProject](tx, kindEPGroupProject, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []EndpointGroup
	for _, a := range as {
		if a.ProjectID != projectID {
			continue
		}
		g, err := store.Get[EndpointGroup](tx, kindEndpointGroup, a.EndpointGroupID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *g)
	}
	return out, nil
}

// ListProjectEndpointGroups returns the endpoint groups associated with a project.
func (s *Service) ListProjectEndpointGroups(ctx context.Context, projectID string) ([]EndpointGroup, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []EndpointGroup
	err := s.read(ctx, func(tx store.ReadTx) error {
		if _, err := get[Project](tx, kindProject, "project", projectID); err != nil {
			return err
		}
		var err error
		out, err = projectEndpointGroups(tx, projectID)
		return err
	})
	return out, err
}

func projectEndpointID(projectID, endpointID string) string { return projectID + "/" + endpointID }

func checkProjectAndEndpoint(tx store.ReadTx, projectID, endpointID string) error {
	if _, err := get[Endpoint](tx, kindEndpoint, "endpoint", endpointID); err != nil {
		return err
	}
	_, err := get[Project](tx, kindProject, "project", projectID)
	return err
}

// AddEndpointToProject associates one endpoint with a project.
func (s *Service) AddEndpointToProject(ctx context.Context, projectID, endpointID string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := checkProjectAndEndpoint(tx, projectID, endpointID); err != nil {
			return err
		}
		a := projectEndpoint{ProjectID: projectID, EndpointID: endpointID}
		err := tx.Create(store.Record{Kind: kindProjectEndpoint, ID: projectEndpointID(projectID, endpointID), Ref: projectID, Value: a})
		return conflictIf(err, "project_endpoint", fmt.Sprintf("Duplicate entry for endpoint %s and project %s", endpointID, projectID))
	})
}

func notFoundProjectEndpoint(projectID, endpointID string) error {
	return notFound("endpoint", endpointID+" in project "+projectID)
}

// CheckEndpointInProject reports whether an endpoint is associated with a project.
func (s *Service) CheckEndpointInProject(ctx context.Context, projectID, endpointID string) error {
	if err := requireReader(ctx); err != nil {
		return err
	}
	return s.read(ctx, func(tx store.ReadTx) error {
		if err := checkProjectAndEndpoint(tx, projectID, endpointID); err != nil {
			return err
		}
		_, err := tx.Get(kindProjectEndpoint, projectEndpointID(projectID, endpointID))
		if errors.Is(err, store.ErrNotFound) {
			return notFoundProjectEndpoint(projectID, endpointID)
		}
		return err
	})
}

// RemoveEndpointFromProject removes a project-endpoint association.
func (s *Service) RemoveEndpointFromProject(ctx context.Context, projectID, endpointID string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		err := tx.Delete(kindProjectEndpoint, projectEndpointID(projectID, endpointID))
		if errors.Is(err, store.ErrNotFound) {
			return notFoundProjectEndpoint(projectID, endpointID)
		}
		return err
	})
}

// ListProjectEndpoints returns the endpoints associated with a project:
// directly, or through its endpoint groups (as Keystone computes it).
func (s *Service) ListProjectEndpoints(ctx context.Context, projectID string) ([]Endpoint, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Endpoint
	err := s.read(ctx, func(tx store.ReadTx) error {
		if _, err := get[Project](tx, kindProject, "project", projectID); err != nil {
			return err
		}
		seen := map[string]bool{}
		direct, err := store.List[projectEndpoint](tx, kindProjectEndpoint, store.ListOptions{Ref: projectID})
		if err != nil {
			return err
		}
		for _, a := range direct {
			e, err := store.Get[Endpoint](tx, kindEndpoint, a.EndpointID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			seen[e.ID] = true
			out = append(out, *e)
		}
		groups, err := projectEndpointGroups(tx, projectID)
		if err != nil {
			return err
		}
		for _, g := range groups {
			eps, err := groupEndpoints(tx, &g)
			if err != nil {
				return err
			}
			for _, e := range eps {
				if !seen[e.ID] {
					seen[e.ID] = true
					out = append(out, e)
				}
			}
		}
		return nil
	})
	return out, err
}

// ListEndpointProjects returns the projects an endpoint is directly associated with.
func (s *Service) ListEndpointProjects(ctx context.Context, endpointID string) ([]Project, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Project
	err := s.read(ctx, func(tx store.ReadTx) error {
		if _, err := get[Endpoint](tx, kindEndpoint, "endpoint", endpointID); err != nil {
			return err
		}
		as, err := store.List[projectEndpoint](tx, kindProjectEndpoint, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, a := range as {
			if a.EndpointID != endpointID {
				continue
			}
			p, err := store.Get[Project](tx, kindProject, a.ProjectID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, *p)
		}
		return nil
	})
	return out, err
}
