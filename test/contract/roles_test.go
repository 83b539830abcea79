package contract

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

func TestRole_CRUD(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	r := must(roles.Create(ctx, admin, roles.CreateOpts{Name: "auditor", Description: "reads logs", Extra: map[string]any{"tier": "2"}}).Extract())(t)
	if r.ID == "" || r.Name != "auditor" || r.DomainID != "" || r.Extra["tier"] != "2" {
		t.Fatalf("created role = %+v", r)
	}
	_, err := roles.Create(ctx, admin, roles.CreateOpts{Name: "auditor"}).Extract()
	wantStatus(t, err, http.StatusConflict)
	got := must(roles.Get(ctx, admin, r.ID).Extract())(t)
	if got.Name != "auditor" {
		t.Fatalf("got %+v", got)
	}
	up := must(roles.Update(ctx, admin, r.ID, roles.UpdateOpts{Name: "log-auditor"}).Extract())(t)
	if up.Name != "log-auditor" {
		t.Fatalf("updated role = %+v", up)
	}
	rs := must(roles.ExtractRoles(must(roles.List(admin, nil).AllPages(ctx))(t)))(t)
	var names []string
	for _, x := range rs {
		names = append(names, x.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"admin", "log-auditor", "member", "reader", "service"}) {
		t.Fatalf("roles = %v", names)
	}
	ok(t, roles.Delete(ctx, admin, r.ID).ExtractErr())
	_, err = roles.Get(ctx, admin, r.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func TestImpliedRoles_CreateGetListDelete(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	prior := must(roles.Create(ctx, admin, roles.CreateOpts{Name: "operator"}).Extract())(t)
	implied := must(roles.Create(ctx, admin, roles.CreateOpts{Name: "viewer"}).Extract())(t)

	rule := must(roles.CreateRoleInferenceRule(ctx, admin, prior.ID, implied.ID).Extract())(t)
	if rule.RoleInference.PriorRole.ID != prior.ID || rule.RoleInference.ImpliedRole.ID != implied.ID {
		t.Fatalf("created rule = %+v", rule)
	}
	got := must(roles.GetRoleInferenceRule(ctx, admin, prior.ID, implied.ID).Extract())(t)
	if got.RoleInference.PriorRole.Name != "operator" || got.RoleInference.ImpliedRole.Name != "viewer" {
		t.Fatalf("got rule = %+v", got)
	}
	list := must(roles.ListRoleInferenceRules(ctx, admin).Extract())(t)
	rules := map[string][]string{}
	for _, r := range list.RoleInferenceRuleList {
		for _, im := range r.ImpliedRoles {
			rules[r.PriorRole.Name] = append(rules[r.PriorRole.Name], im.Name)
		}
	}
	for prior, want := range map[string]string{"admin": "member", "member": "reader", "operator": "viewer"} {
		if !slices.Contains(rules[prior], want) {
			t.Fatalf("role_inferences = %v, want %s → %s", rules, prior, want)
		}
	}

	// A token for the prior role carries the implied one.
	tn := newTenant(t, admin, "rita", "operator")
	rs := must(issue(t, c, pwAuth(tn.User.Name, tn.Password, tokens.Scope{ProjectID: tn.Project.ID})).ExtractRoles())(t)
	if got := roleNames(rs); !slices.Equal(got, []string{"operator", "viewer"}) {
		t.Fatalf("token roles = %v, want operator and viewer", got)
	}

	ok(t, roles.DeleteRoleInferenceRule(ctx, admin, prior.ID, implied.ID).ExtractErr())
	_, err := roles.GetRoleInferenceRule(ctx, admin, prior.ID, implied.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
	rs = must(issue(t, c, pwAuth(tn.User.Name, tn.Password, tokens.Scope{ProjectID: tn.Project.ID})).ExtractRoles())(t)
	if got := roleNames(rs); !slices.Equal(got, []string{"operator"}) {
		t.Fatalf("token roles after rule delete = %v, want operator only", got)
	}
}

func TestImpliedRoles_Faults(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	a := must(roles.Create(ctx, admin, roles.CreateOpts{Name: "ra"}).Extract())(t)
	b := must(roles.Create(ctx, admin, roles.CreateOpts{Name: "rb"}).Extract())(t)
	must(roles.CreateRoleInferenceRule(ctx, admin, a.ID, b.ID).Extract())(t)
	const unknown = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name           string
		prior, implied string
		want           int
	}{
		{name: "unknown prior", prior: unknown, implied: b.ID, want: http.StatusNotFound},
		{name: "unknown implied", prior: a.ID, implied: unknown, want: http.StatusNotFound},
		{name: "admin is prohibited as implied", prior: a.ID, implied: roleID(t, admin, "admin"), want: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := roles.CreateRoleInferenceRule(ctx, admin, tt.prior, tt.implied).Extract()
			wantStatus(t, err, tt.want)
		})
	}
	// Deleting a rule that does not exist is 404.
	wantStatus(t, roles.DeleteRoleInferenceRule(ctx, admin, b.ID, a.ID).ExtractErr(), http.StatusNotFound)
}
