package neutron

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/network"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// prefix is where Networking lives on the shared listener.
const prefix = "/network"

const v2 = prefix + "/v2.0"

type api struct {
	apihttp.API
	net *network.Service
}

// Register adds the Networking v2.0 routes to mux.
func Register(shared *http.ServeMux, svc *network.Service, auth apihttp.Authenticator, log *slog.Logger) {
	a := &api{API: apihttp.API{Faults: writeFault, Log: log.With("component", "api.neutron")}, net: svc}
	open := a.H
	authed := func(h apihttp.HandlerFunc) http.Handler { return a.RequireToken(auth, a.H(h)) }
	// Routes live on a mux of their own so that every path under /network
	// accepts Neutron's optional ".json" suffix and unknown paths get a
	// NeutronError body.
	mux := http.NewServeMux()
	shared.Handle(prefix, open(a.versions))
	shared.Handle(prefix+"/", a.dispatch(mux))
	handle := func(pattern string, h apihttp.HandlerFunc) { mux.Handle(pattern, authed(h)) }

	mux.Handle("GET "+prefix+"/{$}", open(a.versions))
	handle("GET "+v2, a.version)
	handle("GET "+v2+"/{$}", a.version)
	handle("GET "+v2+"/extensions", a.listExtensions)
	handle("GET "+v2+"/extensions/{alias}", a.getExtension)

	handle("POST "+v2+"/networks", a.createNetwork)
	handle("GET "+v2+"/networks", a.listNetworks)
	handle("GET "+v2+"/networks/{id}", a.getNetwork)
	handle("PUT "+v2+"/networks/{id}", a.updateNetwork)
	handle("DELETE "+v2+"/networks/{id}", a.deleteNetwork)

	handle("POST "+v2+"/subnets", a.createSubnet)
	handle("GET "+v2+"/subnets", a.listSubnets)
	handle("GET "+v2+"/subnets/{id}", a.getSubnet)
	handle("PUT "+v2+"/subnets/{id}", a.updateSubnet)
	handle("DELETE "+v2+"/subnets/{id}", a.deleteSubnet)

	handle("POST "+v2+"/ports", a.createPort)
	handle("GET "+v2+"/ports", a.listPorts)
	handle("GET "+v2+"/ports/{id}", a.getPort)
	handle("PUT "+v2+"/ports/{id}", a.updatePort)
	handle("DELETE "+v2+"/ports/{id}", a.deletePort)

	handle("POST "+v2+"/routers", a.createRouter)
	handle("GET "+v2+"/routers", a.listRouters)
	handle("GET "+v2+"/routers/{id}", a.getRouter)
	handle("PUT "+v2+"/routers/{id}", a.updateRouter)
	handle("DELETE "+v2+"/routers/{id}", a.deleteRouter)
	handle("PUT "+v2+"/routers/{id}/add_router_interface", a.addInterface)
	handle("PUT "+v2+"/routers/{id}/remove_router_interface", a.removeInterface)
	handle("PUT "+v2+"/routers/{id}/add_extraroutes", a.addRoutes)
	handle("PUT "+v2+"/routers/{id}/remove_extraroutes", a.removeRoutes)

	handle("POST "+v2+"/floatingips", a.createFIP)
	handle("GET "+v2+"/floatingips", a.listFIPs)
	handle("GET "+v2+"/floatingips/{id}", a.getFIP)
	handle("PUT "+v2+"/floatingips/{id}", a.updateFIP)
	handle("DELETE "+v2+"/floatingips/{id}", a.deleteFIP)
	handle("POST "+v2+"/floatingips/{fip}/port_forwardings", a.createPF)
	handle("GET "+v2+"/floatingips/{fip}/port_forwardings", a.listPFs)
	handle("GET "+v2+"/floatingips/{fip}/port_forwardings/{id}", a.getPF)
	handle("PUT "+v2+"/floatingips/{fip}/port_forwardings/{id}", a.updatePF)
	handle("DELETE "+v2+"/floatingips/{fip}/port_forwardings/{id}", a.deletePF)

	handle("POST "+v2+"/security-groups", a.createSG)
	handle("GET "+v2+"/security-groups", a.listSGs)
	handle("GET "+v2+"/security-groups/{id}", a.getSG)
	handle("PUT "+v2+"/security-groups/{id}", a.updateSG)
	handle("DELETE "+v2+"/security-groups/{id}", a.deleteSG)
	handle("POST "+v2+"/security-group-rules", a.createRule)
	handle("GET "+v2+"/security-group-rules", a.listRules)
	handle("GET "+v2+"/security-group-rules/{id}", a.getRule)
	handle("DELETE "+v2+"/security-group-rules/{id}", a.deleteRule)

	handle("POST "+v2+"/subnetpools", a.createPool)
	handle("GET "+v2+"/subnetpools", a.listPools)
	handle("GET "+v2+"/subnetpools/{id}", a.getPool)
	handle("PUT "+v2+"/subnetpools/{id}", a.updatePool)
	handle("DELETE "+v2+"/subnetpools/{id}", a.deletePool)

	handle("GET "+v2+"/quotas", a.listQuotas)
	handle("GET "+v2+"/quotas/{project}", a.getQuota)
	handle("GET "+v2+"/quotas/{project}/default", a.defaultQuota)
	handle("GET "+v2+"/quotas/{project}/details", a.quotaDetails)
	handle("PUT "+v2+"/quotas/{project}", a.updateQuota)
	handle("DELETE "+v2+"/quotas/{project}", a.resetQuota)

	handle("GET "+v2+"/network-ip-availabilities", a.listAvailabilities)
	handle("GET "+v2+"/network-ip-availabilities/{id}", a.getAvailability)
	handle("GET "+v2+"/availability_zones", a.listAZs)
	handle("GET "+v2+"/agents", a.listAgents)

	for _, c := range []string{"networks", "subnets", "ports", "routers", "floatingips", "security-groups", "subnetpools"} {
		handle("GET "+v2+"/"+c+"/{id}/tags", a.listTags(c))
		handle("PUT "+v2+"/"+c+"/{id}/tags", a.replaceTags(c))
		handle("DELETE "+v2+"/"+c+"/{id}/tags", a.clearTags(c))
		handle("GET "+v2+"/"+c+"/{id}/tags/{tag}", a.checkTag(c))
		handle("PUT "+v2+"/"+c+"/{id}/tags/{tag}", a.addTag(c))
		handle("DELETE "+v2+"/"+c+"/{id}/tags/{tag}", a.deleteTag(c))
	}
}

