package keystone

import (
	"net/http"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/identity"
)

func domainView(r *http.Request, d *identity.Domain) view {
	return withExtra(view{
		"id": d.ID, "name": d.Name, "description": d.Description, "enabled": d.Enabled,
		"tags": orEmpty(d.Tags), "options": orEmptyMap(d.Options), "links": self(r, "/domains/"+d.ID),
	}, d.Extra)
}

func projectView(r *http.Request, p *identity.Project) view {
	return withExtra(view{
		"id": p.ID, "name": p.Name, "description": p.Description, "domain_id": p.DomainID,
		"parent_id": p.ParentID, "enabled": p.Enabled, "is_domain": false,
		"tags": orEmpty(p.Tags), "options": orEmptyMap(p.Options), "links": self(r, "/projects/"+p.ID),
	}, p.Extra)
}

// domainAsProjectView renders a domain as the projects API shows it.
func domainAsProjectView(r *http.Request, d *identity.Domain) view {
	return withExtra(view{
		"id": d.ID, "name": d.Name, "description": d.Description, "domain_id": nil,
		"parent_id": nil, "enabled": d.Enabled, "is_domain": true,
		"tags": orEmpty(d.Tags), "options": orEmptyMap(d.Options), "links": self(r, "/projects/"+d.ID),
	}, d.Extra)
}

// projectAsDomainFields drops the project-only attributes of a body.
func projectAsDomainFields(f fields) fields {
	out := fields{}
	for k, v := range f {
		switch k {
		case "is_domain", "domain_id", "parent_id":
			continue
		}
		out[k] = v
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

var domainFields = []string{"name", "description", "enabled", "tags", "options", "explicit_domain_id"}

func applyDomain(f fields, d *identity.Domain, create bool) error {
	if err := f.nameMax(&d.Name, create, 64); err != nil {
		return err
	}
	if err := f.str("description", &d.Description, true); err != nil {
		return err
	}
	if err := f.boolean("enabled", &d.Enabled); err != nil {
		return err
	}
	if err := f.tags(&d.Tags); err != nil {
		return err
	}
	if err := f.object("options", &d.Options); err != nil {
		return err
	}
	d.Extra = f.extra(d.Extra, domainFields...)
	return nil
}

func (a *api) createDomain(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "domain")
	if err != nil {
		return err
	}
	d := identity.Domain{Enabled: true}
	if err := applyDomain(f, &d, true); err != nil {
		return err
	}
	if err := f.str("explicit_domain_id", &d.ID, true); err != nil {
		return err
	}
	out, err := a.id.CreateDomain(r.Context(), d)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "domain", domainView(r, out))
	return nil
}

func (a *api) listDomains(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.id.ListDomains(r.Context())
	if err != nil {
		return err
	}
	views := make([]view, 0, len(ds))
	for _, d := range ds {
		views = append(views, domainView(r, &d))
	}
	writeList(w, r, "domains", views)
	return nil
}

func (a *api) getDomain(w http.ResponseWriter, r *http.Request) error {
	d, err := a.id.GetDomain(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "domain", domainView(r, d))
	return nil
}

func (a *api) updateDomain(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "domain")
	if err != nil {
		return err
	}
	d, err := a.id.UpdateDomain(r.Context(), r.PathValue("id"), func(d *identity.Domain) error { return applyDomain(f, d, false) })
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "domain", domainView(r, d))
	return nil
}

func (a *api) deleteDomain(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteDomain(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var projectFields = []string{"name", "description", "enabled", "tags", "options", "domain_id", "parent_id", "is_domain"}

func applyProject(f fields, p *identity.Project, create bool) error {
	if err := f.nameMax(&p.Name, create, 64); err != nil {
		return err
	}
	if err := f.str("description", &p.Description, true); err != nil {
		return err
	}
	if err := f.boolean("enabled", &p.Enabled); err != nil {
		return err
	}
	if err := f.tags(&p.Tags); err != nil {
		return err
	}
	if err := f.object("options", &p.Options); err != nil {
		return err
	}
	if err := f.str("domain_id", &p.DomainID, true); err != nil {
		return err
	}
	if err := f.str("parent_id", &p.ParentID, true); err != nil {
		return err
	}
	if f.has("is_domain") && !f.isNull("is_domain") {
		var isDomain bool
		if err := f.boolean("is_domain", &isDomain); err != nil {
			return err
		}
		if !create {
			return invalid("Invalid input for field 'is_domain': it cannot be updated")
		}
	}
	p.Extra = f.extra(p.Extra, projectFields...)
	return nil
}

func (a *api) createProject(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "project")
	if err != nil {
		return err
	}
	var isDomain bool
	if err := f.boolean("is_domain", &isDomain); err != nil && !f.isNull("is_domain") {
		return err
	}
	if isDomain {
		// A project acting as a domain is a domain, seen through the projects API.
		d := identity.Domain{Enabled: true}
		if err := applyDomain(fields(projectAsDomainFields(f)), &d, true); err != nil {
			return err
		}
		out, err := a.id.CreateDomain(r.Context(), d)
		if err != nil {
			return err
		}
		writeOne(w, http.StatusCreated, "project", domainAsProjectView(r, out))
		return nil
	}
	p := identity.Project{Enabled: true}
	if err := applyProject(f, &p, true); err != nil {
		return err
	}
	out, err := a.id.CreateProject(r.Context(), p)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "project", projectView(r, out))
	return nil
}

