package contract

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"

	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

// tokenBody is the part of a token body gophercloud does not extract.
type tokenBody struct {
	Methods   []string  `json:"methods"`
	AuditIDs  []string  `json:"audit_ids"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Project   *struct {
		ID     string `json:"id"`
		Domain struct {
			ID string `json:"id"`
		} `json:"domain"`
	} `json:"project"`
	Domain *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"domain"`
	System *struct {
		All bool `json:"all"`
	} `json:"system"`
	Roles   []tokens.Role `json:"roles"`
	Catalog []any         `json:"catalog"`
}

func TestIssueToken_Scopes(t *testing.T) {
	c, admin := newCloud(t)
	adminProject := must(projects.List(admin, projects.ListOpts{Name: "admin"}).AllPages(context.Background()))(t)
	ps := must(projects.ExtractProjects(adminProject))(t)
	if len(ps) != 1 {
		t.Fatalf("admin projects = %v", ps)
	}
	free := createUser(t, admin, "no-default-project", "pw-free-1")
	tests := []struct {
		name        string
		opts        tokens.AuthOptions
		wantProject string
		wantDomain  string
		wantSystem  bool
		wantRoles   bool
	}{
		{name: "project by id", opts: pwAuth("admin", cloudtest.AdminPassword, tokens.Scope{ProjectID: ps[0].ID}), wantProject: ps[0].ID, wantRoles: true},
		{name: "project by name", opts: pwAuth("admin", cloudtest.AdminPassword, tokens.Scope{ProjectName: "admin", DomainName: "Default"}), wantProject: ps[0].ID, wantRoles: true},
		{name: "domain", opts: pwAuth("admin", cloudtest.AdminPassword, tokens.Scope{DomainID: "default"}), wantDomain: "default", wantRoles: true},
		{name: "system", opts: pwAuth("admin", cloudtest.AdminPassword, tokens.Scope{System: true}), wantSystem: true, wantRoles: true},
		{name: "no scope uses the default project", opts: pwAuth("admin", cloudtest.AdminPassword, tokens.Scope{}), wantProject: ps[0].ID, wantRoles: true},
		{name: "unscoped user without default project", opts: pwAuth(free.Name, "pw-free-1", tokens.Scope{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := issue(t, c, tt.opts)
			ok(t, r.Err)
			if r.Header.Get("X-Subject-Token") == "" {
				t.Fatal("no X-Subject-Token")
			}
			var b tokenBody
			ok(t, r.ExtractInto(&b))
			if got := ""; b.Project != nil {
				got = b.Project.ID
				if got != tt.wantProject {
					t.Fatalf("project = %q, want %q", got, tt.wantProject)
				}
			} else if tt.wantProject != "" {
				t.Fatalf("no project, want %q", tt.wantProject)
			}
			if (b.Domain != nil) != (tt.wantDomain != "") || (b.Domain != nil && b.Domain.ID != tt.wantDomain) {
				t.Fatalf("domain = %+v, want %q", b.Domain, tt.wantDomain)
			}
			if (b.System != nil && b.System.All) != tt.wantSystem {
				t.Fatalf("system = %+v, want %v", b.System, tt.wantSystem)
			}
			if (len(b.Roles) > 0) != tt.wantRoles {
				t.Fatalf("roles = %v, want present=%v", b.Roles, tt.wantRoles)
			}
			if !tt.wantRoles && b.Catalog != nil {
				t.Fatalf("unscoped token carries a catalog: %v", b.Catalog)
			}
			if !slices.Equal(b.Methods, []string{"password"}) {
				t.Fatalf("methods = %v", b.Methods)
			}
		})
	}
}

func TestIssueToken_CatalogHasIdentityEndpoints(t *testing.T) {
	c, _ := newCloud(t)
	r := issue(t, c, pwAuth("admin", cloudtest.AdminPassword, tokens.Scope{ProjectName: "admin", DomainID: "default"}))
	cat := must(r.ExtractServiceCatalog())(t)
	var found bool
	for _, e := range cat.Entries {
		if e.Type != "identity" {
			continue
		}
		found = true
		var ifaces []string
		for _, ep := range e.Endpoints {
			ifaces = append(ifaces, ep.Interface)
			if !strings.HasPrefix(ep.URL, c.URL) || ep.RegionID == "" {
				t.Errorf("endpoint %+v: want URL under %s and a region", ep, c.URL)
			}
		}
		slices.Sort(ifaces)
		if !slices.Equal(ifaces, []string{"admin", "internal", "public"}) {
			t.Fatalf("identity interfaces = %v", ifaces)
		}
	}
	if !found {
		t.Fatalf("no identity service in catalog %+v", cat.Entries)
	}
}

func TestIssueToken_NoCatalogOmitsCatalog(t *testing.T) {
	c, _ := newCloud(t)
	sc := anon(t, c)
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": "admin", "domain": map[string]any{"id": "default"}, "password": cloudtest.AdminPassword}}},
		"scope": map[string]any{"project": map[string]any{"name": "admin", "domain": map[string]any{"id": "default"}}},
	}}
	var out map[string]map[string]any
	_, err := sc.Post(context.Background(), sc.ServiceURL("auth", "tokens")+"?nocatalog", body, &out, &gophercloud.RequestOpts{OkCodes: []int{201}})
	ok(t, err)
	if _, has := out["token"]["catalog"]; has {
		t.Fatalf("token with ?nocatalog carries a catalog: %v", out["token"]["catalog"])
	}
	if _, has := out["token"]["roles"]; !has {
		t.Fatalf("token has no roles: %v", out["token"])
	}
}

