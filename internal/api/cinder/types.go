package cinder

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// typeView renders a type; extra specs are shown to admins only (Cinder's
// default policy), qos_specs_id to admins.
func typeView(r *http.Request, t *volume.Type, withSpecs bool) map[string]any {
	out := map[string]any{"id": t.ID, "name": t.Name, "description": nullable(t.Description),
		"is_public": t.IsPublic, "os-volume-type-access:is_public": t.IsPublic}
	c := creds(r)
	if c.IsAdmin() {
		out["qos_specs_id"] = nullable(t.QosSpecsID)
	}
	if withSpecs {
		specs := t.ExtraSpecs
		if specs == nil {
			specs = map[string]string{}
		}
		if !c.IsAdmin() {
			// Users see only the specs that describe behaviour they rely on.
			pub := map[string]string{}
			for _, k := range []string{"multiattach", "RESKEY:availability_zones", "replication_enabled"} {
				if v, ok := specs[k]; ok {
					pub[k] = v
				}
			}
			specs = pub
		}
		out["extra_specs"] = specs
	}
	return out
}

func (a *api) createType(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "volume_type")
	if err != nil {
		return err
	}
	var t volume.Type
	if t.Name, err = strOr(m, "name"); err != nil {
		return err
	}
	if t.Description, err = strOr(m, "description"); err != nil {
		return err
	}
	t.IsPublic = true
	for _, k := range []string{"os-volume-type-access:is_public", "is_public"} {
		if b, ok, err := boolField(m, k); err != nil {
			return err
		} else if ok {
			t.IsPublic = b
		}
	}
	if t.ExtraSpecs, err = strMap(m, "extra_specs"); err != nil {
		return err
	}
	out, err := a.v.CreateType(r.Context(), t)
	if err != nil {
		return err
	}
	v := typeView(r, out, true)
	delete(v, "qos_specs_id")
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": v})
	return nil
}

func (a *api) getType(w http.ResponseWriter, r *http.Request) error {
	t, err := a.v.GetType(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": typeView(r, t, true)})
	return nil
}

func (a *api) listTypes(w http.ResponseWriter, r *http.Request) error {
	var isPublic *bool
	q := r.URL.Query()
	if q.Has("is_public") {
		if b, ok := parseBool(q.Get("is_public")); ok {
			isPublic = &b
		} else if q.Get("is_public") == "None" && creds(r).IsAdmin() {
			isPublic = nil
		}
	} else if !creds(r).IsAdmin() {
		t := true
		isPublic = &t
	}
	types, err := a.v.ListTypes(r.Context(), isPublic)
	if err != nil {
		return err
	}
	return writePage(w, r, types, func(t volume.Type) string { return t.ID },
		func(x *volume.Type) map[string]any { return typeView(r, x, true) }, "volume_types", "volume_type_links")
}

func (a *api) updateType(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "volume_type")
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
		return badRequest("Invalid input received: Specify volume type name, description, is_public or a combination thereof.")
	}
	t, err := a.v.UpdateType(r.Context(), r.PathValue("id"), name, desc, isPublic)
	if err != nil {
		return err
	}
	v := typeView(r, t, true)
	delete(v, "qos_specs_id")
	delete(v, "os-volume-type-access:is_public") // not in Cinder's update answer
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": v})
	return nil
}

func (a *api) deleteType(w http.ResponseWriter, r *http.Request) error {
	if err := a.v.DeleteType(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) typeAction(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	for name, raw := range m {
		var args map[string]json.RawMessage
		json.Unmarshal(raw, &args) //nolint:errcheck // a missing project is refused by the domain
		p, err := strOr(args, "project")
		if err != nil {
			return err
		}
		switch name {
		case "addProjectAccess":
			err = a.v.SetTypeAccess(r.Context(), r.PathValue("id"), p, true)
		case "removeProjectAccess":
			err = a.v.SetTypeAccess(r.Context(), r.PathValue("id"), p, false)
		default:
			return badRequest("There is no such action: %s", name)
		}
		if err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) listTypeAccess(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	projects, err := a.v.TypeAccess(r.Context(), id)
	if err != nil {
		return err
	}
	out := []map[string]string{}
	for _, p := range projects {
		out = append(out, map[string]string{"volume_type_id": id, "project_id": p})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volume_type_access": out})
	return nil
}

func (a *api) listExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	t, err := a.v.GetType(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !creds(r).IsAdmin() {
		return fault.New(fault.Forbidden, "Policy doesn't allow volume_extension:types_extra_specs:index to be performed.")
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": orEmpty(t.ExtraSpecs)})
	return nil
}

func (a *api) setExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	if _, ok := m["extra_specs"]; !ok {
		return badRequest("Malformed request body")
	}
	specs, err := strMap(m, "extra_specs")
	if err != nil {
		return err
	}
	if specs == nil {
		return badRequest("Malformed request body: extra_specs must be an object.")
	}
	if _, err := a.v.SetExtraSpecs(r.Context(), r.PathValue("id"), specs); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
	return nil
}

func (a *api) getExtraSpec(w http.ResponseWriter, r *http.Request) error {
	t, err := a.v.GetType(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !creds(r).IsAdmin() {
		return fault.New(fault.Forbidden, "Policy doesn't allow volume_extension:types_extra_specs:show to be performed.")
	}
	k := r.PathValue("key")
	v, ok := t.ExtraSpecs[k]
	if !ok {
		return fault.New(fault.NotFound, "Volume Type %s has no extra specs with key %s.", t.ID, k)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]string{k: v})
	return nil
}

func (a *api) putExtraSpec(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	k := r.PathValue("key")
	if len(m) > 1 {
		return badRequest("Request body contains too many items.")
	}
	if _, ok := m[k]; !ok {
		return badRequest("Request body and URI mismatch")
	}
	v, err := str(m, k)
	if err != nil {
		return err
	}
	if v == nil {
		return badRequest("Invalid input received: extra spec value can not be null.")
	}
	if _, err := a.v.SetExtraSpecs(r.Context(), r.PathValue("id"), map[string]string{k: *v}); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]string{k: *v})
	return nil
}

func (a *api) deleteExtraSpec(w http.ResponseWriter, r *http.Request) error {
	if err := a.v.DeleteExtraSpec(r.Context(), r.PathValue("id"), r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
