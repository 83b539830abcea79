package contract

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/osinherit"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

func listAssignments(t *testing.T, admin *gophercloud.ServiceClient, opts roles.ListAssignmentsOpts) []roles.RoleAssignment {
	t.Helper()
	return must(roles.ExtractRoleAssignments(must(roles.ListAssignments(admin, opts).AllPages(context.Background()))(t)))(t)
}

// assignmentKeys renders assignments as "actor|target|role" strings, sorted.
func assignmentKeys(as []roles.RoleAssignment) []string {
	var out []string
	for _, a := range as {
		actor := "user:" + a.User.ID
		if a.Group.ID != "" {
			actor = "group:" + a.Group.ID
		}
		target := "project:" + a.Scope.Project.ID
		switch {
		case a.Scope.Domain.ID != "":
			target = "domain:" + a.Scope.Domain.ID
		case a.Scope.System != nil:
			target = "system"
		}
		out = append(out, actor+"|"+target+"|"+a.Role.ID)
	}
	slices.Sort(out)
	return out
}

func TestGrant_CheckRevokeForUsersAndGroupsOnProjectsAndDomains(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	u := createUser(t, admin, "sam", "pw")
	g := must(groups.Create(ctx, admin, groups.CreateOpts{Name: "sam-group"}).Extract())(t)
	p := createProject(t, admin, projects.CreateOpts{Name: "sam-project"})
	member := roleID(t, admin, "member")
	tests := []struct {
		name string
		opts roles.AssignOpts
	}{
		{name: "user on project", opts: roles.AssignOpts{UserID: u.ID, ProjectID: p.ID}},
		{name: "user on domain", opts: roles.AssignOpts{UserID: u.ID, DomainID: "default"}},
		{name: "group on project", opts: roles.AssignOpts{GroupID: g.ID, ProjectID: p.ID}},
		{name: "group on domain", opts: roles.AssignOpts{GroupID: g.ID, DomainID: "default"}},
		{name: "user on system", opts: roles.AssignOpts{UserID: u.ID, System: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vo := roles.ValidateOpts(tt.opts)
			uo := roles.UnassignOpts(tt.opts)
			wantStatus(t, roles.Validate(ctx, admin, member, vo).Err, http.StatusNotFound)
			ok(t, roles.Assign(ctx, admin, member, tt.opts).ExtractErr())
			ok(t, roles.Assign(ctx, admin, member, tt.opts).ExtractErr()) // idempotent
			ok(t, roles.Validate(ctx, admin, member, vo).Err)

			lo := roles.ListAssignmentsOnResourceOpts(tt.opts)
			rs := must(roles.ExtractRoles(must(roles.ListAssignmentsOnResource(admin, lo).AllPages(ctx))(t)))(t)
			if len(rs) != 1 || rs[0].ID != member {
				t.Fatalf("roles on resource = %+v, want member only", rs)
			}

			ok(t, roles.Unassign(ctx, admin, member, uo).ExtractErr())
			wantStatus(t, roles.Validate(ctx, admin, member, vo).Err, http.StatusNotFound)
			wantStatus(t, roles.Unassign(ctx, admin, member, uo).ExtractErr(), http.StatusNotFound)
		})
	}
}

func TestGrant_UnknownPartsAreNotFound(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	u := createUser(t, admin, "tom", "pw")
	p := createProject(t, admin, projects.CreateOpts{Name: "tom-project"})
	member := roleID(t, admin, "member")
	const unknown = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name string
		role string
		opts roles.AssignOpts
	}{
		{name: "unknown role", role: unknown, opts: roles.AssignOpts{UserID: u.ID, ProjectID: p.ID}},
		{name: "unknown user", role: member, opts: roles.AssignOpts{UserID: unknown, ProjectID: p.ID}},
		{name: "unknown group", role: member, opts: roles.AssignOpts{GroupID: unknown, ProjectID: p.ID}},
		{name: "unknown project", role: member, opts: roles.AssignOpts{UserID: u.ID, ProjectID: unknown}},
		{name: "unknown domain", role: member, opts: roles.AssignOpts{UserID: u.ID, DomainID: unknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus(t, roles.Assign(ctx, admin, tt.role, tt.opts).ExtractErr(), http.StatusNotFound)
		})
	}
	if got := listAssignments(t, admin, roles.ListAssignmentsOpts{UserID: u.ID}); len(got) != 0 {
		t.Fatalf("rejected grants left assignments: %v", assignmentKeys(got))
	}
}