func TestIssueToken_ImpliedRolesExpanded(t *testing.T) {
	c, admin := newCloud(t)
	tests := []struct {
		role string
		want []string
	}{
		{role: "admin", want: []string{"admin", "member", "reader"}},
		{role: "member", want: []string{"member", "reader"}},
		{role: "reader", want: []string{"reader"}},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			tn := newTenant(t, admin, "user-"+tt.role, tt.role)
			r := issue(t, c, pwAuth(tn.User.Name, tn.Password, tokens.Scope{ProjectID: tn.Project.ID}))
			rs := must(r.ExtractRoles())(t)
			if got := roleNames(rs); !slices.Equal(got, tt.want) {
				t.Fatalf("roles = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIssueToken_ExpiryFields(t *testing.T) {
	c, _ := newCloud(t)
	before := time.Now().UTC().Add(-time.Second)
	r := issue(t, c, pwAuth("admin", cloudtest.AdminPassword, tokens.Scope{ProjectName: "admin", DomainID: "default"}))
	tok := must(r.ExtractToken())(t)
	var b tokenBody
	ok(t, r.ExtractInto(&b))
	if b.IssuedAt.Before(before) || b.IssuedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("issued_at = %v, want about now", b.IssuedAt)
	}
	if d := tok.ExpiresAt.Sub(b.IssuedAt); d != time.Hour {
		t.Fatalf("expires_at - issued_at = %v, want the 1h token TTL", d)
	}
	if len(b.AuditIDs) != 1 || len(b.AuditIDs[0]) != 22 {
		t.Fatalf("audit_ids = %v, want one 22-character id", b.AuditIDs)
	}
	// The wire format is Keystone's: microseconds and a Z.
	var rawBody struct {
		Token struct {
			ExpiresAt string `json:"expires_at"`
		} `json:"token"`
	}
	ok(t, r.ExtractIntoStructPtr(&rawBody, ""))
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z", rawBody.Token.ExpiresAt); err != nil {
		t.Fatalf("expires_at %q is not in Keystone's format: %v", rawBody.Token.ExpiresAt, err)
	}
}

func TestIssueToken_BadCredentialsAreUnauthorized(t *testing.T) {
	c, _ := newCloud(t)
	tests := []struct {
		name string
		opts tokens.AuthOptions
	}{
		{name: "wrong password", opts: pwAuth("admin", "not-the-password", tokens.Scope{})},
		{name: "unknown user", opts: pwAuth("nobody", "whatever", tokens.Scope{})},
		{name: "unknown user id", opts: tokens.AuthOptions{UserID: "0123456789abcdef0123456789abcdef", Password: "x"}},
		{name: "project without a role", opts: pwAuth("admin", cloudtest.AdminPassword, tokens.Scope{ProjectID: "0123456789abcdef0123456789abcdef"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus(t, issue(t, c, tt.opts).Err, http.StatusUnauthorized)
		})
	}
}

func TestValidateToken_GetHeadRevoke(t *testing.T) {
	c, admin := newCloud(t)
	tn := newTenant(t, admin, "alice", "member")
	tok := tn.token(t, c)

	r := tokens.Get(context.Background(), admin, tok)
	u := must(r.ExtractUser())(t)
	if u.ID != tn.User.ID {
		t.Fatalf("validated user = %q, want %q", u.ID, tn.User.ID)
	}
	if got := r.Header.Get("X-Subject-Token"); got != tok {
		t.Fatalf("X-Subject-Token = %q, want the validated token", got)
	}
	p := must(r.ExtractProject())(t)
	if p.ID != tn.Project.ID {
		t.Fatalf("project = %q, want %q", p.ID, tn.Project.ID)
	}
	if valid := must(tokens.Validate(context.Background(), admin, tok))(t); !valid {
		t.Fatal("HEAD /auth/tokens says a fresh token is invalid")
	}

	ok(t, tokens.Revoke(context.Background(), admin, tok).Err)
	wantStatus(t, tokens.Get(context.Background(), admin, tok).Err, http.StatusNotFound)
	if valid := must(tokens.Validate(context.Background(), admin, tok))(t); valid {
		t.Fatal("HEAD /auth/tokens says a revoked token is valid")
	}
	// The revoked token no longer authenticates requests either.
	_, err := users.Get(context.Background(), withToken(t, c, tok), tn.User.ID).Extract()
	wantStatus(t, err, http.StatusUnauthorized)
	// Revoking again is 404.
	wantStatus(t, tokens.Revoke(context.Background(), admin, tok).Err, http.StatusNotFound)
}

func TestValidateToken_UnknownTokenIsNotFound(t *testing.T) {
	_, admin := newCloud(t)
	wantStatus(t, tokens.Get(context.Background(), admin, "gAAAAA-not-a-token").Err, http.StatusNotFound)
}

func TestIssueToken_TokenMethodRescopes(t *testing.T) {
	c, admin := newCloud(t)
	tn := newTenant(t, admin, "bob", "member")
	other := createProject(t, admin, projects.CreateOpts{Name: "bob-other"})
	grant(t, admin, "reader", tn.User.ID, other.ID)

	unscoped := issue(t, c, pwAuth(tn.User.Name, tn.Password, tokens.Scope{}))
	ok(t, unscoped.Err)
	parent := must(unscoped.ExtractToken())(t)
	parentID := must(unscoped.ExtractTokenID())(t)

	r := issue(t, c, tokens.AuthOptions{TokenID: parentID, Scope: tokens.Scope{ProjectID: other.ID}})
	ok(t, r.Err)
	var b tokenBody
	ok(t, r.ExtractInto(&b))
	if b.Project == nil || b.Project.ID != other.ID {
		t.Fatalf("rescoped project = %+v, want %s", b.Project, other.ID)
	}
	if got := roleNames(b.Roles); !slices.Equal(got, []string{"reader"}) {
		t.Fatalf("rescoped roles = %v, want [reader]", got)
	}
	if !b.ExpiresAt.Equal(parent.ExpiresAt) {
		t.Fatalf("rescoped expires_at = %v, want the parent's %v", b.ExpiresAt, parent.ExpiresAt)
	}
	if !slices.Contains(b.Methods, "token") || !slices.Contains(b.Methods, "password") {
		t.Fatalf("methods = %v, want token and password", b.Methods)
	}
	if len(b.AuditIDs) != 2 {
		t.Fatalf("audit_ids = %v, want the new and the parent's", b.AuditIDs)
	}
	// Rescoping to a project the user has no role on fails.
	noRole := createProject(t, admin, projects.CreateOpts{Name: "bob-none"})
	wantStatus(t, issue(t, c, tokens.AuthOptions{TokenID: parentID, Scope: tokens.Scope{ProjectID: noRole.ID}}).Err, http.StatusUnauthorized)
	// A revoked token cannot be rescoped: Keystone answers 404 (Could not find
	// token), which Tempest's test_user_update_own_password checks.
	ok(t, tokens.Revoke(context.Background(), admin, parentID).Err)
	wantStatus(t, issue(t, c, tokens.AuthOptions{TokenID: parentID, Scope: tokens.Scope{ProjectID: other.ID}}).Err, http.StatusNotFound)
}

func TestUserChange_RevokesTokens(t *testing.T) {
	disable := false
	tests := []struct {
		name   string
		change func(t *testing.T, admin *gophercloud.ServiceClient, tn tenant)
	}{
		{name: "user disabled", change: func(t *testing.T, admin *gophercloud.ServiceClient, tn tenant) {
			ok(t, users.Update(context.Background(), admin, tn.User.ID, users.UpdateOpts{Enabled: &disable}).Err)
		}},
		{name: "user deleted", change: func(t *testing.T, admin *gophercloud.ServiceClient, tn tenant) {
			ok(t, users.Delete(context.Background(), admin, tn.User.ID).ExtractErr())
		}},
		{name: "password reset by admin", change: func(t *testing.T, admin *gophercloud.ServiceClient, tn tenant) {
			ok(t, users.Update(context.Background(), admin, tn.User.ID, users.UpdateOpts{Password: "reset-by-admin"}).Err)
		}},
		{name: "project disabled", change: func(t *testing.T, admin *gophercloud.ServiceClient, tn tenant) {
			ok(t, projects.Update(context.Background(), admin, tn.Project.ID, projects.UpdateOpts{Enabled: &disable}).Err)
		}},
		{name: "project deleted", change: func(t *testing.T, admin *gophercloud.ServiceClient, tn tenant) {
			ok(t, projects.Delete(context.Background(), admin, tn.Project.ID).ExtractErr())
		}},
		{name: "role revoked", change: func(t *testing.T, admin *gophercloud.ServiceClient, tn tenant) {
			ok(t, roles.Unassign(context.Background(), admin, roleID(t, admin, "member"), roles.UnassignOpts{UserID: tn.User.ID, ProjectID: tn.Project.ID}).ExtractErr())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, admin := newCloud(t)
			tn := newTenant(t, admin, "carol", "member")
			tok := tn.token(t, c)
			ok(t, tokens.Get(context.Background(), admin, tok).Err)
			tt.change(t, admin, tn)
			wantStatus(t, tokens.Get(context.Background(), admin, tok).Err, http.StatusNotFound)
			_, err := projects.Get(context.Background(), withToken(t, c, tok), tn.Project.ID).Extract()
			wantStatus(t, err, http.StatusUnauthorized)
		})
	}
}

func TestDisableUser_TokensStayRevokedAfterReenable(t *testing.T) {
	c, admin := newCloud(t)
	tn := newTenant(t, admin, "dave", "member")
	tok := tn.token(t, c)
	off, on := false, true
	ok(t, users.Update(context.Background(), admin, tn.User.ID, users.UpdateOpts{Enabled: &off}).Err)
	wantStatus(t, issue(t, c, pwAuth(tn.User.Name, tn.Password, tokens.Scope{ProjectID: tn.Project.ID})).Err, http.StatusUnauthorized)
	ok(t, users.Update(context.Background(), admin, tn.User.ID, users.UpdateOpts{Enabled: &on}).Err)
	// The user may log in again...
	tn.token(t, c)
	// ...but a token issued before the disable stays revoked, as Keystone
	// records a revocation event when a user is disabled.
	if err := tokens.Get(context.Background(), admin, tok).Err; statusOf(err) != http.StatusNotFound {
		t.Fatalf("token issued before the disable validates again after re-enable: err = %v, want 404", err)
	}
}

func TestChangePassword_RevokesOldTokensAndOldPassword(t *testing.T) {
	c, admin := newCloud(t)
	tn := newTenant(t, admin, "erin", "member")
	tok := tn.token(t, c)
	self := withToken(t, c, tok)
	ok(t, users.ChangePassword(context.Background(), self, tn.User.ID, users.ChangePasswordOpts{OriginalPassword: tn.Password, Password: "erin-new-pw"}).ExtractErr())

	wantStatus(t, tokens.Get(context.Background(), admin, tok).Err, http.StatusNotFound)
	scope := tokens.Scope{ProjectID: tn.Project.ID}
	newTok := issueID(t, c, pwAuth(tn.User.Name, "erin-new-pw", scope))
	ok(t, tokens.Get(context.Background(), admin, newTok).Err)
	wantStatus(t, issue(t, c, pwAuth(tn.User.Name, tn.Password, scope)).Err, http.StatusUnauthorized)

	// A wrong original password is 401 and changes nothing.
	err := users.ChangePassword(context.Background(), withToken(t, c, newTok), tn.User.ID, users.ChangePasswordOpts{OriginalPassword: "wrong", Password: "erin-third-pw"}).ExtractErr()
	wantStatus(t, err, http.StatusUnauthorized)
	issueID(t, c, pwAuth(tn.User.Name, "erin-new-pw", scope))
	ok(t, tokens.Get(context.Background(), admin, newTok).Err)
}

func TestDisableDomain_RevokesTokensOfItsUsers(t *testing.T) {
	c, admin := newCloud(t)
	d := must(domains.Create(context.Background(), admin, domains.CreateOpts{Name: "acme"}).Extract())(t)
	p := createProject(t, admin, projects.CreateOpts{Name: "acme-p", DomainID: d.ID})
	u := must(users.Create(context.Background(), admin, users.CreateOpts{Name: "frank", DomainID: d.ID, Password: "frank-pw"}).Extract())(t)
	grant(t, admin, "member", u.ID, p.ID)
	opts := tokens.AuthOptions{Username: "frank", Password: "frank-pw", DomainName: "acme", Scope: tokens.Scope{ProjectID: p.ID}}
	tok := issueID(t, c, opts)
	ok(t, tokens.Get(context.Background(), admin, tok).Err)

	off := false
	ok(t, domains.Update(context.Background(), admin, d.ID, domains.UpdateOpts{Enabled: &off}).Err)
	wantStatus(t, tokens.Get(context.Background(), admin, tok).Err, http.StatusNotFound)
	wantStatus(t, issue(t, c, opts).Err, http.StatusUnauthorized)
}

func TestValidateToken_OwnTokenOnlyForNonAdmins(t *testing.T) {
	c, admin := newCloud(t)
	a := newTenant(t, admin, "gina", "member")
	b := newTenant(t, admin, "hank", "member")
	aTok := a.token(t, c)
	aClient := withToken(t, c, aTok)
	ok(t, tokens.Get(context.Background(), aClient, aTok).Err)
	wantStatus(t, tokens.Get(context.Background(), aClient, b.token(t, c)).Err, http.StatusForbidden)
	wantStatus(t, tokens.Revoke(context.Background(), aClient, b.token(t, c)).Err, http.StatusForbidden)
}

func TestValidateToken_ExpiredTokenIsNotFoundUnlessAllowExpired(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "ike", "member")
	tok := tn.token(t, c)
	// Move the server's clock past the tokens' expiry; the admin token is
	// re-issued after the jump so it is fresh.
	later := time.Now().UTC().Add(2 * time.Hour)
	c.Identity.SetClock(func() time.Time { return later })
	freshAdmin := withToken(t, c, issueID(t, c, adminAuth()))
	wantStatus(t, tokens.Get(ctx, freshAdmin, tok).Err, http.StatusNotFound)
	resp := raw(t, http.MethodGet, c.AuthURL()+"/auth/tokens?allow_expired=1", adminToken(freshAdmin), nil, map[string]string{"X-Subject-Token": tok})
	if resp.Status != http.StatusOK {
		t.Fatalf("allow_expired validation: %d %s, want 200", resp.Status, resp.Body)
	}
	// An expired token does not authenticate requests.
	_, err := users.Get(ctx, withToken(t, c, tok), tn.User.ID).Extract()
	wantStatus(t, err, http.StatusUnauthorized)
}
