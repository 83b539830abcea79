package contract

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/catalog"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/regions"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

func TestRegion_CRUD(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	r := must(regions.Create(ctx, admin, regions.CreateOpts{ID: "RegionTwo", Description: "second"}).Extract())(t)
	if r.ID != "RegionTwo" || r.Description != "second" {
		t.Fatalf("created region = %+v", r)
	}
	_, err := regions.Create(ctx, admin, regions.CreateOpts{ID: "RegionTwo"}).Extract()
	wantStatus(t, err, http.StatusConflict)
	sub := must(regions.Create(ctx, admin, regions.CreateOpts{ID: "RegionTwo-a", ParentRegionID: "RegionTwo"}).Extract())(t)
	if sub.ParentRegionID != "RegionTwo" {
		t.Fatalf("sub-region = %+v", sub)
	}
	children := must(regions.ExtractRegions(must(regions.List(admin, regions.ListOpts{ParentRegionID: "RegionTwo"}).AllPages(ctx))(t)))(t)
	if len(children) != 1 || children[0].ID != "RegionTwo-a" {
		t.Fatalf("children = %+v", children)
	}
	desc := "renamed"
	up := must(regions.Update(ctx, admin, "RegionTwo", regions.UpdateOpts{Description: &desc}).Extract())(t)
	if up.Description != "renamed" {
		t.Fatalf("updated = %+v", up)
	}
	ok(t, regions.Delete(ctx, admin, "RegionTwo-a").ExtractErr())
	ok(t, regions.Delete(ctx, admin, "RegionTwo").ExtractErr())
	_, err = regions.Get(ctx, admin, "RegionTwo").Extract()
	wantStatus(t, err, http.StatusNotFound)
	// The bootstrapped region is there.
	must(regions.Get(ctx, admin, "RegionOne").Extract())(t)
}

func TestServiceAndEndpoint_CRUD(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	svc := must(services.Create(ctx, admin, services.CreateOpts{Type: "nubo-test-crud", Name: "nova", Description: "nubo-test-crud"}).Extract())(t)
	if svc.ID == "" || svc.Type != "nubo-test-crud" || svc.Name != "nova" || !svc.Enabled {
		t.Fatalf("created service = %+v", svc)
	}
	got := must(services.Get(ctx, admin, svc.ID).Extract())(t)
	if got.Type != "nubo-test-crud" {
		t.Fatalf("got %+v", got)
	}
	byType := must(services.ExtractServices(must(services.List(admin, services.ListOpts{ServiceType: "nubo-test-crud"}).AllPages(ctx))(t)))(t)
	if len(byType) != 1 || byType[0].ID != svc.ID {
		t.Fatalf("list by type = %+v", byType)
	}
	name := "nova2"
	up := must(services.Update(ctx, admin, svc.ID, services.UpdateOpts{Name: &name}).Extract())(t)
	if up.Name != "nova2" {
		t.Fatalf("updated service = %+v", up)
	}

	ep := must(endpoints.Create(ctx, admin, endpoints.CreateOpts{
		Availability: gophercloud.AvailabilityPublic, URL: "http://compute.example/v2.1", ServiceID: svc.ID, Region: "RegionOne",
	}).Extract())(t)
	if ep.ID == "" || ep.Availability != gophercloud.AvailabilityPublic || ep.URL != "http://compute.example/v2.1" || ep.ServiceID != svc.ID || ep.Region != "RegionOne" {
		t.Fatalf("created endpoint = %+v", ep)
	}
	eps := must(endpoints.ExtractEndpoints(must(endpoints.List(admin, endpoints.ListOpts{ServiceID: svc.ID}).AllPages(ctx))(t)))(t)
	if len(eps) != 1 || eps[0].ID != ep.ID {
		t.Fatalf("endpoints of service = %+v", eps)
	}
	upEp := must(endpoints.Update(ctx, admin, ep.ID, endpoints.UpdateOpts{URL: "http://compute2.example/v2.1"}).Extract())(t)
	if upEp.URL != "http://compute2.example/v2.1" {
		t.Fatalf("updated endpoint = %+v", upEp)
	}
	_, err := endpoints.Create(ctx, admin, endpoints.CreateOpts{Availability: "sideways", URL: "http://x", ServiceID: svc.ID}).Extract()
	wantStatus(t, err, http.StatusBadRequest)

	ok(t, endpoints.Delete(ctx, admin, ep.ID).ExtractErr())
	_, err = endpoints.Get(ctx, admin, ep.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
	ok(t, services.Delete(ctx, admin, svc.ID).ExtractErr())
	_, err = services.Get(ctx, admin, svc.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func TestCatalog_ReflectsNewEndpoint(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	findURL := func(entries []tokens.CatalogEntry, typ, iface string) string {
		for _, e := range entries {
			if e.Type == typ {
				for _, ep := range e.Endpoints {
					if ep.Interface == iface {
						return ep.URL
					}
				}
			}
		}
		return ""
	}
	entries := must(catalog.ExtractServiceCatalog(must(catalog.List(admin).AllPages(ctx))(t)))(t)
	if findURL(entries, "identity", "public") == "" {
		t.Fatalf("catalog %+v lacks the identity service", entries)
	}
	if findURL(entries, "nubo-test-type", "public") != "" {
		t.Fatal("a test service type in the catalog before it was added")
	}
	svc := must(services.Create(ctx, admin, services.CreateOpts{Type: "nubo-test-type", Name: "test-service"}).Extract())(t)
	ep := must(endpoints.Create(ctx, admin, endpoints.CreateOpts{Availability: gophercloud.AvailabilityPublic, URL: "http://service.example", ServiceID: svc.ID, Region: "RegionOne"}).Extract())(t)

	entries = must(catalog.ExtractServiceCatalog(must(catalog.List(admin).AllPages(ctx))(t)))(t)
	if got := findURL(entries, "nubo-test-type", "public"); got != "http://service.example" {
		t.Fatalf("test service public URL in /auth/catalog = %q", got)
	}
	// New tokens carry it too.
	cat := must(issue(t, c, adminAuth()).ExtractServiceCatalog())(t)
	if got := findURL(cat.Entries, "nubo-test-type", "public"); got != "http://service.example" {
		t.Fatalf("test service public URL in token catalog = %q", got)
	}
	// A disabled endpoint leaves the catalog.
	off := false
	must(endpoints.Update(ctx, admin, ep.ID, endpoints.UpdateOpts{Enabled: &off}).Extract())(t)
	entries = must(catalog.ExtractServiceCatalog(must(catalog.List(admin).AllPages(ctx))(t)))(t)
	if got := findURL(entries, "nubo-test-type", "public"); got != "" {
		t.Fatalf("disabled endpoint still in the catalog: %q", got)
	}
}

func TestCatalog_UnscopedTokenIsForbidden(t *testing.T) {
	c, admin := newCloud(t)
	createUser(t, admin, "zoe", "zoe-pw")
	tok := issueID(t, c, pwAuth("zoe", "zoe-pw", tokens.Scope{}))
	_, err := catalog.List(withToken(t, c, tok)).AllPages(context.Background())
	wantStatus(t, err, http.StatusForbidden)
}
