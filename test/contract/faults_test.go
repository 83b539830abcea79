package contract

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

func TestFaults_KeystoneErrorBodyAndStatus(t *testing.T) {
	c, admin := newCloud(t)
	base := c.AuthURL()
	adminTok := adminToken(admin)
	tn := newTenant(t, admin, "quin", "member")
	memberTok := tn.token(t, c)
	createUser(t, admin, "taken", "pw")
	oversized := []byte(`{"user": {"name": "big", "description": "` + strings.Repeat("x", 1<<20) + `"}}`)
	tests := []struct {
		name          string
		method, path  string
		token         string
		body          string
		rawBody       []byte
		want          int
		wantWWWAuthen bool
	}{
		{name: "malformed json", method: "POST", path: "/users", token: adminTok, body: `{"user": {"name": `, want: 400},
		{name: "not an object", method: "POST", path: "/users", token: adminTok, body: `[1, 2]`, want: 400},
		{name: "empty body", method: "POST", path: "/users", token: adminTok, body: ` `, want: 400},
		{name: "missing resource key", method: "POST", path: "/users", token: adminTok, body: `{"usr": {"name": "x"}}`, want: 400},
		{name: "user enabled wrong type", method: "POST", path: "/users", token: adminTok, body: `{"user": {"name": "x", "enabled": "yes"}}`, want: 400},
		{name: "user name wrong type", method: "POST", path: "/users", token: adminTok, body: `{"user": {"name": 42}}`, want: 400},
		{name: "user missing name", method: "POST", path: "/users", token: adminTok, body: `{"user": {"enabled": true}}`, want: 400},
		{name: "user blank name", method: "POST", path: "/users", token: adminTok, body: `{"user": {"name": "   "}}`, want: 400},
		{name: "project enabled wrong type", method: "POST", path: "/projects", token: adminTok, body: `{"project": {"name": "p", "enabled": "yes"}}`, want: 400},
		{name: "project missing name", method: "POST", path: "/projects", token: adminTok, body: `{"project": {}}`, want: 400},
		{name: "project name too long", method: "POST", path: "/projects", token: adminTok, body: `{"project": {"name": "` + strings.Repeat("n", 65) + `"}}`, want: 400},
		{name: "domain enabled wrong type", method: "POST", path: "/domains", token: adminTok, body: `{"domain": {"name": "d", "enabled": 1}}`, want: 400},
		{name: "auth without identity", method: "POST", path: "/auth/tokens", body: `{"auth": {}}`, want: 400},
		{name: "auth methods wrong type", method: "POST", path: "/auth/tokens", body: `{"auth": {"identity": {"methods": "password"}}}`, want: 400},
		{name: "no token", method: "GET", path: "/users", want: 401, wantWWWAuthen: true},
		{name: "bad token", method: "GET", path: "/users", token: "not-a-token", want: 401, wantWWWAuthen: true},
		{name: "bad password", method: "POST", path: "/auth/tokens", body: `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "nope"}}}}}`, want: 401, wantWWWAuthen: true},
		{name: "member creates user", method: "POST", path: "/users", token: memberTok, body: `{"user": {"name": "x"}}`, want: 403},
		{name: "unknown user", method: "GET", path: "/users/0123456789abcdef0123456789abcdef", token: adminTok, want: 404},
		{name: "unknown project", method: "PATCH", path: "/projects/0123456789abcdef0123456789abcdef", token: adminTok, body: `{"project": {"description": "x"}}`, want: 404},
		{name: "unknown route", method: "GET", path: "/no-such-thing", token: adminTok, want: 404},
		{name: "duplicate user", method: "POST", path: "/users", token: adminTok, body: `{"user": {"name": "taken"}}`, want: 409},
		{name: "body over 1 MiB", method: "POST", path: "/users", token: adminTok, rawBody: oversized, want: 413},
		{name: "auth body over 1 MiB", method: "POST", path: "/auth/tokens", rawBody: oversized, want: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.rawBody
			if body == nil && tt.body != "" {
				body = []byte(tt.body)
			}
			resp := raw(t, tt.method, base+tt.path, tt.token, body, nil)
			if resp.Status != tt.want {
				t.Fatalf("%s %s: status %d, want %d; body %.300s", tt.method, tt.path, resp.Status, tt.want, resp.Body)
			}
			checkFault(t, resp.Status, resp.Body)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q", ct)
			}
			if id := resp.Header.Get("X-Openstack-Request-Id"); !requestIDPattern.MatchString(id) {
				t.Fatalf("X-Openstack-Request-Id = %q", id)
			}
			if got := resp.Header.Get("WWW-Authenticate") != ""; got != tt.wantWWWAuthen {
				t.Fatalf("WWW-Authenticate present = %v, want %v", got, tt.wantWWWAuthen)
			}
		})
	}
	// None of the rejected requests created anything.
	if got := userNames(t, admin, users.ListOpts{}); !slices.Equal(got, []string{"admin", "quin", "taken"}) {
		t.Fatalf("users after rejected requests = %v", got)
	}
	if got := projectNames(t, admin, projects.ListOpts{}); !slices.Equal(got, []string{"admin", "quin-project", "service"}) {
		t.Fatalf("projects after rejected requests = %v", got)
	}
}

