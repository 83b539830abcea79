package nova

import (
	"log/slog"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/api/microversion"
	"github.com/nubo-cloud/nubo/internal/compute"
)

// prefix is where Compute lives on the shared listener.
const prefix = "/compute"

const v21 = prefix + "/v2.1"

// Versions is the microversion range served: every microversion up to Max
// is implemented for the resources this package serves (docs/compat/compute.md).
var Versions = microversion.Range{
	Service: "compute",
	Legacy:  "X-OpenStack-Nova-API-Version",
	Min:     microversion.Version{Major: 2, Minor: 1},
	Max:     microversion.Version{Major: 2, Minor: 79},
}

type api struct {
	apihttp.API
	c *compute.Service
}

// Register adds the Compute v2.1 routes to mux; auth validates tokens.
func Register(mux *http.ServeMux, c *compute.Service, auth apihttp.Authenticator, log *slog.Logger) {
	a := &api{API: apihttp.API{Faults: writeFault, Log: log.With("component", "api.nova")}, c: c}
	open := a.H
	authed := func(h apihttp.HandlerFunc) http.Handler {
		return Versions.Middleware(writeFault, a.RequireToken(auth, a.H(h)))
	}
	h := func(pattern string, fn apihttp.HandlerFunc) { mux.Handle(pattern, authed(fn)) }

	mux.Handle("GET "+prefix, open(a.versions))
	mux.Handle("GET "+prefix+"/{$}", open(a.versions))
	mux.Handle("GET "+prefix+"/v2/{$}", authed(a.versionV2))
	h("GET "+v21, a.version)
	h("GET "+v21+"/{$}", a.version)

	// Flavors, their extra specs and access lists.
	h("GET "+v21+"/flavors", a.listFlavors)
	h("GET "+v21+"/flavors/detail", a.listFlavorsDetail)
	h("POST "+v21+"/flavors", a.createFlavor)
	h("GET "+v21+"/flavors/{id}", a.getFlavor)
	h("PUT "+v21+"/flavors/{id}", a.updateFlavor)
	h("DELETE "+v21+"/flavors/{id}", a.deleteFlavor)
	h("POST "+v21+"/flavors/{id}/action", a.flavorAction)
	h("GET "+v21+"/flavors/{id}/os-flavor-access", a.listFlavorAccess)
	h("GET "+v21+"/flavors/{id}/os-extra_specs", a.listExtraSpecs)
	h("POST "+v21+"/flavors/{id}/os-extra_specs", a.setExtraSpecs)
	h("GET "+v21+"/flavors/{id}/os-extra_specs/{key}", a.getExtraSpec)
	h("PUT "+v21+"/flavors/{id}/os-extra_specs/{key}", a.updateExtraSpec)
	h("DELETE "+v21+"/flavors/{id}/os-extra_specs/{key}", a.deleteExtraSpec)

	// Keypairs.
	h("GET "+v21+"/os-keypairs", a.listKeypairs)
	h("POST "+v21+"/os-keypairs", a.createKeypair)
	h("GET "+v21+"/os-keypairs/{name}", a.getKeypair)
	h("DELETE "+v21+"/os-keypairs/{name}", a.deleteKeypair)

	// Hosts as Nova shows them: zones, services, hypervisors, aggregates.
	h("GET "+v21+"/os-availability-zone", a.listZones)
	h("GET "+v21+"/os-availability-zone/detail", a.listZonesDetail)
	h("GET "+v21+"/os-services", a.listServices)
	h("PUT "+v21+"/os-services/{action}", a.updateService)
	h("DELETE "+v21+"/os-services/{id}", a.deleteService)
	h("GET "+v21+"/os-hypervisors", a.listHypervisors)
	h("GET "+v21+"/os-hypervisors/detail", a.listHypervisorsDetail)
	h("GET "+v21+"/os-hypervisors/statistics", a.hypervisorStatistics)
	h("GET "+v21+"/os-hypervisors/{id}", a.getHypervisor)
	h("GET "+v21+"/os-hypervisors/{id}/uptime", a.hypervisorUptime)
	h("GET "+v21+"/os-hypervisors/{pattern}/search", a.searchHypervisors)
	h("GET "+v21+"/os-hypervisors/{pattern}/servers", a.hypervisorServers)
	h("GET "+v21+"/os-aggregates", a.listAggregates)
	h("POST "+v21+"/os-aggregates", a.createAggregate)
	h("GET "+v21+"/os-aggregates/{id}", a.getAggregate)
	h("PUT "+v21+"/os-aggregates/{id}", a.updateAggregate)
	h("DELETE "+v21+"/os-aggregates/{id}", a.deleteAggregate)
	h("POST "+v21+"/os-aggregates/{id}/action", a.aggregateAction)

	// Quotas, limits and usage.
	h("GET "+v21+"/limits", a.limits)
	h("GET "+v21+"/os-quota-sets/{project}", a.getQuotaSet)
	h("GET "+v21+"/os-quota-sets/{project}/defaults", a.getQuotaDefaults)
	h("GET "+v21+"/os-quota-sets/{project}/detail", a.getQuotaDetail)
	h("PUT "+v21+"/os-quota-sets/{project}", a.updateQuotaSet)
	h("DELETE "+v21+"/os-quota-sets/{project}", a.deleteQuotaSet)
	h("GET "+v21+"/os-quota-class-sets/{id}", a.getQuotaClass)
	h("PUT "+v21+"/os-quota-class-sets/{id}", a.updateQuotaClass)
	h("GET "+v21+"/os-simple-tenant-usage", a.listUsage)
	h("GET "+v21+"/os-simple-tenant-usage/{project}", a.getUsage)

	// Server groups.
	h("GET "+v21+"/os-server-groups", a.listServerGroups)
	h("POST "+v21+"/os-server-groups", a.createServerGroup)
	h("GET "+v21+"/os-server-groups/{id}", a.getServerGroup)
	h("DELETE "+v21+"/os-server-groups/{id}", a.deleteServerGroup)
}
