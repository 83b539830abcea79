package contract

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

func TestPolicy_MemberCannotAdminister(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "kim", "member")
	other := createUser(t, admin, "lou", "pw")
	member := roleID(t, admin, "member")
	cli := tn.client(t, c)
	tests := []struct {
		name string
		call func(cli *gophercloud.ServiceClient) error
	}{
		{name: "create user", call: func(cli *gophercloud.ServiceClient) error {
			return users.Create(ctx, cli, users.CreateOpts{Name: "sneaky"}).Err
		}},
		{name: "list users", call: func(cli *gophercloud.ServiceClient) error {
			_, err := users.List(cli, nil).AllPages(ctx)
			return err
		}},
		{name: "read another user", call: func(cli *gophercloud.ServiceClient) error {
			return users.Get(ctx, cli, other.ID).Err
		}},
		{name: "update another user", call: func(cli *gophercloud.ServiceClient) error {
			off := false
			return users.Update(ctx, cli, other.ID, users.UpdateOpts{Enabled: &off}).Err
		}},
		{name: "delete user", call: func(cli *gophercloud.ServiceClient) error {
			return users.Delete(ctx, cli, other.ID).ExtractErr()
		}},
		{name: "create project", call: func(cli *gophercloud.ServiceClient) error {
			return projects.Create(ctx, cli, projects.CreateOpts{Name: "sneaky"}).Err
		}},
		{name: "list projects", call: func(cli *gophercloud.ServiceClient) error {
			_, err := projects.List(cli, nil).AllPages(ctx)
			return err
		}},
		{name: "create domain", call: func(cli *gophercloud.ServiceClient) error {
			return domains.Create(ctx, cli, domains.CreateOpts{Name: "sneaky"}).Err
		}},
		{name: "create group", call: func(cli *gophercloud.ServiceClient) error {
			return groups.Create(ctx, cli, groups.CreateOpts{Name: "sneaky"}).Err
		}},
		{name: "create role", call: func(cli *gophercloud.ServiceClient) error {
			return roles.Create(ctx, cli, roles.CreateOpts{Name: "sneaky"}).Err
		}},
		{name: "grant a role", call: func(cli *gophercloud.ServiceClient) error {
			return roles.Assign(ctx, cli, member, roles.AssignOpts{UserID: other.ID, ProjectID: tn.Project.ID}).ExtractErr()
		}},
		{name: "list all role assignments", call: func(cli *gophercloud.ServiceClient) error {
			_, err := roles.ListAssignments(cli, roles.ListAssignmentsOpts{}).AllPages(ctx)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus(t, tt.call(cli), http.StatusForbidden)
		})
	}
	// Nothing was created or changed.
	if got := userNames(t, admin, users.ListOpts{}); len(got) != 3 {
		t.Fatalf("users after forbidden calls = %v", got)
	}
	if u := must(users.Get(ctx, admin, other.ID).Extract())(t); !u.Enabled {
		t.Fatal("a forbidden update disabled the user")
	}
	if got := projectNames(t, admin, projects.ListOpts{Name: "sneaky"}); len(got) != 0 {
		t.Fatalf("a forbidden create made %v", got)
	}
}

func TestPolicy_MemberManagesSelf(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "max", "member")
	cli := tn.client(t, c)
	me := must(users.Get(ctx, cli, tn.User.ID).Extract())(t)
	if me.ID != tn.User.ID || me.Name != "max" {
		t.Fatalf("own user = %+v", me)
	}
	p := must(projects.Get(ctx, cli, tn.Project.ID).Extract())(t)
	if p.ID != tn.Project.ID {
		t.Fatalf("own project = %+v", p)
	}
	ps := must(projects.ExtractProjects(must(users.ListProjects(cli, tn.User.ID).AllPages(ctx))(t)))(t)
	if len(ps) != 1 || ps[0].ID != tn.Project.ID {
		t.Fatalf("own projects = %+v", ps)
	}
	avail := must(projects.ExtractProjects(must(projects.ListAvailable(cli).AllPages(ctx))(t)))(t)
	if len(avail) != 1 || avail[0].ID != tn.Project.ID {
		t.Fatalf("/auth/projects = %+v", avail)
	}
	// Own role assignments are readable.
	as := listAssignments(t, cli, roles.ListAssignmentsOpts{UserID: tn.User.ID})
	if len(as) != 1 {
		t.Fatalf("own assignments = %+v", as)
	}
	ok(t, users.ChangePassword(ctx, cli, tn.User.ID, users.ChangePasswordOpts{OriginalPassword: tn.Password, Password: "max-new-pw"}).ExtractErr())
	issueID(t, c, pwAuth("max", "max-new-pw", tokens.Scope{ProjectID: tn.Project.ID}))
}

func TestPolicy_TokenCannotReadProjectWithoutRole(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	a := newTenant(t, admin, "ned", "member")
	b := newTenant(t, admin, "ola", "member")
	cli := a.client(t, c)
	_, err := projects.Get(ctx, cli, b.Project.ID).Extract()
	wantStatus(t, err, http.StatusForbidden)
	_, err = users.ListProjects(cli, b.User.ID).AllPages(ctx)
	wantStatus(t, err, http.StatusForbidden)
	_, err = roles.ListAssignments(cli, roles.ListAssignmentsOpts{UserID: b.User.ID}).AllPages(ctx)
	wantStatus(t, err, http.StatusForbidden)
}

func TestPolicy_ReaderOnSystemCanReadButNotWrite(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	u := createUser(t, admin, "pia", "pia-pw")
	ok(t, roles.Assign(ctx, admin, roleID(t, admin, "reader"), roles.AssignOpts{UserID: u.ID, System: true}).ExtractErr())
	cli := withToken(t, c, issueID(t, c, pwAuth("pia", "pia-pw", tokens.Scope{System: true})))
	if got := userNames(t, cli, users.ListOpts{}); len(got) != 2 {
		t.Fatalf("system reader sees users %v", got)
	}
	_, err := users.Create(ctx, cli, users.CreateOpts{Name: "nope"}).Extract()
	wantStatus(t, err, http.StatusForbidden)
}
