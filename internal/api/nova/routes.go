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
	c     *compute.Service
	proxy Proxy // networking and image proxy APIs (proxy.go); nil: 503
}

// Register adds the Compute v2.1 routes to mux; auth validates tokens.
func Register(mux *http.ServeMux, c *compute.Service, auth apihttp.Authenticator, log *slog.Logger, opts ...Option) {
	a := &api{API: apihttp.API{Faults: writeFault, Log: log.With("component", "api.nova")}, c: c}
	for _, o := range opts {
		o(a)
	}
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

	// Servers and their sub-resources (servers.go, server_actions.go,
	// ips.go, metadata.go, instance_actions.go, consoles.go).
	hs := func(pattern string, fn apihttp.HandlerFunc) { h(pattern, computeRequestID(fn)) }
	hs("GET "+v21+"/servers", a.listServers)
	hs("GET "+v21+"/servers/detail", a.listServersDetail)
	hs("POST "+v21+"/servers", a.createServer)
	hs("GET "+v21+"/servers/{id}", a.getServer)
	hs("PUT "+v21+"/servers/{id}", a.updateServer)
	hs("DELETE "+v21+"/servers/{id}", a.deleteServer)
	hs("POST "+v21+"/servers/{id}/action", a.serverAction)
	hs("GET "+v21+"/servers/{id}/ips", a.listIPs)
	hs("GET "+v21+"/servers/{id}/ips/{network}", a.listIPsByNetwork)
	hs("GET "+v21+"/servers/{id}/metadata", a.listServerMetadata)
	hs("POST "+v21+"/servers/{id}/metadata", a.setServerMetadata(false))
	hs("PUT "+v21+"/servers/{id}/metadata", a.setServerMetadata(true))
	hs("GET "+v21+"/servers/{id}/metadata/{key}", a.getServerMetadataItem)
	hs("PUT "+v21+"/servers/{id}/metadata/{key}", a.setServerMetadataItem)
	hs("DELETE "+v21+"/servers/{id}/metadata/{key}", a.deleteServerMetadataItem)
	hs("GET "+v21+"/servers/{id}/tags", a.listServerTags)
	hs("PUT "+v21+"/servers/{id}/tags", a.replaceServerTags)
	hs("DELETE "+v21+"/servers/{id}/tags", a.deleteServerTags)
	hs("GET "+v21+"/servers/{id}/tags/{tag}", a.checkServerTag)
	hs("PUT "+v21+"/servers/{id}/tags/{tag}", a.addServerTag)
	hs("DELETE "+v21+"/servers/{id}/tags/{tag}", a.deleteServerTag)
	hs("GET "+v21+"/servers/{id}/os-instance-actions", a.listInstanceActions)
	hs("GET "+v21+"/servers/{id}/os-instance-actions/{rid}", a.getInstanceAction)
	hs("GET "+v21+"/servers/{id}/os-interface", a.listInterfaces)
	hs("POST "+v21+"/servers/{id}/os-interface", a.attachInterface)
	hs("GET "+v21+"/servers/{id}/os-interface/{port}", a.getInterface)
	hs("DELETE "+v21+"/servers/{id}/os-interface/{port}", a.detachInterface)
	hs("POST "+v21+"/servers/{id}/remote-consoles", a.createRemoteConsole)
	hs("GET "+v21+"/servers/{id}/os-server-password", a.getServerPassword)
	hs("DELETE "+v21+"/servers/{id}/os-server-password", a.deleteServerPassword)
	hs("GET "+v21+"/servers/{id}/diagnostics", a.getDiagnostics)
	h("POST "+v21+"/os-server-external-events", a.createExternalEvents)
	h("GET "+v21+"/os-agents", a.listAgents)
	h("POST "+v21+"/os-agents", a.createAgent)
	h("PUT "+v21+"/os-agents/{id}", a.updateAgent)
	h("DELETE "+v21+"/os-agents/{id}", a.deleteAgent)
	h("GET "+v21+"/os-instance_usage_audit_log", a.listUsageAuditLogs)
	h("GET "+v21+"/os-instance_usage_audit_log/{before}", a.getUsageAuditLog)
	a.registerVolumeAttachments(hs)
	a.registerVolumeProxies(h)
	h("GET "+v21+"/os-migrations", a.listMigrations)
	h("GET "+v21+"/images", a.listImagesProxy(false))
	h("GET "+v21+"/images/detail", a.listImagesProxy(true))
	h("GET "+v21+"/images/{id}", a.getImage)
	h("DELETE "+v21+"/images/{id}", a.deleteImage)
	a.registerLegacy(h, hs) // proxy.go
}
