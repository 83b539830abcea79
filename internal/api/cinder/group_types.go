package cinder

import (
	"net/http"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// groupTypesVersion gates the group types API (3.11).
func groupTypesVersion(r *http.Request) error {
	if !mv(r).AtLeast(3, 11) {
		return notFoundPath()
	}
	return nil
}

func groupTypeView(r *http.Request, t *volume.GroupType) map[string]any {
	out := map[string]any{"id": t.ID, "name": t.Name, "description": nullable(t.Description), "is_public": t.IsPublic}
	if creds(r).IsAdmin() {
		out["group_specs"] = orEmpty(t.GroupSpecs)
	}
	return out
}

func (a *api) createGroupType(w http.ResponseWriter, r *http.Request) error {
	if err := groupTypesVersion(r); err != nil {
		return err
	}
	m, err := body(w, r, "group_type")
	if err != nil {
		return err
	}
	var t volume.GroupType
	if t.Name, err = strOr(m, "name"); err != nil {
		return err
	}
	if t.Description, err = strOr(m, "description"); err != nil {
		return err
	}
	t.IsPublic = true
	if b, ok, err := boolField(m, "is_public"); err != nil {
		return err
	} else if ok {
		t.IsPublic = b
	}
	if t.GroupSpecs, err = strMap(m, "group_specs"); err != nil {
		return err
	}
	out, err := a.v.CreateGroupType(r.Context(), t)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"group_type": groupTypeView(r, out)})
	return nil
}

func (a *api) listGroupTypes(w http.ResponseWriter, r *http.Request) error {
	if err := groupTypesVersion(r); err != nil {
		return err
	}
	q := r.URL.Query()
	var isPublic *bool
	if b, ok := parseBool(q.Get("is_public")); ok {
		isPublic = &b
	} else if !q.Has("is_public") {
		t := true
		isPublic = &t
	}
	types, err := a.v.ListGroupTypes(r.Context(), isPublic)
	if err != nil {
		return err
	}
	if sorts := sortParams(q); len(sorts) > 0 {
		key, dir, _ := strings.Cut(sorts[0], ":")
		if key != "name" && key != "id" && key != "description" {
			return badRequest("Invalid input received: Invalid sort key %s.", key)
		}
		val := func(t volume.GroupType) string {
			switch key {
			case "name":
				return t.Name
			case "description":
				return t.Description
			}
			return t.ID
		}
		slices.SortStableFunc(types, func(x, y volume.GroupType) int {
			if dir == "desc" {
				return strings.Compare(val(y), val(x))
			}
			return strings.Compare(val(x), val(y))
		})
	}
	return writePage(w, r, types, func(t volume.GroupType) string { return t.ID },
		func(x *volume.GroupType) map[string]any { return groupTypeView(r, x) }, "group_types", "group_type_links")
}

func (a *api) getGroupType(w http.ResponseWriter, r *http.Request) error {
	if err := groupTypesVersion(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == "default" {
		return fault.New(fault.NotFound, "Default group type could not be found.")
	}
	t, err := a.v.GetGroupType(r.Context(), id)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"group_type": groupTypeView(r, t)})
	return nil
}

func (a *api) updateGroupType(w http.ResponseWriter, r *http.Request) error {
	if err := groupTypesVersion(r); err != nil {
		return err
	}
	m, err := body(w, r, "group_type")
	if err != nil {
		return err
	}
	name, err := str(m, "name")
	if err != nil {
		return err
	}
	desc, err := str(m, "description")
	if err != nil {
		return err
	}
	var isPublic *bool
	if b, ok, err := boolField(m, "is_public"); err != nil {
		return err
	} else if ok {
		isPublic = &b
	}
	if name == nil && desc == nil && isPublic == nil {
		return badRequest("Invalid input received: Specify group type name, description, is_public or a combination thereof.")
	}
	t, err := a.v.UpdateGroupType(r.Context(), r.PathValue("id"), name, desc, isPublic)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"group_type": groupTypeView(r, t)})
	return nil
}

func (a *api) deleteGroupType(w http.ResponseWriter, r *http.Request) error {
	if err := groupTypesVersion(r); err != nil {
		return err
	}
	if err := a.v.DeleteGroupType(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) adminGroupType(r *http.Request) (*volume.GroupType, error) {
	if err := groupTypesVersion(r); err != nil {
		return nil, err
	}
	if !creds(r).IsAdmin() {
		return nil, fault.New(fault.Forbidden, "Policy doesn't allow group:group_types_specs to be performed.")
	}
	return a.v.GetGroupType(r.Context(), r.PathValue("id"))
}

func (a *api) listGroupSpecs(w http.ResponseWriter, r *http.Request) error {
	t, err := a.adminGroupType(r)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"group_specs": orEmpty(t.GroupSpecs)})
	return nil
}

// setGroupSpecs: POST /group_types/{id}/group_specs {"group_specs": {...}}, 202.
func (a *api) setGroupSpecs(w http.ResponseWriter, r *http.Request) error {
	if err := groupTypesVersion(r); err != nil {
		return err
	}
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	specs, err := strMap(m, "group_specs")
	if err != nil {
		return err
	}
	if specs == nil {
		return badRequest("Missing required element 'group_specs' in request body.")
	}
	if err := a.v.SetGroupSpecs(r.Context(), r.PathValue("id"), specs); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"group_specs": specs})
	return nil
}

func (a *api) getGroupSpec(w http.ResponseWriter, r *http.Request) error {
	t, err := a.adminGroupType(r)
	if err != nil {
		return err
	}
	k := r.PathValue("key")
	v, ok := t.GroupSpecs[k]
	if !ok {
		return fault.New(fault.NotFound, "Group Type %s has no specs with key %s.", t.ID, k)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]string{k: v})
	return nil
}

func (a *api) putGroupSpec(w http.ResponseWriter, r *http.Request) error {
	if err := groupTypesVersion(r); err != nil {
		return err
	}
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	k := r.PathValue("key")
	if len(m) > 1 {
		return badRequest("Request body contains too many items.")
	}
	v, err := str(m, k)
	if err != nil {
		return err
	}
	if v == nil {
		return badRequest("Request body and URI mismatch")
	}
	if err := a.v.SetGroupSpecs(r.Context(), r.PathValue("id"), map[string]string{k: *v}); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]string{k: *v})
	return nil
}

func (a *api) deleteGroupSpec(w http.ResponseWriter, r *http.Request) error {
	if err := groupTypesVersion(r); err != nil {
		return err
	}
	if err := a.v.DeleteGroupSpec(r.Context(), r.PathValue("id"), r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
