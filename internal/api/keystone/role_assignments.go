package keystone

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/identity"
)

func queryBool(r *http.Request, key string) bool {
	q := r.URL.Query()
	if !q.Has(key) {
		return false
	}
	v := q.Get(key)
	if v == "" {
		return true
	}
	b, err := strconv.ParseBool(v)
	return err == nil && b || strings.EqualFold(v, "yes")
}

func (a *api) listRoleAssignments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := identity.AssignmentFilter{
		UserID: q.Get("user.id"), GroupID: q.Get("group.id"), RoleID: q.Get("role.id"),
		ProjectID: q.Get("scope.project.id"), DomainID: q.Get("scope.domain.id"),
		System:         q.Get("scope.system") != "",
		InheritedOnly:  q.Get("scope.OS-INHERIT:inherited_to") != "",
		Effective:      queryBool(r, "effective"),
		IncludeSubtree: queryBool(r, "include_subtree"),
	}
	if f.Effective && f.GroupID != "" {
		return invalid("Combining effective and group filter will always result in an empty list.")
	}
	if f.ProjectID != "" && f.DomainID != "" {
		return invalid("Specify a domain or project, not both")
	}
	if f.IncludeSubtree && f.ProjectID == "" {
		return invalid("scope.project.id must be specified if include_subtree is also specified")
	}
	rows, err := a.id.ListAssignments(r.Context(), f)
	if err != nil {
		return err
	}
	var names *identity.Names
	if queryBool(r, "include_names") {
		if names, err = a.id.LookupNames(r.Context()); err != nil {
			return err
		}
	}
	base := apihttp.BaseURL(r) + v3
	out := make([]view, 0, len(rows))
	for _, row := range rows {
		v := view{}
		role := view{"id": row.RoleID}
		actor := view{"id": row.ActorID}
		var scope view
		switch row.TargetType {
		case identity.TargetProject:
			scope = view{"project": view{"id": row.TargetID}}
		case identity.TargetDomain:
			scope = view{"domain": view{"id": row.TargetID}}
		default:
			scope = view{"system": view{"all": true}}
		}
		if row.Inherited {
			scope["OS-INHERIT:inherited_to"] = "projects"
		}
		if names != nil {
			if ro, ok := names.Roles[row.RoleID]; ok {
				role["name"] = ro.Name
				if ro.DomainID != "" {
					d := names.Domains[ro.DomainID]
					role["domain"] = view{"id": d.ID, "name": d.Name}
				}
			}
			if row.ActorType == identity.ActorUser {
				if u, ok := names.Users[row.ActorID]; ok {
					d := names.Domains[u.DomainID]
					actor["name"], actor["domain"] = u.Name, view{"id": d.ID, "name": d.Name}
				}
			} else if g, ok := names.Groups[row.ActorID]; ok {
				d := names.Domains[g.DomainID]
				actor["name"], actor["domain"] = g.Name, view{"id": d.ID, "name": d.Name}
			}
			switch row.TargetType {
			case identity.TargetProject:
				if p, ok := names.Projects[row.TargetID]; ok {
					d := names.Domains[p.DomainID]
					scope["project"] = view{"id": p.ID, "name": p.Name, "domain": view{"id": d.ID, "name": d.Name}}
				}
			case identity.TargetDomain:
				if d, ok := names.Domains[row.TargetID]; ok {
					scope["domain"] = view{"id": d.ID, "name": d.Name}
				}
			}
		}
		v["role"], v["scope"] = role, scope
		v[row.ActorType] = actor
		links := view{"assignment": base + grantPath(row.Source)}
		if row.ViaGroupID != "" {
			links["membership"] = base + "/groups/" + row.ViaGroupID + "/users/" + row.ActorID
		}
		if row.PriorRoleID != "" {
			links["prior_role"] = base + "/roles/" + row.PriorRoleID
		}
		v["links"] = links
		out = append(out, v)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{
		"role_assignments": out,
		"links":            map[string]any{"self": apihttp.BaseURL(r) + r.URL.RequestURI(), "previous": nil, "next": nil},
	})
	return nil
}

func grantPath(a identity.Assignment) string {
	actor := "/users/"
	if a.ActorType == identity.ActorGroup {
		actor = "/groups/"
	}
	var p string
	switch a.TargetType {
	case identity.TargetProject:
		p = "/projects/" + a.TargetID + actor + a.ActorID + "/roles/" + a.RoleID
	case identity.TargetDomain:
		p = "/domains/" + a.TargetID + actor + a.ActorID + "/roles/" + a.RoleID
	default:
		return "/system" + actor + a.ActorID + "/roles/" + a.RoleID
	}
	if a.Inherited {
		return "/OS-INHERIT" + p + "/inherited_to_projects"
	}
	return p
}
