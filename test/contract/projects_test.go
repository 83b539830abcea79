package contract

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
)

func projectNames(t *testing.T, admin *gophercloud.ServiceClient, opts projects.ListOpts) []string {
	t.Helper()
	ps := must(projects.ExtractProjects(must(projects.List(admin, opts).AllPages(context.Background()))(t)))(t)
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func TestProject_CRUD(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	p := createProject(t, admin, projects.CreateOpts{Name: "web", Description: "web tier", Extra: map[string]any{"cost_center": "42"}})
	if p.ID == "" || p.Name != "web" || p.Description != "web tier" || !p.Enabled || p.DomainID != "default" || p.ParentID != "default" || p.IsDomain {
		t.Fatalf("created project = %+v", p)
	}
	got := must(projects.Get(ctx, admin, p.ID).Extract())(t)
	if got.Name != "web" || got.Extra["cost_center"] != "42" {
		t.Fatalf("got %+v, want the created project with its extra attribute", got)
	}
	desc := "renamed"
	off := false
	up := must(projects.Update(ctx, admin, p.ID, projects.UpdateOpts{Name: "web2", Description: &desc, Enabled: &off}).Extract())(t)
	if up.Name != "web2" || up.Description != "renamed" || up.Enabled {
		t.Fatalf("updated project = %+v", up)
	}
	got = must(projects.Get(ctx, admin, p.ID).Extract())(t)
	if got.Name != "web2" || got.Enabled {
		t.Fatalf("after update got %+v", got)
	}
	ok(t, projects.Delete(ctx, admin, p.ID).ExtractErr())
	_, err := projects.Get(ctx, admin, p.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
	wantStatus(t, projects.Delete(ctx, admin, p.ID).ExtractErr(), http.StatusNotFound)
}

func TestCreateProject_DuplicateNameConflicts(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	createProject(t, admin, projects.CreateOpts{Name: "dup"})
	before := projectNames(t, admin, projects.ListOpts{})
	_, err := projects.Create(ctx, admin, projects.CreateOpts{Name: "dup"}).Extract()
	wantStatus(t, err, http.StatusConflict)
	if after := projectNames(t, admin, projects.ListOpts{}); !slices.Equal(before, after) {
		t.Fatalf("a rejected create changed the list: %v → %v", before, after)
	}
	// The same name in another domain is fine.
	d := must(domains.Create(ctx, admin, domains.CreateOpts{Name: "other"}).Extract())(t)
	createProject(t, admin, projects.CreateOpts{Name: "dup", DomainID: d.ID})
	// Renaming onto an existing name conflicts too.
	q := createProject(t, admin, projects.CreateOpts{Name: "dup2"})
	_, err = projects.Update(ctx, admin, q.ID, projects.UpdateOpts{Name: "dup"}).Extract()
	wantStatus(t, err, http.StatusConflict)
}

func TestProject_HierarchyViaParentID(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	root := createProject(t, admin, projects.CreateOpts{Name: "root"})
	child := createProject(t, admin, projects.CreateOpts{Name: "child", ParentID: root.ID})
	grand := createProject(t, admin, projects.CreateOpts{Name: "grandchild", ParentID: child.ID})
	if child.ParentID != root.ID || child.DomainID != "default" || grand.ParentID != child.ID {
		t.Fatalf("child = %+v, grandchild = %+v", child, grand)
	}
	if got := projectNames(t, admin, projects.ListOpts{ParentID: root.ID}); !slices.Equal(got, []string{"child"}) {
		t.Fatalf("children of root = %v", got)
	}
	// Deleting a project with children is 403; leaves go first.
	wantStatus(t, projects.Delete(ctx, admin, root.ID).ExtractErr(), http.StatusForbidden)
	wantStatus(t, projects.Delete(ctx, admin, child.ID).ExtractErr(), http.StatusForbidden)
	must(projects.Get(ctx, admin, root.ID).Extract())(t)
	ok(t, projects.Delete(ctx, admin, grand.ID).ExtractErr())
	ok(t, projects.Delete(ctx, admin, child.ID).ExtractErr())
	ok(t, projects.Delete(ctx, admin, root.ID).ExtractErr())
	// An unknown parent is 404.
	_, err := projects.Create(ctx, admin, projects.CreateOpts{Name: "orphan", ParentID: "0123456789abcdef0123456789abcdef"}).Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func TestProject_Tags(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	a := createProject(t, admin, projects.CreateOpts{Name: "a", Tags: []string{"prod", "eu"}})
	createProject(t, admin, projects.CreateOpts{Name: "b", Tags: []string{"prod", "us"}})
	createProject(t, admin, projects.CreateOpts{Name: "c", Tags: []string{"dev"}})
	if !slices.Equal(a.Tags, []string{"prod", "eu"}) {
		t.Fatalf("created tags = %v", a.Tags)
	}
	tests := []struct {
		name string
		opts projects.ListOpts
		want []string
	}{
		{name: "tags all", opts: projects.ListOpts{Tags: "prod,eu"}, want: []string{"a"}},
		{name: "tags one", opts: projects.ListOpts{Tags: "prod"}, want: []string{"a", "b"}},
		{name: "tags-any", opts: projects.ListOpts{TagsAny: "eu,dev"}, want: []string{"a", "c"}},
		{name: "not-tags", opts: projects.ListOpts{NotTags: "prod", Name: "c"}, want: []string{"c"}},
		{name: "no match", opts: projects.ListOpts{Tags: "nope"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := projectNames(t, admin, tt.opts); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	ok(t, projects.ModifyTags(ctx, admin, a.ID, projects.ModifyTagsOpts{Tags: []string{"x"}}).Err)
	if got := must(projects.ListTags(ctx, admin, a.ID).Extract())(t); !slices.Equal(got.Tags, []string{"x"}) {
		t.Fatalf("listed tags = %v", got.Tags)
	}
	// Invalid tags are 400 and leave nothing behind.
	_, err := projects.Create(ctx, admin, projects.CreateOpts{Name: "bad-tag", Tags: []string{"a/b"}}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	if got := projectNames(t, admin, projects.ListOpts{Name: "bad-tag"}); len(got) != 0 {
		t.Fatalf("rejected project exists: %v", got)
	}
}

func TestProject_IsDomainFalseInViews(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	p := createProject(t, admin, projects.CreateOpts{Name: "plain"})
	if p.IsDomain {
		t.Fatal("create view: is_domain = true")
	}
	if must(projects.Get(ctx, admin, p.ID).Extract())(t).IsDomain {
		t.Fatal("get view: is_domain = true")
	}
	ps := must(projects.ExtractProjects(must(projects.List(admin, nil).AllPages(ctx))(t)))(t)
	for _, q := range ps {
		if q.IsDomain {
			t.Fatalf("list view: %s has is_domain = true", q.Name)
		}
	}
}

func TestDomain_CRUDAndDeleteRequiresDisabled(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	d := must(domains.Create(ctx, admin, domains.CreateOpts{Name: "initech", Description: "tps"}).Extract())(t)
	if d.ID == "" || d.Name != "initech" || !d.Enabled || d.Description != "tps" {
		t.Fatalf("created domain = %+v", d)
	}
	_, err := domains.Create(ctx, admin, domains.CreateOpts{Name: "initech"}).Extract()
	wantStatus(t, err, http.StatusConflict)
	got := must(domains.Get(ctx, admin, d.ID).Extract())(t)
	if got.Name != "initech" {
		t.Fatalf("got %+v", got)
	}
	p := createProject(t, admin, projects.CreateOpts{Name: "in-initech", DomainID: d.ID})

	wantStatus(t, domains.Delete(ctx, admin, d.ID).ExtractErr(), http.StatusForbidden)
	must(domains.Get(ctx, admin, d.ID).Extract())(t)

	off := false
	up := must(domains.Update(ctx, admin, d.ID, domains.UpdateOpts{Enabled: &off}).Extract())(t)
	if up.Enabled {
		t.Fatal("domain still enabled after update")
	}
	ok(t, domains.Delete(ctx, admin, d.ID).ExtractErr())
	_, err = domains.Get(ctx, admin, d.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
	// Its projects went with it.
	_, err = projects.Get(ctx, admin, p.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func TestDomain_DefaultCannotBeDeleted(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	wantStatus(t, domains.Delete(ctx, admin, "default").ExtractErr(), http.StatusForbidden)
	must(domains.Get(ctx, admin, "default").Extract())(t)
}
