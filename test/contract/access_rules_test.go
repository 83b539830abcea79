package contract

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

func TestAccessRules_LimitWhatAnAppCredentialTokenMayCall(t *testing.T) {
	c, admin := newCloud(t)
	tn := newTenant(t, admin, "erin", "member")
	ctx := context.Background()
	ac, err := applicationcredentials.Create(ctx, tn.client(t, c), tn.User.ID, applicationcredentials.CreateOpts{
		Name: "only-projects",
		AccessRules: []applicationcredentials.AccessRule{
			{Service: "identity", Method: "GET", Path: "/v3/users/*/projects"},
		},
	}).Extract()
	ok(t, err)
	if len(ac.AccessRules) != 1 || ac.AccessRules[0].ID == "" {
		t.Fatalf("access rules in the create response = %+v", ac.AccessRules)
	}
	tok := issueID(t, c, tokens.AuthOptions{ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: ac.Secret})
	client := withToken(t, c, tok)

	// The allowed call works…
	pages, err := users.ListProjects(client, tn.User.ID).AllPages(ctx)
	ok(t, err)
	ps := must(projects.ExtractProjects(pages))(t)
	if len(ps) != 1 || ps[0].ID != tn.Project.ID {
		t.Fatalf("projects = %+v", ps)
	}
	// …anything else is refused as keystonemiddleware refuses it.
	wantStatus(t, users.Get(ctx, client, tn.User.ID).Err, http.StatusUnauthorized)

	// The rule outlives the credential, and can be deleted only once unused.
	rules := must(applicationcredentials.ExtractAccessRules(must(applicationcredentials.ListAccessRules(tn.client(t, c), tn.User.ID).AllPages(ctx))(t)))(t)
	if len(rules) != 1 {
		t.Fatalf("access rules = %+v, want 1", rules)
	}
	wantStatus(t, applicationcredentials.DeleteAccessRule(ctx, tn.client(t, c), tn.User.ID, rules[0].ID).Err, http.StatusForbidden)
	ok(t, applicationcredentials.Delete(ctx, tn.client(t, c), tn.User.ID, ac.ID).Err)
	ok(t, applicationcredentials.DeleteAccessRule(ctx, tn.client(t, c), tn.User.ID, rules[0].ID).Err)
}
