package keystone

import (
	"net/http"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/identity"
)

func roleView(r *http.Request, ro *identity.Role) view {
	return withExtra(view{
		"id": ro.ID, "name": ro.Name, "domain_id": nullable(ro.DomainID), "description": ro.Description,
		"options": orEmptyMap(ro.Options), "links": self(r, "/roles/"+ro.ID),
	}, ro.Extra)
}

var roleFields = []string{"name", "description", "domain_id", "options"}

func applyRole(f fields, ro *identity.Role, create bool) error {
	if err := f.name(&ro.Name, create); err != nil {
		return err
	}
	if err := f.str("description", &ro.Description, true); err != nil {
		return err
	}
	if err := f.str("domain_id", &ro.DomainID, true); err != nil {
		return err
	}
	if err := f.object("options", &ro.Options); err != nil {
		return err
	}
	ro.Extra = f.extra(ro.Extra, roleFields...)
	return nil
}

func (a *api) createRole(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "role")
	if err != nil {
		return err
	}
	var ro identity.Role
	if err := applyRole(f, &ro, true); err != nil {
		return err
	}
	out, err := a.id.CreateRole(r.Context(), ro)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "role", roleView(r, out))
	return nil
}

func (a *api) listRoles(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.id.ListRoles(r.Context(), r.URL.Query().Get("domain_id"))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(rs))
	for _, ro := range rs {
		views = append(views, roleView(r, &ro))
	}
	writeList(w, r, "roles", views)
	return nil
}

func (a *api) getRole(w http.ResponseWriter, r *http.Request) error {
	ro, err := a.id.GetRole(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "role", roleView(r, ro))
	return nil
}

func (a *api) updateRole(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "role")
	if err != nil {
		return err
	}
	ro, err := a.id.UpdateRole(r.Context(), r.PathValue("id"), func(ro *identity.Role) error { return applyRole(f, ro, false) })
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "role", roleView(r, ro))
	return nil
}

func (a *api) deleteRole(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteRole(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func briefRole(r *http.Request, ro *identity.Role) view {
	return view{"id": ro.ID, "name": ro.Name, "links": self(r, "/roles/"+ro.ID)}
}

func inferenceView(r *http.Request, prior *identity.Role, implied []identity.Role) view {
	im := make([]view, 0, len(implied))
	for _, x := range implied {
		im = append(im, briefRole(r, &x))
	}
	return view{"prior_role": briefRole(r, prior), "implies": im}
}

func (a *api) createImpliedRole(w http.ResponseWriter, r *http.Request) error {
	prior, implied, err := a.id.CreateImpliedRole(r.Context(), r.PathValue("id"), r.PathValue("implied"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusCreated, map[string]any{
		"role_inference": view{"prior_role": briefRole(r, prior), "implies": briefRole(r, implied)},
		"links":          self(r, "/roles/"+prior.ID+"/implies/"+implied.ID),
	})
	return nil
}

func (a *api) getImpliedRole(w http.ResponseWriter, r *http.Request) error {
	prior, implied, err := a.id.GetImpliedRole(r.Context(), r.PathValue("id"), r.PathValue("implied"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{
		"role_inference": view{"prior_role": briefRole(r, prior), "implies": briefRole(r, implied)},
		"links":          self(r, "/roles/"+prior.ID+"/implies/"+implied.ID),
	})
	return nil
}

func (a *api) checkImpliedRole(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := a.id.GetImpliedRole(r.Context(), r.PathValue("id"), r.PathValue("implied")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) deleteImpliedRole(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteImpliedRole(r.Context(), r.PathValue("id"), r.PathValue("implied")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) listImpliedRoles(w http.ResponseWriter, r *http.Request) error {
	infs, err := a.id.ListImpliedRoles(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	inf := infs[0]
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{
		"role_inference": inferenceView(r, &inf.Prior, inf.Implies),
		"links":          self(r, "/roles/"+inf.Prior.ID+"/implies"),
	})
	return nil
}

func (a *api) listRoleInferences(w http.ResponseWriter, r *http.Request) error {
	infs, err := a.id.ListImpliedRoles(r.Context(), "")
	if err != nil {
		return err
	}
	out := make([]view, 0, len(infs))
	for _, inf := range infs {
		out = append(out, inferenceView(r, &inf.Prior, inf.Implies))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"role_inferences": out, "links": self(r, "/role_inferences")})
	return nil
}

// assignmentFromPath reads a grant path:
// /{projects|domains}/{target}/{users|groups}/{actor}/roles/{role}, the
// OS-INHERIT variant, or /system/{users|groups}/{actor}/roles/{role}.
func assignmentFromPath(r *http.Request) identity.Assignment {
	a := identity.Assignment{ActorID: r.PathValue("actor"), TargetID: r.PathValue("target"), RoleID: r.PathValue("role")}
	rest := strings.TrimPrefix(r.URL.Path, v3+"/")
	if strings.HasPrefix(rest, "OS-INHERIT/") {
		a.Inherited = true
		rest = strings.TrimPrefix(rest, "OS-INHERIT/")
	}
	parts := strings.Split(rest, "/")
	switch parts[0] {
	case "projects":
		a.TargetType = identity.TargetProject
	case "domains":
		a.TargetType = identity.TargetDomain
	case "system":
		a.TargetType, a.TargetID = identity.TargetSystem, identity.SystemTarget
	}
	actorSeg := parts[2]
	if a.TargetType == identity.TargetSystem {
		actorSeg = parts[1]
	}
	if actorSeg == "users" {
		a.ActorType = identity.ActorUser
	} else {
		a.ActorType = identity.ActorGroup
	}
	return a
}

func (a *api) grant(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.Grant(r.Context(), assignmentFromPath(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) checkGrant(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.CheckGrant(r.Context(), assignmentFromPath(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) revoke(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.Revoke(r.Context(), assignmentFromPath(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) listGrants(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.id.ListGrants(r.Context(), assignmentFromPath(r))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(rs))
	for _, ro := range rs {
		views = append(views, roleView(r, &ro))
	}
	writeList(w, r, "roles", views)
	return nil
}
