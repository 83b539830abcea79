package keystone

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/identity"
)

// OS-EP-FILTER: endpoint groups, their project associations and the direct
// project-endpoint associations. Nubo records them but does not yet filter
// the catalog of project-scoped tokens by them.

func endpointGroupView(r *http.Request, g *identity.EndpointGroup) view {
	var desc any
	if g.Description != nil {
		desc = *g.Description
	}
	filters := g.Filters
	if filters == nil {
		filters = map[string]any{}
	}
	return view{
		"id": g.ID, "name": g.Name, "description": desc, "filters": filters,
		"links": self(r, "/OS-EP-FILTER/endpoint_groups/"+g.ID),
	}
}

// applyEndpointGroup reads an endpoint group body: name and filters are
// required on create; description may be null. Other attributes are
// ignored, as Keystone's model has no extras.
func applyEndpointGroup(f fields, g *identity.EndpointGroup, create bool) error {
	if create {
		for _, k := range []string{"name", "filters"} {
			if !f.has(k) {
				return invalid("'%s' is a required property", k)
			}
		}
	} else if len(f) == 0 {
		return invalid("{} does not have enough properties")
	}
	if err := f.name(&g.Name, create); err != nil {
		return err
	}
	if f.has("description") {
		if f.isNull("description") {
			g.Description = nil
		} else {
			var d string
			if err := f.str("description", &d, false); err != nil {
				return err
			}
			g.Description = &d
		}
	}
	if f.has("filters") {
		if f.isNull("filters") {
			return invalid("Invalid input for field 'filters': None is not of type 'object'")
		}
		if err := f.object("filters", &g.Filters); err != nil {
			return err
		}
	}
	return nil
}

func (a *api) createEndpointGroup(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "endpoint_group")
	if err != nil {
		return err
	}
	var g identity.EndpointGroup
	if err := applyEndpointGroup(f, &g, true); err != nil {
		return err
	}
	out, err := a.id.CreateEndpointGroup(r.Context(), g)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "endpoint_group", endpointGroupView(r, out))
	return nil
}

func (a *api) listEndpointGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := a.id.ListEndpointGroups(r.Context())
	if err != nil {
		return err
	}
	views := make([]view, 0, len(gs))
	for _, g := range gs {
		views = append(views, endpointGroupView(r, &g))
	}
	writeList(w, r, "endpoint_groups", views)
	return nil
}

func (a *api) getEndpointGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := a.id.GetEndpointGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "endpoint_group", endpointGroupView(r, g))
	return nil
}

func (a *api) updateEndpointGroup(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "endpoint_group")
	if err != nil {
		return err
	}
	g, err := a.id.UpdateEndpointGroup(r.Context(), r.PathValue("id"), func(g *identity.EndpointGroup) error {
		if id := ""; f.has("id") {
			if err := f.str("id", &id, false); err != nil || id != g.ID {
				return invalid("Cannot change ID")
			}
		}
		return applyEndpointGroup(f, g, false)
	})
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "endpoint_group", endpointGroupView(r, g))
	return nil
}

func (a *api) deleteEndpointGroup(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteEndpointGroup(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func writeEndpoints(w http.ResponseWriter, r *http.Request, es []identity.Endpoint) {
	views := make([]view, 0, len(es))
	for _, e := range es {
		views = append(views, endpointView(r, &e))
	}
	writeList(w, r, "endpoints", views)
}

func writeProjects(w http.ResponseWriter, r *http.Request, ps []identity.Project) {
	views := make([]view, 0, len(ps))
	for _, p := range ps {
		views = append(views, projectView(r, &p))
	}
	writeList(w, r, "projects", views)
}

func (a *api) listEndpointGroupEndpoints(w http.ResponseWriter, r *http.Request) error {
	es, err := a.id.ListEndpointGroupEndpoints(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeEndpoints(w, r, es)
	return nil
}

func (a *api) listEndpointGroupProjects(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.id.ListEndpointGroupProjects(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeProjects(w, r, ps)
	return nil
}

func (a *api) getEndpointGroupProject(w http.ResponseWriter, r *http.Request) error {
	gp, err := a.id.GetEndpointGroupInProject(r.Context(), r.PathValue("id"), r.PathValue("project"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "project_endpoint_group", view{
		"endpoint_group_id": gp.EndpointGroupID, "project_id": gp.ProjectID,
		"links": self(r, "/OS-EP-FILTER/endpoint_groups/"+gp.EndpointGroupID+"/projects/"+gp.ProjectID),
	})
	return nil
}

func (a *api) addEndpointGroupProject(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.AddEndpointGroupToProject(r.Context(), r.PathValue("id"), r.PathValue("project")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) removeEndpointGroupProject(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.RemoveEndpointGroupFromProject(r.Context(), r.PathValue("id"), r.PathValue("project")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) listProjectEndpointGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := a.id.ListProjectEndpointGroups(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(gs))
	for _, g := range gs {
		views = append(views, endpointGroupView(r, &g))
	}
	writeList(w, r, "endpoint_groups", views)
	return nil
}

func (a *api) listProjectEndpoints(w http.ResponseWriter, r *http.Request) error {
	es, err := a.id.ListProjectEndpoints(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	writeEndpoints(w, r, es)
	return nil
}

func (a *api) checkProjectEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.CheckEndpointInProject(r.Context(), r.PathValue("project"), r.PathValue("endpoint")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) addProjectEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.AddEndpointToProject(r.Context(), r.PathValue("project"), r.PathValue("endpoint")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) removeProjectEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.RemoveEndpointFromProject(r.Context(), r.PathValue("project"), r.PathValue("endpoint")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) listEndpointProjects(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.id.ListEndpointProjects(r.Context(), r.PathValue("endpoint"))
	if err != nil {
		return err
	}
	writeProjects(w, r, ps)
	return nil
}
