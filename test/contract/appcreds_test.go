package contract

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

func TestAppCred_CreateAuthenticateDelete(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "eve", "admin")
	self := tn.client(t, c)

	ac := must(applicationcredentials.Create(ctx, self, tn.User.ID, applicationcredentials.CreateOpts{
		Name: "ci", Description: "for CI", Roles: []applicationcredentials.Role{{Name: "reader"}},
	}).Extract())(t)
	if ac.ID == "" || ac.Secret == "" || ac.ProjectID != tn.Project.ID || ac.Unrestricted {
		t.Fatalf("created app cred = %+v", ac)
	}
	if len(ac.Roles) != 1 || ac.Roles[0].Name != "reader" {
		t.Fatalf("app cred roles = %+v, want reader", ac.Roles)
	}
	// The secret is shown once.
	gr := applicationcredentials.Get(ctx, self, tn.User.ID, ac.ID)
	got := must(gr.Extract())(t)
	if got.Secret != "" || got.Name != "ci" {
		t.Fatalf("GET shows %+v, want no secret", got)
	}
	rawGet, _ := gr.Body.(map[string]any)["application_credential"].(map[string]any)
	if _, has := rawGet["secret"]; has || rawGet == nil {
		t.Fatal("GET body has a secret key")
	}
	list := must(applicationcredentials.ExtractApplicationCredentials(must(applicationcredentials.List(self, tn.User.ID, nil).AllPages(ctx))(t)))(t)
	if len(list) != 1 || list[0].ID != ac.ID || list[0].Secret != "" {
		t.Fatalf("list = %+v", list)
	}

	// Authenticating with it gives a project token with only its roles.
	r := issue(t, c, tokens.AuthOptions{ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: ac.Secret})
	ok(t, r.Err)
	if p := must(r.ExtractProject())(t); p.ID != tn.Project.ID {
		t.Fatalf("app cred token project = %+v", p)
	}
	if got := roleNames(must(r.ExtractRoles())(t)); !slices.Equal(got, []string{"reader"}) {
		t.Fatalf("app cred token roles = %v, want [reader]", got)
	}
	var b struct {
		Methods []string `json:"methods"`
		AppCred *struct {
			ID         string `json:"id"`
			Restricted bool   `json:"restricted"`
		} `json:"application_credential"`
	}
	ok(t, r.ExtractInto(&b))
	if !slices.Equal(b.Methods, []string{"application_credential"}) || b.AppCred == nil || b.AppCred.ID != ac.ID || !b.AppCred.Restricted {
		t.Fatalf("token body = %+v", b)
	}
	acTok := must(r.ExtractTokenID())(t)

	// A wrong secret is 401.
	wantStatus(t, issue(t, c, tokens.AuthOptions{ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: "wrong"}).Err, http.StatusUnauthorized)
	// By name with the user.
	ok(t, issue(t, c, tokens.AuthOptions{ApplicationCredentialName: "ci", UserID: tn.User.ID, ApplicationCredentialSecret: ac.Secret}).Err)

	// Delete: the credential stops authenticating and its tokens stop validating.
	ok(t, applicationcredentials.Delete(ctx, self, tn.User.ID, ac.ID).ExtractErr())
	wantStatus(t, issue(t, c, tokens.AuthOptions{ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: ac.Secret}).Err, http.StatusUnauthorized)
	wantStatus(t, tokens.Get(ctx, admin, acTok).Err, http.StatusNotFound)
	_, err := applicationcredentials.Get(ctx, self, tn.User.ID, ac.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func TestAppCred_UserSuppliedSecretAndExpiry(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "fay", "member")
	self := tn.client(t, c)
	exp := time.Now().UTC().Add(30 * time.Minute).Truncate(time.Second)
	gr := applicationcredentials.Create(ctx, self, tn.User.ID, applicationcredentials.CreateOpts{Name: "mine", Secret: "my-own-secret", ExpiresAt: &exp})
	ac := must(gr.Extract())(t)
	if ac.Secret != "my-own-secret" {
		t.Fatalf("secret = %q, want the one supplied", ac.Secret)
	}
	if !ac.ExpiresAt.Equal(exp) {
		t.Fatalf("expires_at = %v, want %v", ac.ExpiresAt, exp)
	}
	// No roles asked means all the creator's roles on the project.
	if len(ac.Roles) != 2 {
		t.Fatalf("roles = %+v, want member and reader", ac.Roles)
	}
	r := issue(t, c, tokens.AuthOptions{ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: "my-own-secret"})
	tok := must(r.ExtractToken())(t)
	if tok.ExpiresAt.After(exp) {
		t.Fatalf("token expires at %v, after the app cred's %v", tok.ExpiresAt, exp)
	}
	// An expiry in the past is rejected.
	past := time.Now().UTC().Add(-time.Hour)
	_, err := applicationcredentials.Create(ctx, self, tn.User.ID, applicationcredentials.CreateOpts{Name: "old", ExpiresAt: &past}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
}

func TestAppCred_DuplicateNameConflicts(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "gus", "member")
	self := tn.client(t, c)
	must(applicationcredentials.Create(ctx, self, tn.User.ID, applicationcredentials.CreateOpts{Name: "dup"}).Extract())(t)
	_, err := applicationcredentials.Create(ctx, self, tn.User.ID, applicationcredentials.CreateOpts{Name: "dup"}).Extract()
	wantStatus(t, err, http.StatusConflict)
	list := must(applicationcredentials.ExtractApplicationCredentials(must(applicationcredentials.List(self, tn.User.ID, nil).AllPages(ctx))(t)))(t)
	if len(list) != 1 {
		t.Fatalf("list after conflict = %+v, want one", list)
	}
}

