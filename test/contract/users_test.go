package contract

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

func userNames(t *testing.T, admin *gophercloud.ServiceClient, opts users.ListOpts) []string {
	t.Helper()
	us := must(users.ExtractUsers(must(users.List(admin, opts).AllPages(context.Background()))(t)))(t)
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	slices.Sort(out)
	return out
}

func TestUser_CRUD(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	p := createProject(t, admin, projects.CreateOpts{Name: "home"})
	u := must(users.Create(ctx, admin, users.CreateOpts{
		Name: "ivy", Password: "ivy-pw", DefaultProjectID: p.ID, Description: "tester",
		Extra: map[string]any{"email": "ivy@example.com"},
	}).Extract())(t)
	if u.ID == "" || u.Name != "ivy" || u.DomainID != "default" || !u.Enabled || u.DefaultProjectID != p.ID || u.Description != "tester" {
		t.Fatalf("created user = %+v", u)
	}
	if u.Extra["email"] != "ivy@example.com" {
		t.Fatalf("create view extra = %v, want the email", u.Extra)
	}
	if _, has := u.Extra["password"]; has {
		t.Fatal("the user view shows the password")
	}
	got := must(users.Get(ctx, admin, u.ID).Extract())(t)
	if got.Name != "ivy" || got.Extra["email"] != "ivy@example.com" {
		t.Fatalf("got %+v", got)
	}
	up := must(users.Update(ctx, admin, u.ID, users.UpdateOpts{Name: "ivy2", Extra: map[string]any{"email": "new@example.com"}}).Extract())(t)
	if up.Name != "ivy2" || up.Extra["email"] != "new@example.com" || up.Description != "tester" {
		t.Fatalf("updated user = %+v", up)
	}
	// The password set at creation works, under the new name.
	issueID(t, c, pwAuth("ivy2", "ivy-pw", tokens.Scope{}))

	ok(t, users.Delete(ctx, admin, u.ID).ExtractErr())
	_, err := users.Get(ctx, admin, u.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
	wantStatus(t, users.Delete(ctx, admin, u.ID).ExtractErr(), http.StatusNotFound)
	wantStatus(t, issue(t, c, pwAuth("ivy2", "ivy-pw", tokens.Scope{})).Err, http.StatusUnauthorized)
}

func TestCreateUser_DuplicateNameConflicts(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	createUser(t, admin, "jack", "pw")
	before := userNames(t, admin, users.ListOpts{})
	_, err := users.Create(ctx, admin, users.CreateOpts{Name: "jack", DomainID: "default"}).Extract()
	wantStatus(t, err, http.StatusConflict)
	if after := userNames(t, admin, users.ListOpts{}); !slices.Equal(before, after) {
		t.Fatalf("rejected create changed the list: %v → %v", before, after)
	}
	d := must(domains.Create(ctx, admin, domains.CreateOpts{Name: "elsewhere"}).Extract())(t)
	must(users.Create(ctx, admin, users.CreateOpts{Name: "jack", DomainID: d.ID}).Extract())(t)
}

func TestListUsers_Filters(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	d := must(domains.Create(ctx, admin, domains.CreateOpts{Name: "dom2"}).Extract())(t)
	off := false
	createUser(t, admin, "kate", "pw")
	must(users.Create(ctx, admin, users.CreateOpts{Name: "leo", DomainID: "default", Enabled: &off}).Extract())(t)
	must(users.Create(ctx, admin, users.CreateOpts{Name: "mia", DomainID: d.ID}).Extract())(t)
	on := true
	tests := []struct {
		name string
		opts users.ListOpts
		want []string
	}{
		{name: "all", opts: users.ListOpts{}, want: []string{"admin", "kate", "leo", "mia"}},
		{name: "by name", opts: users.ListOpts{Name: "kate"}, want: []string{"kate"}},
		{name: "by domain", opts: users.ListOpts{DomainID: d.ID}, want: []string{"mia"}},
		{name: "disabled", opts: users.ListOpts{Enabled: &off}, want: []string{"leo"}},
		{name: "enabled in default", opts: users.ListOpts{Enabled: &on, DomainID: "default"}, want: []string{"admin", "kate"}},
		{name: "name__contains", opts: users.ListOpts{Filters: map[string]string{"name__contains": "e"}}, want: []string{"kate", "leo"}},
		{name: "unknown name", opts: users.ListOpts{Name: "zed"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := userNames(t, admin, tt.opts); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUser_ListProjectsAndGroups(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "nina", "reader")
	other := createProject(t, admin, projects.CreateOpts{Name: "nina-2"})
	createProject(t, admin, projects.CreateOpts{Name: "not-nina"})
	grant(t, admin, "member", tn.User.ID, other.ID)
	g := must(groups.Create(ctx, admin, groups.CreateOpts{Name: "ops"}).Extract())(t)
	must(groups.Create(ctx, admin, groups.CreateOpts{Name: "not-ops"}).Extract())(t)
	ok(t, users.AddToGroup(ctx, admin, g.ID, tn.User.ID).ExtractErr())

	ps := must(projects.ExtractProjects(must(users.ListProjects(admin, tn.User.ID).AllPages(ctx))(t)))(t)
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"nina-2", "nina-project"}) {
		t.Fatalf("user projects = %v", names)
	}
	gs := must(groups.ExtractGroups(must(users.ListGroups(admin, tn.User.ID).AllPages(ctx))(t)))(t)
	if len(gs) != 1 || gs[0].ID != g.ID {
		t.Fatalf("user groups = %+v, want only ops", gs)
	}
	// An unknown user is 404.
	_, err := users.ListProjects(admin, "0123456789abcdef0123456789abcdef").AllPages(ctx)
	wantStatus(t, err, http.StatusNotFound)
}