func TestFaults_RejectedUpdateChangesNothing(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	tok := adminToken(admin)
	u := must(users.Create(ctx, admin, users.CreateOpts{Name: "rex", Description: "orig", Extra: map[string]any{"email": "rex@example.com"}}).Extract())(t)
	createUser(t, admin, "sia", "pw")
	tests := []struct {
		name string
		body string
		want int
	}{
		{name: "rename onto existing", body: `{"user": {"name": "sia", "description": "changed"}}`, want: 409},
		{name: "bad enabled with other changes", body: `{"user": {"description": "changed", "enabled": "no"}}`, want: 400},
		{name: "malformed", body: `{"user": {"description": "changed"`, want: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := raw(t, "PATCH", c.AuthURL()+"/users/"+u.ID, tok, []byte(tt.body), nil)
			if resp.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.Status, tt.want, resp.Body)
			}
			checkFault(t, resp.Status, resp.Body)
			got := must(users.Get(ctx, admin, u.ID).Extract())(t)
			if got.Name != "rex" || got.Description != "orig" || !got.Enabled || got.Extra["email"] != "rex@example.com" {
				t.Fatalf("user after a rejected update = %+v", got)
			}
		})
	}
}

func TestFaults_EveryResponseCarriesRequestID(t *testing.T) {
	c, admin := newCloud(t)
	tok := adminToken(admin)
	u := createUser(t, admin, "tia", "pw")
	tests := []struct {
		name, method, path, token, body string
		header                          map[string]string
		want                            int
	}{
		{name: "version document", method: "GET", path: "/identity/v3", want: 200},
		{name: "versions", method: "GET", path: "/identity", want: 300},
		{name: "issue token", method: "POST", path: "/identity/v3/auth/tokens", body: `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "cloudtest-admin-secret"}}}}}`, want: 201},
		{name: "check token", method: "HEAD", path: "/identity/v3/auth/tokens", token: tok, header: map[string]string{"X-Subject-Token": tok}, want: 200},
		{name: "get user", method: "GET", path: "/identity/v3/users/" + u.ID, token: tok, want: 200},
		{name: "create project", method: "POST", path: "/identity/v3/projects", token: tok, body: `{"project": {"name": "rid"}}`, want: 201},
		{name: "delete user", method: "DELETE", path: "/identity/v3/users/" + u.ID, token: tok, want: 204},
		{name: "not found", method: "GET", path: "/identity/v3/users/" + u.ID, token: tok, want: 404},
		{name: "unauthorized", method: "GET", path: "/identity/v3/users", want: 401},
		{name: "outside identity", method: "GET", path: "/nowhere", want: 404},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			resp := raw(t, tt.method, c.URL+tt.path, tt.token, body, tt.header)
			if tt.want != 300 && resp.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.Status, tt.want, resp.Body)
			}
			id := resp.Header.Get("X-Openstack-Request-Id")
			if !requestIDPattern.MatchString(id) {
				t.Fatalf("X-Openstack-Request-Id = %q, want req-<uuid>", id)
			}
			if seen[id] {
				t.Fatalf("request ID %s reused", id)
			}
			seen[id] = true
		})
	}
}
