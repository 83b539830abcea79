package keystone

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

// registerExtras adds the Identity extensions and side APIs: policies,
// OS-OAUTH1 consumers, OS-EP-FILTER, domain configuration and OS-EC2
// credentials.
func (a *api) registerExtras(mux *http.ServeMux, authed func(apihttp.HandlerFunc) http.Handler) {
	// Policies.
	mux.Handle("POST "+v3+"/policies", authed(a.createPolicy))
	mux.Handle("GET "+v3+"/policies", authed(a.listPolicies))
	mux.Handle("GET "+v3+"/policies/{id}", authed(a.getPolicy))
	mux.Handle("PATCH "+v3+"/policies/{id}", authed(a.updatePolicy))
	mux.Handle("DELETE "+v3+"/policies/{id}", authed(a.deletePolicy))

	// OS-OAUTH1 consumers (the OAuth1 token flow is not implemented).
	oauth := v3 + "/OS-OAUTH1/consumers"
	mux.Handle("POST "+oauth, authed(a.createConsumer))
	mux.Handle("GET "+oauth, authed(a.listConsumers))
	mux.Handle("GET "+oauth+"/{id}", authed(a.getConsumer))
	mux.Handle("PATCH "+oauth+"/{id}", authed(a.updateConsumer))
	mux.Handle("DELETE "+oauth+"/{id}", authed(a.deleteConsumer))

	// OS-EP-FILTER (GET routes answer HEAD too).
	ep := v3 + "/OS-EP-FILTER"
	mux.Handle("POST "+ep+"/endpoint_groups", authed(a.createEndpointGroup))
	mux.Handle("GET "+ep+"/endpoint_groups", authed(a.listEndpointGroups))
	mux.Handle("GET "+ep+"/endpoint_groups/{id}", authed(a.getEndpointGroup))
	mux.Handle("PATCH "+ep+"/endpoint_groups/{id}", authed(a.updateEndpointGroup))
	mux.Handle("DELETE "+ep+"/endpoint_groups/{id}", authed(a.deleteEndpointGroup))
	mux.Handle("GET "+ep+"/endpoint_groups/{id}/endpoints", authed(a.listEndpointGroupEndpoints))
	mux.Handle("GET "+ep+"/endpoint_groups/{id}/projects", authed(a.listEndpointGroupProjects))
	mux.Handle("GET "+ep+"/endpoint_groups/{id}/projects/{project}", authed(a.getEndpointGroupProject))
	mux.Handle("PUT "+ep+"/endpoint_groups/{id}/projects/{project}", authed(a.addEndpointGroupProject))
	mux.Handle("DELETE "+ep+"/endpoint_groups/{id}/projects/{project}", authed(a.removeEndpointGroupProject))
	mux.Handle("GET "+ep+"/projects/{project}/endpoint_groups", authed(a.listProjectEndpointGroups))
	mux.Handle("GET "+ep+"/projects/{project}/endpoints", authed(a.listProjectEndpoints))
	mux.Handle("GET "+ep+"/projects/{project}/endpoints/{endpoint}", authed(a.checkProjectEndpoint))
	mux.Handle("PUT "+ep+"/projects/{project}/endpoints/{endpoint}", authed(a.addProjectEndpoint))
	mux.Handle("DELETE "+ep+"/projects/{project}/endpoints/{endpoint}", authed(a.removeProjectEndpoint))
	mux.Handle("GET "+ep+"/endpoints/{endpoint}/projects", authed(a.listEndpointProjects))

	// Domain configuration. The default-configuration paths
	// (/domains/config/{group}/default, /domains/config/{group}/{option}/default)
	// overlap the per-domain ones (/domains/{id}/config/{group}[/{option}])
	// without either being more specific, which ServeMux rejects, so GET on
	// those lengths goes through one dispatcher each.
	mux.Handle("PUT "+v3+"/domains/{id}/config", authed(a.createDomainConfig))
	mux.Handle("GET "+v3+"/domains/{id}/config", authed(a.getDomainConfig))
	mux.Handle("PATCH "+v3+"/domains/{id}/config", authed(a.updateDomainConfig))
	mux.Handle("DELETE "+v3+"/domains/{id}/config", authed(a.deleteDomainConfig))
	mux.Handle("GET "+v3+"/domains/config/default", authed(a.getDefaultDomainConfig))
	mux.Handle("GET "+v3+"/domains/{a}/{b}/{c}", authed(a.getDomainConfigPath))
	mux.Handle("GET "+v3+"/domains/{a}/{b}/{c}/{d}", authed(a.getDomainConfigPath))
	mux.Handle("PATCH "+v3+"/domains/{id}/config/{group}", authed(a.updateDomainConfig))
	mux.Handle("DELETE "+v3+"/domains/{id}/config/{group}", authed(a.deleteDomainConfig))
	mux.Handle("PATCH "+v3+"/domains/{id}/config/{group}/{option}", authed(a.updateDomainConfig))
	mux.Handle("DELETE "+v3+"/domains/{id}/config/{group}/{option}", authed(a.deleteDomainConfig))

	// OS-EC2 credentials.
	ec2 := v3 + "/users/{id}/credentials/OS-EC2"
	mux.Handle("POST "+ec2, authed(a.createEC2Credential))
	mux.Handle("GET "+ec2, authed(a.listEC2Credentials))
	mux.Handle("GET "+ec2+"/{access}", authed(a.getEC2Credential))
	mux.Handle("DELETE "+ec2+"/{access}", authed(a.deleteEC2Credential))
}
