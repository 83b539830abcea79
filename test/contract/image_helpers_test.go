package contract

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"

	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

// imageClient returns an Image v2 client for opts, found in the catalog.
func imageClient(t *testing.T, c *cloudtest.Cloud, opts gophercloud.AuthOptions) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewImageV2(c.Provider(t, opts), gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatalf("image client: %v", err)
	}
	return sc
}

// imageProject creates a project and a user holding role on it, and
// returns the project ID and the user's auth options.
func imageProject(t *testing.T, c *cloudtest.Cloud, name, role string) (string, gophercloud.AuthOptions) {
	t.Helper()
	ctx := context.Background()
	id := c.Admin(t)
	p, err := projects.Create(ctx, id, projects.CreateOpts{Name: name}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	pw := name + "-password"
	u, err := users.Create(ctx, id, users.CreateOpts{Name: name + "-user", Password: pw, DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := roles.List(id, roles.ListOpts{Name: role}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := roles.ExtractRoles(pages)
	if err != nil || len(rs) != 1 {
		t.Fatalf("role %s: %v %v", role, rs, err)
	}
	if err := roles.Assign(ctx, id, rs[0].ID, roles.AssignOpts{UserID: u.ID, ProjectID: p.ID}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	return p.ID, gophercloud.AuthOptions{IdentityEndpoint: c.AuthURL(), Username: u.Name, Password: pw,
		DomainName: "Default", TenantID: p.ID}
}

// imageStatus returns the HTTP status of a gophercloud error (0 if none).
func imageStatus(err error) int {
	if err == nil {
		return 0
	}
	for _, code := range []int{http.StatusBadRequest, 401, 403, 404, 409, 413, 415, 500} {
		if gophercloud.ResponseCodeIs(err, code) {
			return code
		}
	}
	return -1
}

func wantImageStatus(t *testing.T, err error, want int) {
	t.Helper()
	if got := imageStatus(err); got != want {
		t.Fatalf("status = %d (%v), want %d", got, err, want)
	}
}