// tagFilter applies tags, tags-any, not-tags and not-tags-any.
func tagFilter(r *http.Request, tags []string) bool {
	q := r.URL.Query()
	split := func(k string) []string {
		if !q.Has(k) {
			return nil
		}
		return strings.Split(q.Get(k), ",")
	}
	hasAll := func(want []string) bool {
		for _, t := range want {
			if !slices.Contains(tags, t) {
				return false
			}
		}
		return true
	}
	hasAny := func(want []string) bool {
		for _, t := range want {
			if slices.Contains(tags, t) {
				return true
			}
		}
		return false
	}
	if t := split("tags"); t != nil && !hasAll(t) {
		return false
	}
	if t := split("tags-any"); t != nil && !hasAny(t) {
		return false
	}
	if t := split("not-tags"); t != nil && hasAll(t) {
		return false
	}
	if t := split("not-tags-any"); t != nil && hasAny(t) {
		return false
	}
	return true
}

func (a *api) listProjects(w http.ResponseWriter, r *http.Request) error {
	if q := r.URL.Query().Get("is_domain"); queryBool(r, "is_domain") && q != "" {
		ds, err := a.id.ListDomains(r.Context())
		if err != nil {
			return err
		}
		views := make([]view, 0, len(ds))
		for _, d := range ds {
			if tagFilter(r, d.Tags) {
				views = append(views, domainAsProjectView(r, &d))
			}
		}
		writeList(w, r, "projects", views)
		return nil
	}
	ps, err := a.id.ListProjects(r.Context())
	if err != nil {
		return err
	}
	views := make([]view, 0, len(ps))
	for _, p := range ps {
		if tagFilter(r, p.Tags) {
			views = append(views, projectView(r, &p))
		}
	}
	writeList(w, r, "projects", views)
	return nil
}

func (a *api) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := a.id.GetProject(r.Context(), r.PathValue("id"))
	if fault.Is(err, fault.NotFound) {
		if d, derr := a.id.GetDomain(r.Context(), r.PathValue("id")); derr == nil {
			writeOne(w, http.StatusOK, "project", domainAsProjectView(r, d))
			return nil
		}
	}
	if err != nil {
		return err
	}
	v := projectView(r, p)
	q := r.URL.Query()
	if q.Has("parents_as_list") || q.Has("subtree_as_list") || q.Has("parents_as_ids") || q.Has("subtree_as_ids") {
		tree, err := a.id.ProjectTree(r.Context(), p.DomainID)
		if err != nil {
			return err
		}
		byID := map[string]identity.Project{}
		for _, t := range tree {
			byID[t.ID] = t
		}
		if q.Has("parents_as_list") {
			var parents []view
			for cur := p.ParentID; cur != p.DomainID; {
				pp, ok := byID[cur]
				if !ok {
					break
				}
				parents = append(parents, view{"project": projectView(r, &pp)})
				cur = pp.ParentID
			}
			v["parents"] = orEmptyViews(parents)
		}
		if q.Has("parents_as_ids") {
			v["parents"] = parentIDs(byID, p)
		}
		if q.Has("subtree_as_list") {
			var sub []view
			for _, t := range tree {
				if isBelow(byID, t, p.ID) {
					sub = append(sub, view{"project": projectView(r, &t)})
				}
			}
			v["subtree"] = orEmptyViews(sub)
		}
		if q.Has("subtree_as_ids") {
			v["subtree"] = subtreeIDs(tree, p.ID)
		}
	}
	writeOne(w, http.StatusOK, "project", v)
	return nil
}

func orEmptyViews(v []view) []view {
	if v == nil {
		return []view{}
	}
	return v
}

func isBelow(byID map[string]identity.Project, p identity.Project, root string) bool {
	for cur := p.ParentID; ; {
		if cur == root {
			return true
		}
		pp, ok := byID[cur]
		if !ok {
			return false
		}
		cur = pp.ParentID
	}
}

// parentIDs renders the parents as nested {id: {parent: …}} maps, as Keystone does.
func parentIDs(byID map[string]identity.Project, p *identity.Project) any {
	pp, ok := byID[p.ParentID]
	if !ok {
		return nil
	}
	return map[string]any{pp.ID: parentIDs(byID, &pp)}
}

func subtreeIDs(tree []identity.Project, root string) any {
	out := map[string]any{}
	for _, t := range tree {
		if t.ParentID == root && t.ID != root {
			out[t.ID] = subtreeIDs(tree, t.ID)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (a *api) updateProject(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "project")
	if err != nil {
		return err
	}
	p, err := a.id.UpdateProject(r.Context(), r.PathValue("id"), func(p *identity.Project) error { return applyProject(f, p, false) })
	if fault.Is(err, fault.NotFound) {
		d, derr := a.id.UpdateDomain(r.Context(), r.PathValue("id"), func(d *identity.Domain) error {
			return applyDomain(fields(projectAsDomainFields(f)), d, false)
		})
		if derr == nil {
			writeOne(w, http.StatusOK, "project", domainAsProjectView(r, d))
			return nil
		}
		if !fault.Is(derr, fault.NotFound) {
			return derr
		}
	}
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "project", projectView(r, p))
	return nil
}

func (a *api) deleteProject(w http.ResponseWriter, r *http.Request) error {
	err := a.id.DeleteProject(r.Context(), r.PathValue("id"))
	if fault.Is(err, fault.NotFound) {
		if derr := a.id.DeleteDomain(r.Context(), r.PathValue("id")); !fault.Is(derr, fault.NotFound) {
			err = derr
		}
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
