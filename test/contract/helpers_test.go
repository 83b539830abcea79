package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"

	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

// requestIDPattern is the shape of X-Openstack-Request-Id.
var requestIDPattern = regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// newCloud starts a private cloud for a parallel test and returns its admin client.
func newCloud(t *testing.T) (*cloudtest.Cloud, *gophercloud.ServiceClient) {
	t.Helper()
	t.Parallel()
	c := cloudtest.New(t)
	return c, c.Admin(t)
}

// must returns v through a check that fails the test on err:
// must(f())(t).
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// ok fails the test on err.
func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// statusOf returns the HTTP status of a gophercloud error (0 if none).
func statusOf(err error) int {
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return ue.Actual
	}
	var uep *gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &uep) {
		return uep.Actual
	}
	return 0
}

// wantStatus fails unless err is a gophercloud error with HTTP status want.
func wantStatus(t *testing.T, err error, want int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want HTTP %d", want)
	}
	if got := statusOf(err); got != want {
		t.Fatalf("got %v (status %d), want HTTP %d", err, got, want)
	}
}

// anon returns an Identity v3 client with no token, for POST /auth/tokens.
func anon(t *testing.T, c *cloudtest.Cloud) *gophercloud.ServiceClient {
	t.Helper()
	pc, err := openstack.NewClient(c.AuthURL())
	ok(t, err)
	sc, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	ok(t, err)
	return sc
}

// withToken returns an Identity v3 client that sends token.
func withToken(t *testing.T, c *cloudtest.Cloud, token string) *gophercloud.ServiceClient {
	t.Helper()
	sc := anon(t, c)
	sc.ProviderClient.SetToken(token)
	return sc
}

// issue authenticates through POST /auth/tokens.
func issue(t *testing.T, c *cloudtest.Cloud, opts tokens.AuthOptions) tokens.CreateResult {
	t.Helper()
	opts.IdentityEndpoint = c.AuthURL()
	return tokens.Create(context.Background(), anon(t, c), &opts)
}

// issueID authenticates and returns the token ID; it fails on error.
func issueID(t *testing.T, c *cloudtest.Cloud, opts tokens.AuthOptions) string {
	t.Helper()
	r := issue(t, c, opts)
	return must(r.ExtractTokenID())(t)
}

// pwAuth is password authentication of a Default-domain user.
func pwAuth(name, password string, scope tokens.Scope) tokens.AuthOptions {
	return tokens.AuthOptions{Username: name, Password: password, DomainID: "default", Scope: scope}
}

// roleID returns the ID of the global role called name.
func roleID(t *testing.T, admin *gophercloud.ServiceClient, name string) string {
	t.Helper()
	pages := must(roles.List(admin, roles.ListOpts{Name: name}).AllPages(context.Background()))(t)
	rs := must(roles.ExtractRoles(pages))(t)
	for _, r := range rs {
		if r.Name == name {
			return r.ID
		}
	}
	t.Fatalf("role %q not found in %v", name, rs)
	return ""
}

// createProject creates a project in the Default domain (or opts.DomainID).
func createProject(t *testing.T, admin *gophercloud.ServiceClient, opts projects.CreateOpts) *projects.Project {
	t.Helper()
	return must(projects.Create(context.Background(), admin, opts).Extract())(t)
}

// createUser creates a Default-domain user with a password.
func createUser(t *testing.T, admin *gophercloud.ServiceClient, name, password string) *users.User {
	t.Helper()
	return must(users.Create(context.Background(), admin, users.CreateOpts{Name: name, Password: password, DomainID: "default"}).Extract())(t)
}

// grant gives a user a role (by name) on a project.
func grant(t *testing.T, admin *gophercloud.ServiceClient, role, userID, projectID string) {
	t.Helper()
	ok(t, roles.Assign(context.Background(), admin, roleID(t, admin, role), roles.AssignOpts{UserID: userID, ProjectID: projectID}).ExtractErr())
}

// tenant is a user holding one role on a fresh project.
type tenant struct {
	User     *users.User
	Password string
	Project  *projects.Project
}

// newTenant creates a project and a user with role on it.
func newTenant(t *testing.T, admin *gophercloud.ServiceClient, name, role string) tenant {
	t.Helper()
	p := createProject(t, admin, projects.CreateOpts{Name: name + "-project"})
	pw := name + "-secret-pw"
	u := createUser(t, admin, name, pw)
	grant(t, admin, role, u.ID, p.ID)
	return tenant{User: u, Password: pw, Project: p}
}

// token issues a project-scoped token for the tenant.
func (tn tenant) token(t *testing.T, c *cloudtest.Cloud) string {
	t.Helper()
	return issueID(t, c, pwAuth(tn.User.Name, tn.Password, tokens.Scope{ProjectID: tn.Project.ID}))
}

// client returns an Identity client authenticated as the tenant on its project.
func (tn tenant) client(t *testing.T, c *cloudtest.Cloud) *gophercloud.ServiceClient {
	t.Helper()
	return withToken(t, c, tn.token(t, c))
}

// roleNames returns the sorted names of roles.
func roleNames(rs []tokens.Role) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

// rawResponse is a raw HTTP exchange's result.
type rawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// raw sends a request with net/http, for what gophercloud cannot send.
func raw(t *testing.T, method, url, token string, body []byte, header map[string]string) rawResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// keystoneError is Keystone's error body.
type keystoneError struct {
	Error *struct {
		Code    int    `json:"code"`
		Title   string `json:"title"`
		Message string `json:"message"`
	} `json:"error"`
}

// checkFault asserts a Keystone error body whose code matches status.
func checkFault(t *testing.T, status int, body []byte) {
	t.Helper()
	var e keystoneError
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil {
		t.Fatalf("body is not a Keystone error: %s (%v)", body, err)
	}
	if e.Error.Code != status || e.Error.Title != http.StatusText(status) || e.Error.Message == "" {
		t.Fatalf("error body = %+v, want code %d title %q and a message", *e.Error, status, http.StatusText(status))
	}
}

// adminToken returns the admin client's token.
func adminToken(admin *gophercloud.ServiceClient) string { return admin.ProviderClient.Token() }

// adminAuth is the admin's password authentication on the admin project.
func adminAuth() tokens.AuthOptions {
	return pwAuth("admin", cloudtest.AdminPassword, tokens.Scope{ProjectName: "admin", DomainID: "default"})
}
