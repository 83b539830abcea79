package placement

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/api/microversion"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/scheduler"
)

const prefix = "/placement"

// Versions is the microversion range served: 1.0 to 1.14 (provider trees:
// root_provider_uuid and parent_provider_uuid in provider views).
var Versions = microversion.Range{Service: "placement", Min: microversion.Version{Major: 1, Minor: 0}, Max: microversion.Version{Major: 1, Minor: 14}}

type api struct {
	apihttp.API
	c *compute.Service
}

// Register adds the Placement routes to mux.
func Register(mux *http.ServeMux, c *compute.Service, auth apihttp.Authenticator, log *slog.Logger) {
	a := &api{API: apihttp.API{Faults: writeFault, Log: log.With("component", "api.placement")}, c: c}
	h := func(pattern string, fn apihttp.HandlerFunc) {
		mux.Handle(pattern, Versions.Middleware(writeFault, a.RequireToken(auth, a.H(fn))))
	}
	mux.Handle("GET "+prefix, a.H(a.versions))
	mux.Handle("GET "+prefix+"/{$}", a.H(a.versions))
	h("GET "+prefix+"/resource_providers", a.listProviders)
	h("GET "+prefix+"/resource_providers/{uuid}", a.getProvider)
	h("GET "+prefix+"/resource_providers/{uuid}/inventories", a.inventories)
	h("GET "+prefix+"/resource_providers/{uuid}/usages", a.usages)
	h("GET "+prefix+"/resource_providers/{uuid}/allocations", a.providerAllocations)
	h("GET "+prefix+"/allocations/{consumer}", a.allocations)
}

type errorView struct {
	Status    int    `json:"status"`
	Title     string `json:"title"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
}

// writeFault renders Placement's error body.
func writeFault(w http.ResponseWriter, r *http.Request, status int, fe *fault.Error) {
	apihttp.WriteJSON(w, status, map[string][]errorView{"errors": {{
		Status: status, Title: http.StatusText(status), Detail: fe.Msg, RequestID: w.Header().Get(apihttp.HeaderRequestID),
	}}})
}

func (a *api) versions(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{map[string]any{
		"id": "v1.0", "status": "CURRENT", "min_version": Versions.Min.String(), "max_version": Versions.Max.String(),
		"links": []map[string]string{{"rel": "self", "href": ""}},
	}}})
	return nil
}

func providerView(r *http.Request, h *compute.HostView) map[string]any {
	base := apihttp.BaseURL(r) + prefix + "/resource_providers/" + h.ID
	v := map[string]any{
		"uuid": h.ID, "name": h.HypervisorHostname, "generation": h.Generation,
		"links": []map[string]string{
			{"rel": "self", "href": base},
			{"rel": "inventories", "href": base + "/inventories"},
			{"rel": "usages", "href": base + "/usages"},
			{"rel": "allocations", "href": base + "/allocations"},
		},
	}
	if microversion.FromContext(r.Context()).AtLeast(1, 14) {
		v["root_provider_uuid"] = h.ID
		v["parent_provider_uuid"] = nil
	}
	return v
}

func (a *api) listProviders(w http.ResponseWriter, r *http.Request) error {
	hs, err := a.c.ListHosts(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out := []map[string]any{}
	for i := range hs {
		if (q.Has("name") && q.Get("name") != hs[i].HypervisorHostname) || (q.Has("uuid") && q.Get("uuid") != hs[i].ID) {
			continue
		}
		out = append(out, providerView(r, &hs[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"resource_providers": out})
	return nil
}

func (a *api) provider(r *http.Request) (*compute.HostView, error) {
	id := r.PathValue("uuid")
	h, err := a.c.GetHost(r.Context(), id)
	if fault.Is(err, fault.NotFound) || (err == nil && h.ID != id) {
		return nil, fault.New(fault.NotFound, "No resource provider with uuid %s found", id)
	}
	return h, err
}

func (a *api) getProvider(w http.ResponseWriter, r *http.Request) error {
	h, err := a.provider(r)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, providerView(r, h))
	return nil
}

func (a *api) inventories(w http.ResponseWriter, r *http.Request) error {
	h, err := a.provider(r)
	if err != nil {
		return err
	}
	inv := map[string]scheduler.Inventory{}
	for k, v := range h.Inventory {
		if v.AllocationRatio == 0 {
			v.AllocationRatio = 1
		}
		inv[k] = v
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"inventories": inv, "resource_provider_generation": h.Generation})
	return nil
}

func (a *api) usages(w http.ResponseWriter, r *http.Request) error {
	h, err := a.provider(r)
	if err != nil {
		return err
	}
	u := map[string]int64{}
	for k := range h.Inventory {
		u[k] = h.Used[k]
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"usages": u, "resource_provider_generation": h.Generation})
	return nil
}

func (a *api) providerAllocations(w http.ResponseWriter, r *http.Request) error {
	h, err := a.provider(r)
	if err != nil {
		return err
	}
	as, err := a.c.ProviderAllocations(r.Context(), h.ID)
	if err != nil {
		return err
	}
	out := map[string]any{}
	for _, al := range as {
		out[al.ConsumerID] = map[string]any{"resources": al.Resources}
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"allocations": out, "resource_provider_generation": h.Generation})
	return nil
}

func (a *api) allocations(w http.ResponseWriter, r *http.Request) error {
	consumer := strings.TrimSpace(r.PathValue("consumer"))
	as, err := a.c.Allocations(r.Context(), consumer)
	if err != nil {
		return err
	}
	out := map[string]any{}
	body := map[string]any{"allocations": out}
	for _, al := range as {
		out[al.ProviderID] = map[string]any{"resources": al.Resources}
		body["project_id"] = al.ProjectID
		body["user_id"] = al.UserID
	}
	apihttp.WriteJSON(w, http.StatusOK, body)
	return nil
}
