package contract

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/quotas"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
)

func TestDefaultSecurityGroupAndRules(t *testing.T) {
	c, _ := newCloud(t)
	ctx := context.Background()
	sc, project := netTenant(t, c, "sg")
	pages := must(groups.List(sc, groups.ListOpts{}).AllPages(ctx))(t)
	all := must(groups.ExtractGroups(pages))(t)
	if len(all) != 1 || all[0].Name != "default" || all[0].ProjectID != project {
		t.Fatalf("default group on first use: %+v", all)
	}
	def := all[0]
	var egress, fromSelf int
	for _, r := range def.Rules {
		if r.Direction == "egress" && r.RemoteGroupID == "" && r.RemoteIPPrefix == "" && r.Protocol == "" {
			egress++
		}
		if r.Direction == "ingress" && r.RemoteGroupID == def.ID {
			fromSelf++
		}
	}
	if len(def.Rules) != 4 || egress != 2 || fromSelf != 2 {
		t.Fatalf("default rules: %+v", def.Rules)
	}
	_, err := groups.Create(ctx, sc, groups.CreateOpts{Name: "default"}).Extract()
	wantStatus(t, err, http.StatusConflict)

	g := must(groups.Create(ctx, sc, groups.CreateOpts{Name: "web"}).Extract())(t)
	if len(g.Rules) != 2 {
		t.Fatalf("new group should have two egress rules: %+v", g.Rules)
	}
	opts := rules.CreateOpts{SecGroupID: g.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4, Protocol: rules.ProtocolTCP,
		PortRangeMin: 80, PortRangeMax: 443, RemoteIPPrefix: "0.0.0.0/0"}
	r := must(rules.Create(ctx, sc, opts).Extract())(t)
	if r.Protocol != "tcp" || r.PortRangeMin != 80 || r.PortRangeMax != 443 {
		t.Fatalf("rule: %+v", r)
	}
	_, err = rules.Create(ctx, sc, opts).Extract()
	wantStatus(t, err, http.StatusConflict)
	if typ := neutronType(t, err); typ != "SecurityGroupRuleExists" {
		t.Errorf("type %q", typ)
	}
	// By number, with a remote group, and bad input.
	must(rules.Create(ctx, sc, rules.CreateOpts{SecGroupID: g.ID, Direction: rules.DirIngress, EtherType: rules.EtherType6, Protocol: "58", RemoteGroupID: def.ID}).Extract())(t)
	_, err = rules.Create(ctx, sc, rules.CreateOpts{SecGroupID: g.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4, Protocol: "bogus"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = rules.Create(ctx, sc, rules.CreateOpts{SecGroupID: g.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4, Protocol: rules.ProtocolTCP, PortRangeMin: 90, PortRangeMax: 80}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = rules.Create(ctx, sc, rules.CreateOpts{SecGroupID: g.ID, Direction: rules.DirIngress, EtherType: rules.EtherType6, RemoteIPPrefix: "10.0.0.0/8"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	// The default group cannot be deleted by its project.
	wantStatus(t, groups.Delete(ctx, sc, def.ID).ExtractErr(), http.StatusConflict)
	ok(t, rules.Delete(ctx, sc, r.ID).ExtractErr())
	ok(t, groups.Delete(ctx, sc, g.ID).ExtractErr())
}

// TestQuotaUnderConcurrency races network creates against a quota of 5:
// exactly 5 succeed, the rest get 409 OverQuota.
func TestQuotaUnderConcurrency(t *testing.T) {
	c, _ := newCloud(t)
	ctx := context.Background()
	sc, project := netTenant(t, c, "quota")
	admin := netAdmin(t, c)
	five := 5
	q := must(quotas.Update(ctx, admin, project, quotas.UpdateOpts{Network: &five}).Extract())(t)
	if q.Network != 5 {
		t.Fatalf("quota: %+v", q)
	}
	var mu sync.Mutex
	created, over := 0, 0
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := networks.Create(ctx, sc, networks.CreateOpts{Name: "q"}).Extract()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case statusOf(err) == http.StatusConflict:
				over++
			default:
				t.Errorf("create: %v", err)
			}
		}()
	}
	wg.Wait()
	if created != 5 || over != 7 {
		t.Fatalf("created %d, over quota %d", created, over)
	}
	d := raw(t, "GET", admin.ResourceBaseURL()+"quotas/"+project+"/details", admin.TokenID, nil, nil)
	if d.Status != 200 || !contains(string(d.Body), `"network":{"limit":5,"used":5,"reserved":0}`) {
		t.Fatalf("details: %s", d.Body)
	}
	// Tenants cannot change quotas.
	_, err := quotas.Update(ctx, sc, project, quotas.UpdateOpts{Network: &five}).Extract()
	wantStatus(t, err, http.StatusForbidden)
}
