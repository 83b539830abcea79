package nova

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
)

type flavorView map[string]any

func flavorBrief(r *http.Request, f *compute.Flavor) flavorView {
	v := flavorView{"id": f.ID, "name": f.Name, "links": linkSelf(r, "flavors", f.ID)}
	if mv(r).AtLeast(2, 55) {
		v["description"] = f.Description
	}
	return v
}

func flavorDetail(r *http.Request, f *compute.Flavor) flavorView {
	v := flavorBrief(r, f)
	v["ram"] = f.RAM
	v["vcpus"] = f.VCPUs
	v["disk"] = f.Disk
	v["OS-FLV-EXT-DATA:ephemeral"] = f.Ephemeral
	v["OS-FLV-DISABLED:disabled"] = f.Disabled
	v["os-flavor-access:is_public"] = f.IsPublic
	v["rxtx_factor"] = f.RxtxFactor
	switch {
	case f.Swap != 0:
		v["swap"] = f.Swap
	case mv(r).AtLeast(2, 75):
		v["swap"] = 0
	default:
		v["swap"] = ""
	}
	if mv(r).AtLeast(2, 61) {
		specs := f.ExtraSpecs
		if specs == nil {
			specs = map[string]string{}
		}
		v["extra_specs"] = specs
	}
	return v
}

func (a *api) flavorList(w http.ResponseWriter, r *http.Request, detail bool) error {
	q := r.URL.Query()
	flt := compute.FlavorFilter{SortKey: q.Get("sort_key"), SortDir: q.Get("sort_dir")}
	if s := q.Get("is_public"); s != "" {
		if strings.EqualFold(s, "none") {
			flt.IsPublic = nil
		} else if b, ok := parseBool(s); ok {
			flt.IsPublic = &b
		} else {
			return badRequest("Invalid is_public filter [%s]", s)
		}
	} else {
		t := true
		flt.IsPublic = &t
	}
	for name, dst := range map[string]*int64{"minRam": &flt.MinRAM, "minDisk": &flt.MinDisk} {
		if s := q.Get(name); s != "" {
			n, err := intField(map[string]json.RawMessage{name: json.RawMessage(`"` + s + `"`)}, name, 0, false)
			if err != nil || n < 0 {
				return badRequest("Invalid %s filter [%s]", name, s)
			}
			*dst = n
		}
	}
	fs, err := a.c.ListFlavors(r.Context(), flt)
	if err != nil {
		return err
	}
	page, err := apihttp.Paginate(r, fs, func(f compute.Flavor) string { return f.ID }, 1000)
	if err != nil {
		return err
	}
	out := make([]flavorView, 0, len(page.Items))
	for i := range page.Items {
		if detail {
			out = append(out, flavorDetail(r, &page.Items[i]))
		} else {
			out = append(out, flavorBrief(r, &page.Items[i]))
		}
	}
	body := map[string]any{"flavors": out}
	if page.Next != "" {
		body["flavors_links"] = []link{{Rel: "next", Href: apihttp.NextLink(apihttp.BaseURL(r), r, page.Next)}}
	}
	apihttp.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (a *api) listFlavors(w http.ResponseWriter, r *http.Request) error {
	return a.flavorList(w, r, false)
}

func (a *api) listFlavorsDetail(w http.ResponseWriter, r *http.Request) error {
	return a.flavorList(w, r, true)
}

func (a *api) getFlavor(w http.ResponseWriter, r *http.Request) error {
	f, err := a.c.GetFlavor(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"flavor": flavorDetail(r, f)})
	return nil
}

func (a *api) createFlavor(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "flavor")
	if err != nil {
		return err
	}
	allowed := []string{"name", "id", "ram", "vcpus", "disk", "swap", "OS-FLV-EXT-DATA:ephemeral", "rxtx_factor", "os-flavor-access:is_public"}
	if mv(r).AtLeast(2, 55) {
		allowed = append(allowed, "description")
	}
	if err := onlyFields(m, allowed...); err != nil {
		return err
	}
	var f compute.Flavor
	name, err := stringField(m, "name")
	if err != nil {
		return err
	}
	if name == nil {
		return badRequest("Invalid input for field/attribute flavor. Value: None. 'name' is a required property.")
	}
	f.Name = *name
	if raw, ok := m["id"]; ok && string(raw) != "null" {
		id, err := stringField(m, "id")
		if err != nil {
			// Nova also takes a number and uses its decimal form.
			n, nerr := intField(m, "id", 0, false)
			if nerr != nil {
				return err
			}
			s := strconv.FormatInt(n, 10)
			id = &s
		}
		if *id != "auto" {
			if *id == "" {
				return badRequest("Invalid input for field/attribute id. Value: . '' is too short.")
			}
			f.ID = *id
		}
	}
	for _, fld := range []struct {
		name     string
		dst      *int64
		required bool
	}{{"ram", &f.RAM, true}, {"vcpus", &f.VCPUs, true}, {"disk", &f.Disk, true}, {"swap", &f.Swap, false}, {"OS-FLV-EXT-DATA:ephemeral", &f.Ephemeral, false}} {
		if _, ok := m[fld.name]; !ok && fld.required {
			return badRequest("Invalid input for field/attribute flavor. Value: None. '%s' is a required property.", fld.name)
		}
		if *fld.dst, err = intField(m, fld.name, 0, fld.name == "swap"); err != nil {
			return err
		}
	}
	if raw, ok := m["rxtx_factor"]; ok {
		var x float64
		if err := json.Unmarshal(raw, &x); err != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil || json.Unmarshal([]byte(s), &x) != nil {
				return badRequest("Invalid input for field/attribute rxtx_factor. Value: %s.", raw)
			}
		}
		if x <= 0 {
			return badRequest("Invalid input for field/attribute rxtx_factor. Value: %s. It must be positive.", raw)
		}
		f.RxtxFactor = x
	}
	f.IsPublic = true
	if b, err := boolField(m, "os-flavor-access:is_public"); err != nil {
		return err
	} else if b != nil {
		f.IsPublic = *b
	}
	if f.Description, err = stringField(m, "description"); err != nil {
		return err
	}
	out, err := a.c.CreateFlavor(r.Context(), f)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"flavor": flavorDetail(r, out)})
	return nil
}