func TestListRoleAssignments_Filters(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	u := createUser(t, admin, "uma", "pw")
	g := must(groups.Create(ctx, admin, groups.CreateOpts{Name: "uma-group"}).Extract())(t)
	p := createProject(t, admin, projects.CreateOpts{Name: "uma-project"})
	p2 := createProject(t, admin, projects.CreateOpts{Name: "uma-project-2"})
	member, reader := roleID(t, admin, "member"), roleID(t, admin, "reader")
	ok(t, roles.Assign(ctx, admin, member, roles.AssignOpts{UserID: u.ID, ProjectID: p.ID}).ExtractErr())
	ok(t, roles.Assign(ctx, admin, reader, roles.AssignOpts{UserID: u.ID, DomainID: "default"}).ExtractErr())
	ok(t, roles.Assign(ctx, admin, reader, roles.AssignOpts{GroupID: g.ID, ProjectID: p2.ID}).ExtractErr())

	tests := []struct {
		name string
		opts roles.ListAssignmentsOpts
		want []string
	}{
		{name: "user.id", opts: roles.ListAssignmentsOpts{UserID: u.ID}, want: []string{
			"user:" + u.ID + "|domain:default|" + reader, "user:" + u.ID + "|project:" + p.ID + "|" + member}},
		{name: "group.id", opts: roles.ListAssignmentsOpts{GroupID: g.ID}, want: []string{"group:" + g.ID + "|project:" + p2.ID + "|" + reader}},
		{name: "scope.project.id", opts: roles.ListAssignmentsOpts{ScopeProjectID: p.ID}, want: []string{"user:" + u.ID + "|project:" + p.ID + "|" + member}},
		{name: "scope.domain.id and user", opts: roles.ListAssignmentsOpts{ScopeDomainID: "default", UserID: u.ID}, want: []string{"user:" + u.ID + "|domain:default|" + reader}},
		{name: "role.id and user", opts: roles.ListAssignmentsOpts{RoleID: member, UserID: u.ID}, want: []string{"user:" + u.ID + "|project:" + p.ID + "|" + member}},
		{name: "no match", opts: roles.ListAssignmentsOpts{ScopeProjectID: p2.ID, UserID: u.ID}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := assignmentKeys(listAssignments(t, admin, tt.opts)); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestListRoleAssignments_EffectiveExpandsGroupsInheritanceAndImpliedRoles(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	yes := true
	d := must(domains.Create(ctx, admin, domains.CreateOpts{Name: "corp"}).Extract())(t)
	p := createProject(t, admin, projects.CreateOpts{Name: "corp-app", DomainID: d.ID})
	u := must(users.Create(ctx, admin, users.CreateOpts{Name: "vic", DomainID: d.ID, Password: "vic-pw"}).Extract())(t)
	g := must(groups.Create(ctx, admin, groups.CreateOpts{Name: "corp-staff", DomainID: d.ID}).Extract())(t)
	ok(t, users.AddToGroup(ctx, admin, g.ID, u.ID).ExtractErr())
	member, reader := roleID(t, admin, "member"), roleID(t, admin, "reader")

	// The group holds member on the project; the user holds reader on the
	// domain, inherited to its projects.
	ok(t, roles.Assign(ctx, admin, member, roles.AssignOpts{GroupID: g.ID, ProjectID: p.ID}).ExtractErr())
	ok(t, osinherit.Assign(ctx, admin, reader, osinherit.AssignOpts{UserID: u.ID, DomainID: d.ID}).ExtractErr())
	ok(t, osinherit.Validate(ctx, admin, reader, osinherit.ValidateOpts{UserID: u.ID, DomainID: d.ID}).ExtractErr())

	// Not effective: the user has no direct project assignment.
	if got := listAssignments(t, admin, roles.ListAssignmentsOpts{UserID: u.ID, ScopeProjectID: p.ID}); len(got) != 0 {
		t.Fatalf("direct assignments = %v, want none", assignmentKeys(got))
	}
	got := assignmentKeys(listAssignments(t, admin, roles.ListAssignmentsOpts{UserID: u.ID, ScopeProjectID: p.ID, Effective: &yes}))
	// member via the group (and reader implied by it), reader inherited from the domain.
	for _, want := range []string{"user:" + u.ID + "|project:" + p.ID + "|" + member, "user:" + u.ID + "|project:" + p.ID + "|" + reader} {
		if !slices.Contains(got, want) {
			t.Fatalf("effective assignments = %v, missing %s", got, want)
		}
	}
	for _, k := range got {
		if strings.HasPrefix(k, "group:") {
			t.Fatalf("effective listing still shows a group: %v", got)
		}
	}

	// The token agrees.
	rs := must(issue(t, c, tokens.AuthOptions{Username: "vic", Password: "vic-pw", DomainID: d.ID, Scope: tokens.Scope{ProjectID: p.ID}}).ExtractRoles())(t)
	if names := roleNames(rs); !slices.Equal(names, []string{"member", "reader"}) {
		t.Fatalf("token roles = %v", names)
	}

	// Removing the user from the group leaves only the inherited reader.
	ok(t, users.RemoveFromGroup(ctx, admin, g.ID, u.ID).ExtractErr())
	got = assignmentKeys(listAssignments(t, admin, roles.ListAssignmentsOpts{UserID: u.ID, ScopeProjectID: p.ID, Effective: &yes}))
	if !slices.Equal(got, []string{"user:" + u.ID + "|project:" + p.ID + "|" + reader}) {
		t.Fatalf("effective after leaving the group = %v", got)
	}
	ok(t, osinherit.Unassign(ctx, admin, reader, osinherit.UnassignOpts{UserID: u.ID, DomainID: d.ID}).ExtractErr())
	wantStatus(t, osinherit.Validate(ctx, admin, reader, osinherit.ValidateOpts{UserID: u.ID, DomainID: d.ID}).ExtractErr(), http.StatusNotFound)
	if got := listAssignments(t, admin, roles.ListAssignmentsOpts{UserID: u.ID, Effective: &yes}); len(got) != 0 {
		t.Fatalf("effective after all revoked = %v", assignmentKeys(got))
	}
}

func TestListRoleAssignments_InheritedFromParentProject(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	yes := true
	parent := createProject(t, admin, projects.CreateOpts{Name: "parent"})
	child := createProject(t, admin, projects.CreateOpts{Name: "child", ParentID: parent.ID})
	u := createUser(t, admin, "wes", "wes-pw")
	member := roleID(t, admin, "member")
	ok(t, osinherit.Assign(ctx, admin, member, osinherit.AssignOpts{UserID: u.ID, ProjectID: parent.ID}).ExtractErr())

	got := assignmentKeys(listAssignments(t, admin, roles.ListAssignmentsOpts{UserID: u.ID, Effective: &yes, RoleID: member}))
	if !slices.Equal(got, []string{"user:" + u.ID + "|project:" + child.ID + "|" + member}) {
		t.Fatalf("effective = %v, want member on the child only", got)
	}
	// Inherited roles apply to the subtree, not the project itself.
	issueID(t, c, pwAuth("wes", "wes-pw", tokens.Scope{ProjectID: child.ID}))
	wantStatus(t, issue(t, c, pwAuth("wes", "wes-pw", tokens.Scope{ProjectID: parent.ID})).Err, http.StatusUnauthorized)
}

func TestListRoleAssignments_IncludeNames(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	yes := true
	tn := newTenant(t, admin, "xena", "member")
	g := must(groups.Create(ctx, admin, groups.CreateOpts{Name: "xena-group"}).Extract())(t)
	ok(t, roles.Assign(ctx, admin, roleID(t, admin, "reader"), roles.AssignOpts{GroupID: g.ID, DomainID: "default"}).ExtractErr())

	as := listAssignments(t, admin, roles.ListAssignmentsOpts{UserID: tn.User.ID, IncludeNames: &yes})
	if len(as) != 1 {
		t.Fatalf("assignments = %+v", as)
	}
	a := as[0]
	if a.Role.Name != "member" || a.User.Name != "xena" || a.User.Domain.Name != "Default" ||
		a.Scope.Project.Name != "xena-project" || a.Scope.Project.Domain.ID != "default" {
		t.Fatalf("with names = %+v", a)
	}
	as = listAssignments(t, admin, roles.ListAssignmentsOpts{GroupID: g.ID, IncludeNames: &yes})
	if len(as) != 1 || as[0].Group.Name != "xena-group" || as[0].Scope.Domain.Name != "Default" || as[0].Role.Name != "reader" {
		t.Fatalf("group with names = %+v", as)
	}
	// Without include_names there are only IDs.
	as = listAssignments(t, admin, roles.ListAssignmentsOpts{UserID: tn.User.ID})
	if as[0].Role.Name != "" || as[0].User.Name != "" {
		t.Fatalf("without include_names = %+v", as[0])
	}
}

func TestListRoleAssignments_EffectiveWithGroupIsBadRequest(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	yes := true
	g := must(groups.Create(ctx, admin, groups.CreateOpts{Name: "grp"}).Extract())(t)
	_, err := roles.ListAssignments(admin, roles.ListAssignmentsOpts{GroupID: g.ID, Effective: &yes}).AllPages(ctx)
	wantStatus(t, err, http.StatusBadRequest)
}

func TestDeleteProject_RemovesItsAssignments(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "yuri", "member")
	ok(t, projects.Delete(ctx, admin, tn.Project.ID).ExtractErr())
	if got := listAssignments(t, admin, roles.ListAssignmentsOpts{UserID: tn.User.ID}); len(got) != 0 {
		t.Fatalf("assignments after project delete = %v", assignmentKeys(got))
	}
}