// dispatch strips a ".json" suffix and answers unknown routes with a
// NeutronError.
func (a *api) dispatch(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := strings.CutSuffix(r.URL.Path, ".json"); ok {
			r.URL.Path = p
			r.URL.RawPath = ""
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			a.Fail(w, r, notFound("No route for "+r.Method+" "+r.URL.Path))
			return
		}
		mux.ServeHTTP(w, r) // sets the path values
	})
}

// listAgents answers GET /agents: no agents report yet (the host agent comes
// with the data plane); Neutron shows non-admins an empty list too.
func (a *api) listAgents(w http.ResponseWriter, r *http.Request) error {
	return writeList(w, r, "agents", []view{})
}

func isAdmin(r *http.Request) bool { return policy.FromContext(r.Context()).IsAdmin() }

// decodeBody reads {"<key>": {...}} into v.
func decodeBody(w http.ResponseWriter, r *http.Request, key string, v any) error {
	var body map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &body); err != nil {
		return err
	}
	raw, ok := body[key]
	if !ok || string(raw) == "null" {
		return badRequest("Resource body required")
	}
	return unmarshal(raw, v)
}

func unmarshal(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badRequest("Invalid input for %s. Reason: '%s' is not a valid %s.", te.Field, te.Value, te.Type)
		}
		return badRequest("Invalid input: %v", err)
	}
	return nil
}

// decodeBulk reads either {"<single>": {...}} or {"<plural>": [...]}.
func decodeBulk(w http.ResponseWriter, r *http.Request, single, plural string) ([]json.RawMessage, bool, error) {
	var body map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &body); err != nil {
		return nil, false, err
	}
	if raw, ok := body[plural]; ok {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, false, badRequest("Invalid input for %s", plural)
		}
		return items, true, nil
	}
	raw, ok := body[single]
	if !ok || string(raw) == "null" {
		return nil, false, badRequest("Resource body required")
	}
	return []json.RawMessage{raw}, false, nil
}

// writeCreated renders one created resource or a bulk answer.
func writeCreated(w http.ResponseWriter, r *http.Request, single, plural string, bulk bool, views []view) error {
	if bulk {
		apihttp.WriteJSON(w, http.StatusCreated, map[string]any{plural: views})
		return nil
	}
	return writeOne(w, r, http.StatusCreated, single, views[0])
}

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}