func (a *api) updateFlavor(w http.ResponseWriter, r *http.Request) error {
	if !mv(r).AtLeast(2, 55) {
		return methodNotAllowed()
	}
	m, err := decodeBody(w, r, "flavor")
	if err != nil {
		return err
	}
	if err := onlyFields(m, "description"); err != nil {
		return err
	}
	if _, ok := m["description"]; !ok {
		return badRequest("Invalid input for field/attribute flavor. Value: {}. 'description' is a required property.")
	}
	desc, err := stringField(m, "description")
	if err != nil {
		return err
	}
	f, err := a.c.UpdateFlavorDescription(r.Context(), r.PathValue("id"), desc)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"flavor": flavorDetail(r, f)})
	return nil
}

func (a *api) deleteFlavor(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DeleteFlavor(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

type flavorAccessView struct {
	FlavorID string `json:"flavor_id"`
	TenantID string `json:"tenant_id"`
}

func writeFlavorAccess(w http.ResponseWriter, id string, projects []string) {
	out := make([]flavorAccessView, 0, len(projects))
	for _, p := range projects {
		out = append(out, flavorAccessView{FlavorID: id, TenantID: p})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"flavor_access": out})
}

func (a *api) listFlavorAccess(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	ps, err := a.c.FlavorAccess(r.Context(), id)
	if err != nil {
		return err
	}
	writeFlavorAccess(w, id, ps)
	return nil
}

func (a *api) flavorAction(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "")
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	for action, fn := range map[string]func(ctxID, project string) ([]string, error){
		"addTenantAccess":    func(fid, p string) ([]string, error) { return a.c.AddFlavorAccess(r.Context(), fid, p) },
		"removeTenantAccess": func(fid, p string) ([]string, error) { return a.c.RemoveFlavorAccess(r.Context(), fid, p) },
	} {
		raw, ok := m[action]
		if !ok {
			continue
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil {
			return badRequest("Invalid input for field/attribute %s.", action)
		}
		tenant, err := stringField(body, "tenant")
		if err != nil {
			return err
		}
		if tenant == nil || *tenant == "" {
			return badRequest("Invalid input for field/attribute %s. Value: None. 'tenant' is a required property.", action)
		}
		ps, err := fn(id, *tenant)
		if err != nil {
			return err
		}
		writeFlavorAccess(w, id, ps)
		return nil
	}
	return badRequest("Invalid action: the body names no known flavor action.")
}

func (a *api) listExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	specs, err := a.c.FlavorExtraSpecs(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
	return nil
}

// specValues reads extra spec values: strings, or numbers and booleans that
// Nova turns into strings.
func specValues(m map[string]json.RawMessage) (map[string]string, error) {
	out := map[string]string{}
	for k, raw := range m {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, badRequest("Invalid input for field/attribute extra_specs.")
		}
		switch x := v.(type) {
		case string:
			out[k] = x
		case float64, bool:
			out[k] = strings.TrimSpace(string(raw))
		default:
			return nil, badRequest("Invalid input for field/attribute extra_specs. Value of %s must be a string, number or boolean.", k)
		}
	}
	return out, nil
}

func (a *api) setExtraSpecs(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "extra_specs")
	if err != nil {
		return err
	}
	specs, err := specValues(m)
	if err != nil {
		return err
	}
	if _, err := a.c.SetFlavorExtraSpecs(r.Context(), r.PathValue("id"), specs); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
	return nil
}

func (a *api) getExtraSpec(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	v, err := a.c.FlavorExtraSpec(r.Context(), r.PathValue("id"), key)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]string{key: v})
	return nil
}

func (a *api) updateExtraSpec(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "")
	if err != nil {
		return err
	}
	key := r.PathValue("key")
	if _, ok := m[key]; !ok {
		return badRequest("Request body and URI mismatch")
	}
	if len(m) > 1 {
		return badRequest("Request body contains too many items")
	}
	specs, err := specValues(m)
	if err != nil {
		return err
	}
	if _, err := a.c.SetFlavorExtraSpecs(r.Context(), r.PathValue("id"), specs); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, specs)
	return nil
}

func (a *api) deleteExtraSpec(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DeleteFlavorExtraSpec(r.Context(), r.PathValue("id"), r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
