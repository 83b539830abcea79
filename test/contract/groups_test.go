package contract

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

func TestGroup_CRUD(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	g := must(groups.Create(ctx, admin, groups.CreateOpts{Name: "devs", Description: "developers", Extra: map[string]any{"team": "core"}}).Extract())(t)
	if g.ID == "" || g.Name != "devs" || g.DomainID != "default" || g.Description != "developers" || g.Extra["team"] != "core" {
		t.Fatalf("created group = %+v", g)
	}
	_, err := groups.Create(ctx, admin, groups.CreateOpts{Name: "devs"}).Extract()
	wantStatus(t, err, http.StatusConflict)
	desc := "all developers"
	up := must(groups.Update(ctx, admin, g.ID, groups.UpdateOpts{Name: "developers", Description: &desc}).Extract())(t)
	if up.Name != "developers" || up.Description != desc {
		t.Fatalf("updated group = %+v", up)
	}
	gs := must(groups.ExtractGroups(must(groups.List(admin, groups.ListOpts{Name: "developers"}).AllPages(ctx))(t)))(t)
	if len(gs) != 1 || gs[0].ID != g.ID {
		t.Fatalf("list by name = %+v", gs)
	}
	ok(t, groups.Delete(ctx, admin, g.ID).ExtractErr())
	_, err = groups.Get(ctx, admin, g.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func TestGroup_Membership(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	g := must(groups.Create(ctx, admin, groups.CreateOpts{Name: "team"}).Extract())(t)
	a := createUser(t, admin, "oscar", "pw")
	b := createUser(t, admin, "pam", "pw")
	createUser(t, admin, "quinn", "pw")

	members := func() []string {
		us := must(users.ExtractUsers(must(users.ListInGroup(admin, g.ID, nil).AllPages(ctx))(t)))(t)
		var out []string
		for _, u := range us {
			out = append(out, u.Name)
		}
		slices.Sort(out)
		return out
	}
	if got := members(); len(got) != 0 {
		t.Fatalf("new group has members %v", got)
	}
	ok(t, users.AddToGroup(ctx, admin, g.ID, a.ID).ExtractErr())
	ok(t, users.AddToGroup(ctx, admin, g.ID, b.ID).ExtractErr())
	ok(t, users.AddToGroup(ctx, admin, g.ID, b.ID).ExtractErr()) // idempotent
	if got := members(); !slices.Equal(got, []string{"oscar", "pam"}) {
		t.Fatalf("members = %v", got)
	}
	if in := must(users.IsMemberOfGroup(ctx, admin, g.ID, a.ID).Extract())(t); !in {
		t.Fatal("oscar is not reported a member")
	}
	ok(t, users.RemoveFromGroup(ctx, admin, g.ID, a.ID).ExtractErr())
	if in := must(users.IsMemberOfGroup(ctx, admin, g.ID, a.ID).Extract())(t); in {
		t.Fatal("oscar is still reported a member")
	}
	if got := members(); !slices.Equal(got, []string{"pam"}) {
		t.Fatalf("members after removal = %v", got)
	}
	wantStatus(t, users.RemoveFromGroup(ctx, admin, g.ID, a.ID).ExtractErr(), http.StatusNotFound)
	tests := []struct {
		name        string
		group, user string
	}{
		{name: "unknown user", group: g.ID, user: "0123456789abcdef0123456789abcdef"},
		{name: "unknown group", group: "0123456789abcdef0123456789abcdef", user: a.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus(t, users.AddToGroup(ctx, admin, tt.group, tt.user).ExtractErr(), http.StatusNotFound)
		})
	}
	// Deleting a user drops its memberships.
	ok(t, users.Delete(ctx, admin, b.ID).ExtractErr())
	if got := members(); len(got) != 0 {
		t.Fatalf("members after user delete = %v", got)
	}
}
