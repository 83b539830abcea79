package contract

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/trusts"
)

func TestTrust_DelegatesOnlyItsRolesAndDiesWithIt(t *testing.T) {
	for _, impersonate := range []bool{true, false} {
		name := map[bool]string{true: "impersonation", false: "no impersonation"}[impersonate]
		t.Run(name, func(t *testing.T) {
			c, admin := newCloud(t)
			trustor := newTenant(t, admin, "trustor", "member")
			trustee := newTenant(t, admin, "trustee", "member")
			tr, err := trusts.Create(context.Background(), trustor.client(t, c), trusts.CreateOpts{
				TrustorUserID: trustor.User.ID, TrusteeUserID: trustee.User.ID, ProjectID: trustor.Project.ID,
				Impersonation: impersonate, Roles: []trusts.Role{{Name: "reader"}},
			}).Extract()
			ok(t, err)

			// The trustee gets a token scoped to the trustor's project with the delegated role only.
			res := issue(t, c, tokens.AuthOptions{Username: trustee.User.Name, Password: trustee.Password, DomainID: "default", Scope: tokens.Scope{TrustID: tr.ID}})
			id := must(res.ExtractTokenID())(t)
			proj := must(res.ExtractProject())(t)
			if proj == nil || proj.ID != trustor.Project.ID {
				t.Fatalf("trust token project = %+v, want %s", proj, trustor.Project.ID)
			}
			if got := roleNames(must(res.ExtractRoles())(t)); len(got) != 1 || got[0] != "reader" {
				t.Fatalf("trust token roles = %v, want [reader]", got)
			}
			wantUser := trustee.User.ID
			if impersonate {
				wantUser = trustor.User.ID
			}
			if u := must(res.ExtractUser())(t); u.ID != wantUser {
				t.Fatalf("trust token user = %s, want %s", u.ID, wantUser)
			}
			ok(t, tokens.Get(context.Background(), admin, id).Err)

			// A third user cannot use the trust.
			other := newTenant(t, admin, "other", "member")
			wantStatus(t, issue(t, c, tokens.AuthOptions{Username: other.User.Name, Password: other.Password, DomainID: "default", Scope: tokens.Scope{TrustID: tr.ID}}).Err, http.StatusForbidden)

			// Deleting the trust revokes its tokens.
			ok(t, trusts.Delete(context.Background(), trustor.client(t, c), tr.ID).Err)
			wantStatus(t, tokens.Get(context.Background(), admin, id).Err, http.StatusNotFound)
		})
	}
}

func TestTrust_OnlyTheTrustorCreatesItForRolesItHolds(t *testing.T) {
	c, admin := newCloud(t)
	trustor := newTenant(t, admin, "trustor", "member")
	trustee := newTenant(t, admin, "trustee", "member")
	// A role the trustor does not hold on the project.
	_, err := trusts.Create(context.Background(), trustor.client(t, c), trusts.CreateOpts{
		TrustorUserID: trustor.User.ID, TrusteeUserID: trustee.User.ID, ProjectID: trustor.Project.ID,
		Roles: []trusts.Role{{Name: "admin"}},
	}).Extract()
	wantStatus(t, err, http.StatusForbidden)
	// Someone else cannot create a trust in the trustor's name.
	_, err = trusts.Create(context.Background(), trustee.client(t, c), trusts.CreateOpts{
		TrustorUserID: trustor.User.ID, TrusteeUserID: trustee.User.ID, ProjectID: trustor.Project.ID,
		Roles: []trusts.Role{{Name: "reader"}},
	}).Extract()
	wantStatus(t, err, http.StatusForbidden)
}