func TestAppCred_RoleNotHeldIsRejected(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "hal", "member")
	_, err := applicationcredentials.Create(ctx, tn.client(t, c), tn.User.ID, applicationcredentials.CreateOpts{
		Name: "too-much", Roles: []applicationcredentials.Role{{Name: "admin"}},
	}).Extract()
	if s := statusOf(err); s != http.StatusForbidden && s != http.StatusNotFound {
		t.Fatalf("asking for a role not held: %v, want 403 or 404", err)
	}
}

func TestAppCred_RestrictedCannotCreateAnother(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "ida", "member")
	self := tn.client(t, c)
	tests := []struct {
		name         string
		unrestricted bool
		want         int
	}{
		{name: "restricted", unrestricted: false, want: http.StatusForbidden},
		{name: "unrestricted", unrestricted: true, want: http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ac := must(applicationcredentials.Create(ctx, self, tn.User.ID, applicationcredentials.CreateOpts{Name: "parent-" + tt.name, Unrestricted: tt.unrestricted}).Extract())(t)
			acCli := withToken(t, c, issueID(t, c, tokens.AuthOptions{ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: ac.Secret}))
			_, err := applicationcredentials.Create(ctx, acCli, tn.User.ID, applicationcredentials.CreateOpts{Name: "child-" + tt.name}).Extract()
			if tt.want == http.StatusCreated {
				ok(t, err)
				return
			}
			wantStatus(t, err, tt.want)
		})
	}
}

func TestAppCred_CannotRequestAScope(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "jon", "member")
	other := newTenant(t, admin, "jon2", "member")
	ac := must(applicationcredentials.Create(ctx, tn.client(t, c), tn.User.ID, applicationcredentials.CreateOpts{Name: "x"}).Extract())(t)
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"application_credential"}, "application_credential": map[string]any{"id": ac.ID, "secret": ac.Secret}},
		"scope":    map[string]any{"project": map[string]any{"id": other.Project.ID}},
	}}
	b, _ := json.Marshal(body)
	resp := raw(t, http.MethodPost, c.AuthURL()+"/auth/tokens", "", b, nil)
	if resp.Status != http.StatusUnauthorized {
		t.Fatalf("app cred with a scope: %d %s, want 401", resp.Status, resp.Body)
	}
	checkFault(t, resp.Status, resp.Body)
}
