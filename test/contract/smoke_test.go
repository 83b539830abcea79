package contract

import (
	"context"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"

	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

func TestAdminListsBootstrapProjects(t *testing.T) {
	c := cloudtest.New(t)
	client := c.Admin(t)
	pages, err := projects.List(client, nil).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ps, err := projects.ExtractProjects(pages)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range ps {
		names[p.Name] = true
	}
	if !names["admin"] || !names["service"] {
		t.Fatalf("projects = %v, want admin and service", names)
	}
}
