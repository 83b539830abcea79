package keystone

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// prefix is where Identity lives on the shared listener.
const prefix = "/identity"

const v3 = prefix + "/v3"

type api struct {
	apihttp.API
	id *identity.Service
}

// Authorize implements apihttp.Authenticator for every service: it validates
// a token and returns the caller's credentials.
func Authorize(id *identity.Service) apihttp.Authenticator { return authorizer{id} }

type authorizer struct{ id *identity.Service }

func (a authorizer) Authorize(ctx context.Context, token string) (*policy.Credentials, error) {
	info, err := a.id.ValidateToken(ctx, identity.HashToken(token), false)
	if errors.Is(err, identity.ErrTokenInvalid) {
		return nil, fault.New(fault.Unauthorized, "The request you have made requires authentication.")
	}
	if err != nil {
		return nil, err
	}
	return info.Credentials(), nil
}

// Register adds the Identity v3 routes to mux.
func Register(mux *http.ServeMux, id *identity.Service, log *slog.Logger) {
	a := &api{API: apihttp.API{Faults: writeFault, Log: log.With("component", "api.keystone"), ServiceType: "identity", Prefix: prefix}, id: id}
	open := a.H
	authed := func(h apihttp.HandlerFunc) http.Handler { return a.RequireToken(Authorize(id), a.H(h)) }

	mux.Handle("GET "+prefix, open(a.versions))
	mux.Handle("GET "+prefix+"/{$}", open(a.versions))
	mux.Handle("GET "+v3, open(a.version))
	mux.Handle("GET "+v3+"/{$}", open(a.version))

	// Tokens and the auth API.
	mux.Handle("POST "+v3+"/auth/tokens", open(a.issueToken))
	mux.Handle("GET "+v3+"/auth/tokens", authed(a.validateToken))
	mux.Handle("HEAD "+v3+"/auth/tokens", authed(a.checkToken))
	mux.Handle("DELETE "+v3+"/auth/tokens", authed(a.revokeToken))
	mux.Handle("GET "+v3+"/auth/catalog", authed(a.authCatalog))
	mux.Handle("GET "+v3+"/auth/projects", authed(a.authProjects))
	mux.Handle("GET "+v3+"/auth/domains", authed(a.authDomains))
	mux.Handle("GET "+v3+"/auth/system", authed(a.authSystem))

	// Domains and projects.
	mux.Handle("POST "+v3+"/domains", authed(a.createDomain))
	mux.Handle("GET "+v3+"/domains", authed(a.listDomains))
	mux.Handle("GET "+v3+"/domains/{id}", authed(a.getDomain))
	mux.Handle("PATCH "+v3+"/domains/{id}", authed(a.updateDomain))
	mux.Handle("DELETE "+v3+"/domains/{id}", authed(a.deleteDomain))
	mux.Handle("POST "+v3+"/projects", authed(a.createProject))
	mux.Handle("GET "+v3+"/projects", authed(a.listProjects))
	mux.Handle("GET "+v3+"/projects/{id}", authed(a.getProject))
	mux.Handle("PATCH "+v3+"/projects/{id}", authed(a.updateProject))
	mux.Handle("DELETE "+v3+"/projects/{id}", authed(a.deleteProject))
	mux.Handle("GET "+v3+"/projects/{id}/tags", authed(a.listProjectTags))
	mux.Handle("PUT "+v3+"/projects/{id}/tags", authed(a.replaceProjectTags))
	mux.Handle("DELETE "+v3+"/projects/{id}/tags", authed(a.clearProjectTags))
	mux.Handle("GET "+v3+"/projects/{id}/tags/{tag}", authed(a.checkProjectTag))
	mux.Handle("HEAD "+v3+"/projects/{id}/tags/{tag}", authed(a.checkProjectTag))
	mux.Handle("PUT "+v3+"/projects/{id}/tags/{tag}", authed(a.addProjectTag))
	mux.Handle("DELETE "+v3+"/projects/{id}/tags/{tag}", authed(a.deleteProjectTag))

	// Users and groups.
	mux.Handle("POST "+v3+"/users", authed(a.createUser))
	mux.Handle("GET "+v3+"/users", authed(a.listUsers))
	mux.Handle("GET "+v3+"/users/{id}", authed(a.getUser))
	mux.Handle("PATCH "+v3+"/users/{id}", authed(a.updateUser))
	mux.Handle("DELETE "+v3+"/users/{id}", authed(a.deleteUser))
	// As in Keystone, changing one's password needs the original password, not a token.
	mux.Handle("POST "+v3+"/users/{id}/password", open(a.changePassword))
	mux.Handle("GET "+v3+"/users/{id}/projects", authed(a.listUserProjects))
	mux.Handle("GET "+v3+"/users/{id}/groups", authed(a.listUserGroups))
	mux.Handle("POST "+v3+"/groups", authed(a.createGroup))
	mux.Handle("GET "+v3+"/groups", authed(a.listGroups))
	mux.Handle("GET "+v3+"/groups/{id}", authed(a.getGroup))
	mux.Handle("PATCH "+v3+"/groups/{id}", authed(a.updateGroup))
	mux.Handle("DELETE "+v3+"/groups/{id}", authed(a.deleteGroup))
	mux.Handle("GET "+v3+"/groups/{id}/users", authed(a.listGroupUsers))
	mux.Handle("PUT "+v3+"/groups/{id}/users/{user}", authed(a.addGroupUser))
	mux.Handle("HEAD "+v3+"/groups/{id}/users/{user}", authed(a.checkGroupUser))
	mux.Handle("GET "+v3+"/groups/{id}/users/{user}", authed(a.checkGroupUser))
	mux.Handle("DELETE "+v3+"/groups/{id}/users/{user}", authed(a.removeGroupUser))

	// Roles, inference rules and assignments.
	mux.Handle("POST "+v3+"/roles", authed(a.createRole))
	mux.Handle("GET "+v3+"/roles", authed(a.listRoles))
	mux.Handle("GET "+v3+"/roles/{id}", authed(a.getRole))
	mux.Handle("PATCH "+v3+"/roles/{id}", authed(a.updateRole))
	mux.Handle("DELETE "+v3+"/roles/{id}", authed(a.deleteRole))
	mux.Handle("GET "+v3+"/roles/{id}/implies", authed(a.listImpliedRoles))
	mux.Handle("PUT "+v3+"/roles/{id}/implies/{implied}", authed(a.createImpliedRole))
	mux.Handle("GET "+v3+"/roles/{id}/implies/{implied}", authed(a.getImpliedRole))
	mux.Handle("HEAD "+v3+"/roles/{id}/implies/{implied}", authed(a.checkImpliedRole))
	mux.Handle("DELETE "+v3+"/roles/{id}/implies/{implied}", authed(a.deleteImpliedRole))
	mux.Handle("GET "+v3+"/role_inferences", authed(a.listRoleInferences))
	mux.Handle("GET "+v3+"/role_assignments", authed(a.listRoleAssignments))
	for _, t := range []string{"projects", "domains"} {
		for _, actor := range []string{"users", "groups"} {
			base := v3 + "/" + t + "/{target}/" + actor + "/{actor}/roles"
			mux.Handle("GET "+base, authed(a.listGrants))
			mux.Handle("PUT "+base+"/{role}", authed(a.grant))
			mux.Handle("HEAD "+base+"/{role}", authed(a.checkGrant))
			mux.Handle("GET "+base+"/{role}", authed(a.checkGrant))
			mux.Handle("DELETE "+base+"/{role}", authed(a.revoke))
			inh := v3 + "/OS-INHERIT/" + t + "/{target}/" + actor + "/{actor}/roles"
			mux.Handle("PUT "+inh+"/{role}/inherited_to_projects", authed(a.grant))
			mux.Handle("HEAD "+inh+"/{role}/inherited_to_projects", authed(a.checkGrant))
			mux.Handle("GET "+inh+"/{role}/inherited_to_projects", authed(a.checkGrant))
			mux.Handle("DELETE "+inh+"/{role}/inherited_to_projects", authed(a.revoke))
			mux.Handle("GET "+inh+"/inherited_to_projects", authed(a.listGrants))
		}
	}
	for _, actor := range []string{"users", "groups"} {
		base := v3 + "/system/" + actor + "/{actor}/roles"
		mux.Handle("GET "+base, authed(a.listGrants))
		mux.Handle("PUT "+base+"/{role}", authed(a.grant))
		mux.Handle("HEAD "+base+"/{role}", authed(a.checkGrant))
		mux.Handle("GET "+base+"/{role}", authed(a.checkGrant))
		mux.Handle("DELETE "+base+"/{role}", authed(a.revoke))
	}

	// The catalog.
	mux.Handle("POST "+v3+"/regions", authed(a.createRegion))
	mux.Handle("GET "+v3+"/regions", authed(a.listRegions))
	mux.Handle("GET "+v3+"/regions/{id}", authed(a.getRegion))
	mux.Handle("PUT "+v3+"/regions/{id}", authed(a.createRegionWithID))
	mux.Handle("PATCH "+v3+"/regions/{id}", authed(a.updateRegion))
	mux.Handle("DELETE "+v3+"/regions/{id}", authed(a.deleteRegion))
	mux.Handle("POST "+v3+"/services", authed(a.createService))
	mux.Handle("GET "+v3+"/services", authed(a.listServices))
	mux.Handle("GET "+v3+"/services/{id}", authed(a.getService))
	mux.Handle("PATCH "+v3+"/services/{id}", authed(a.updateService))
	mux.Handle("DELETE "+v3+"/services/{id}", authed(a.deleteService))
	mux.Handle("POST "+v3+"/endpoints", authed(a.createEndpoint))
	mux.Handle("GET "+v3+"/endpoints", authed(a.listEndpoints))
	mux.Handle("GET "+v3+"/endpoints/{id}", authed(a.getEndpoint))
	mux.Handle("PATCH "+v3+"/endpoints/{id}", authed(a.updateEndpoint))
	mux.Handle("DELETE "+v3+"/endpoints/{id}", authed(a.deleteEndpoint))

	// Credentials and application credentials.
	mux.Handle("POST "+v3+"/credentials", authed(a.createCredential))
	mux.Handle("GET "+v3+"/credentials", authed(a.listCredentials))
	mux.Handle("GET "+v3+"/credentials/{id}", authed(a.getCredential))
	mux.Handle("PATCH "+v3+"/credentials/{id}", authed(a.updateCredential))
	mux.Handle("DELETE "+v3+"/credentials/{id}", authed(a.deleteCredential))
	mux.Handle("POST "+v3+"/users/{id}/application_credentials", authed(a.createAppCred))
	mux.Handle("GET "+v3+"/users/{id}/application_credentials", authed(a.listAppCreds))
	mux.Handle("GET "+v3+"/users/{id}/application_credentials/{cred}", authed(a.getAppCred))
	mux.Handle("DELETE "+v3+"/users/{id}/application_credentials/{cred}", authed(a.deleteAppCred))

	a.registerExtras(mux, authed)
	a.registerTrusts(mux, authed)
	a.registerAccessRules(mux, authed)
	// Anything else under /identity is Keystone's 404.
	mux.Handle(prefix+"/", open(func(w http.ResponseWriter, r *http.Request) error {
		return fault.New(fault.NotFound, "The resource could not be found.")
	}))
}
