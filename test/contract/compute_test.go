package contract

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/aggregates"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/availabilityzones"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"

	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

func computeClient(t *testing.T, c *cloudtest.Cloud, mv string) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewComputeV2(c.Provider(t, c.AdminOptions()), gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Microversion = mv
	return sc
}

func TestCompute_DefaultFlavors(t *testing.T) {
	c := cloudtest.New(t)
	client := computeClient(t, c, "")
	pages, err := flavors.ListDetail(client, nil).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := flavors.ExtractFlavors(pages)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]flavors.Flavor{}
	for _, f := range fs {
		byName[f.Name] = f
	}
	if f, ok := byName["m1.nano"]; !ok || f.ID != "42" || f.RAM != 128 || !f.IsPublic {
		t.Fatalf("m1.nano = %+v (all: %v)", f, byName)
	}
	if _, ok := byName["m1.small"]; !ok {
		t.Fatal("no m1.small")
	}
}

func TestCompute_FlavorLifecycle(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	client := computeClient(t, c, "2.61")
	pub := false
	desc := "tiny test flavor"
	f, err := flavors.Create(ctx, client, flavors.CreateOpts{Name: "t1", RAM: 64, VCPUs: 1, Disk: gophercloud.IntToPointer(1), Swap: gophercloud.IntToPointer(0), IsPublic: &pub, Description: desc}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if f.Description != desc || f.IsPublic {
		t.Fatalf("created %+v", f)
	}
	if _, err := flavors.Create(ctx, client, flavors.CreateOpts{Name: "t1", RAM: 64, VCPUs: 1, Disk: gophercloud.IntToPointer(0)}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	specs, err := flavors.CreateExtraSpecs(ctx, client, f.ID, flavors.ExtraSpecsOpts{"hw:cpu_policy": "shared", "aggregate_instance_extra_specs:ssd": "true"}).Extract()
	if err != nil || specs["hw:cpu_policy"] != "shared" {
		t.Fatalf("extra specs %v, %v", specs, err)
	}
	got, err := flavors.Get(ctx, client, f.ID).Extract()
	if err != nil || got.ExtraSpecs["aggregate_instance_extra_specs:ssd"] != "true" {
		t.Fatalf("2.61 flavor view without extra_specs: %+v %v", got, err)
	}
	if err := flavors.DeleteExtraSpec(ctx, client, f.ID, "hw:cpu_policy").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := flavors.GetExtraSpec(ctx, client, f.ID, "hw:cpu_policy").Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("deleted spec: %v", err)
	}
	acc, err := flavors.AddAccess(ctx, client, f.ID, flavors.AddAccessOpts{Tenant: "p-1"}).Extract()
	if err != nil || len(acc) != 1 || acc[0].TenantID != "p-1" {
		t.Fatalf("add access %v %v", acc, err)
	}
	if _, err := flavors.AddAccess(ctx, client, f.ID, flavors.AddAccessOpts{Tenant: "p-1"}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("duplicate access: %v", err)
	}
	if _, err := flavors.RemoveAccess(ctx, client, f.ID, flavors.RemoveAccessOpts{Tenant: "p-1"}).Extract(); err != nil {
		t.Fatal(err)
	}
	upd, err := flavors.Update(ctx, client, f.ID, flavors.UpdateOpts{Description: "new"}).Extract()
	if err != nil || upd.Description != "new" {
		t.Fatalf("update %+v %v", upd, err)
	}
	if err := flavors.Delete(ctx, client, f.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := flavors.Get(ctx, client, f.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("deleted flavor: %v", err)
	}
}

func TestCompute_Keypairs(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	client := computeClient(t, c, "2.2")
	gen, err := keypairs.Create(ctx, client, keypairs.CreateOpts{Name: "gen"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(gen.PrivateKey, "PRIVATE KEY") || !strings.HasPrefix(gen.PublicKey, "ssh-ed25519 ") || gen.Type != "ssh" {
		t.Fatalf("generated %+v", gen)
	}
	imp, err := keypairs.Create(ctx, client, keypairs.CreateOpts{Name: "imp", PublicKey: gen.PublicKey}).Extract()
	if err != nil || imp.PrivateKey != "" || imp.Fingerprint != gen.Fingerprint {
		t.Fatalf("imported %+v %v", imp, err)
	}
	if _, err := keypairs.Create(ctx, client, keypairs.CreateOpts{Name: "imp", PublicKey: gen.PublicKey}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := keypairs.Create(ctx, client, keypairs.CreateOpts{Name: "bad", PublicKey: "ssh-rsa AAAA"}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("bad key: %v", err)
	}
	pages, err := keypairs.List(client, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := keypairs.ExtractKeyPairs(pages)
	if len(ks) != 2 {
		t.Fatalf("listed %d keypairs", len(ks))
	}
	got, err := keypairs.Get(ctx, client, "imp", nil).Extract()
	if err != nil || got.UserID == "" {
		t.Fatalf("get %+v %v", got, err)
	}
	if err := keypairs.Delete(ctx, client, "imp", nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := keypairs.Delete(ctx, client, "imp", nil).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestCompute_HostsServicesHypervisors(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	client := computeClient(t, c, "2.53")
	pages, err := services.List(client, services.ListOpts{Binary: "nova-compute"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svcs, _ := services.ExtractServices(pages)
	if len(svcs) != 1 || svcs[0].Status != "enabled" || svcs[0].State != "up" {
		t.Fatalf("services %+v", svcs)
	}
	host := svcs[0].Host
	hp, err := hypervisors.List(client, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := hypervisors.ExtractHypervisors(hp)
	if err != nil || len(hs) != 1 || hs[0].HypervisorType != "QEMU" || hs[0].VCPUs < 1 || hs[0].MemoryMB < 1 {
		t.Fatalf("hypervisors %+v %v", hs, err)
	}
	if _, err := services.Update(ctx, client, svcs[0].ID, services.UpdateOpts{Status: services.ServiceDisabled, DisabledReason: "maintenance"}).Extract(); err != nil {
		t.Fatal(err)
	}
	zp, err := availabilityzones.ListDetail(client).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	zs, _ := availabilityzones.ExtractAvailabilityZones(zp)
	for _, z := range zs {
		if z.ZoneName == "nova" && z.ZoneState.Available {
			t.Fatalf("zone nova available with its only host disabled: %+v", z)
		}
	}
	// Aggregates: an AZ, a host, metadata.
	ag, err := aggregates.Create(ctx, client, aggregates.CreateOpts{Name: "fast", AvailabilityZone: "az-fast"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if ag, err = aggregates.AddHost(ctx, client, ag.ID, aggregates.AddHostOpts{Host: host}).Extract(); err != nil || len(ag.Hosts) != 1 {
		t.Fatalf("add host %+v %v", ag, err)
	}
	if _, err := aggregates.AddHost(ctx, client, ag.ID, aggregates.AddHostOpts{Host: "nope"}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("unknown host: %v", err)
	}
	if ag, err = aggregates.SetMetadata(ctx, client, ag.ID, aggregates.SetMetadataOpts{Metadata: map[string]any{"ssd": "true"}}).Extract(); err != nil || ag.Metadata["ssd"] != "true" {
		t.Fatalf("metadata %+v %v", ag, err)
	}
	if err := aggregates.Delete(ctx, client, ag.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("delete non-empty: %v", err)
	}
	sp, err := services.List(client, services.ListOpts{Binary: "nova-compute"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svcs, _ = services.ExtractServices(sp)
	if svcs[0].Zone != "az-fast" {
		t.Fatalf("service zone %q, want az-fast", svcs[0].Zone)
	}
	if _, err := aggregates.RemoveHost(ctx, client, ag.ID, aggregates.RemoveHostOpts{Host: host}).Extract(); err != nil {
		t.Fatal(err)
	}
	if err := aggregates.Delete(ctx, client, ag.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

func TestCompute_QuotasLimitsGroups(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	client := computeClient(t, c, "2.64")
	project := adminProjectID(t, c)
	qs, err := quotasets.Get(ctx, client, project).Extract()
	if err != nil || qs.Instances != 10 || qs.Cores != 20 {
		t.Fatalf("quota set %+v %v", qs, err)
	}
	if _, err := quotasets.Update(ctx, client, project, quotasets.UpdateOpts{Cores: gophercloud.IntToPointer(40)}).Extract(); err != nil {
		t.Fatal(err)
	}
	lim, err := limits.Get(ctx, client, nil).Extract()
	if err != nil || lim.Absolute.MaxTotalCores != 40 {
		t.Fatalf("limits %+v %v", lim, err)
	}
	g, err := servergroups.Create(ctx, client, servergroups.CreateOpts{Name: "spread", Policy: "anti-affinity", Rules: &servergroups.Rules{MaxServerPerHost: 2}}).Extract()
	if err != nil || g.Policy == nil || *g.Policy != "anti-affinity" || g.Rules.MaxServerPerHost != 2 {
		t.Fatalf("group %+v %v", g, err)
	}
	if _, err := servergroups.Create(ctx, client, servergroups.CreateOpts{Name: "x", Policy: "affinity", Rules: &servergroups.Rules{MaxServerPerHost: 2}}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("rules with affinity: %v", err)
	}
	lim, _ = limits.Get(ctx, client, nil).Extract()
	if lim.Absolute.TotalServerGroupsUsed != 1 {
		t.Fatalf("server groups used %d", lim.Absolute.TotalServerGroupsUsed)
	}
	if err := servergroups.Delete(ctx, client, g.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

func adminProjectID(t *testing.T, c *cloudtest.Cloud) string {
	t.Helper()
	p := c.Provider(t, c.AdminOptions())
	req, _ := http.NewRequest("GET", c.AuthURL()+"/auth/projects", nil)
	req.Header.Set("X-Auth-Token", p.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Projects []struct{ ID, Name string } `json:"projects"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	for _, pr := range body.Projects {
		if pr.Name == "admin" {
			return pr.ID
		}
	}
	t.Fatal("no admin project")
	return ""
}

// TestCompute_MicroversionsAndFaults checks the version documents, the
// microversion headers, 406 and Nova's fault dialect on the wire.
func TestCompute_MicroversionsAndFaults(t *testing.T) {
	c := cloudtest.New(t)
	token := c.Provider(t, c.AdminOptions()).Token()
	do := func(path, mv string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("GET", c.URL+path, nil)
		req.Header.Set("X-Auth-Token", token)
		if mv != "" {
			req.Header.Set("OpenStack-API-Version", "compute "+mv)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	resp, body := do("/compute/", "")
	vs, _ := body["versions"].([]any)
	if resp.StatusCode != 200 || len(vs) != 2 || vs[1].(map[string]any)["version"] != "2.79" {
		t.Fatalf("versions %d %v", resp.StatusCode, body)
	}
	resp, _ = do("/compute/v2.1/flavors", "2.55")
	if resp.Header.Get("OpenStack-API-Version") != "compute 2.55" || resp.Header.Get("X-OpenStack-Nova-API-Version") != "2.55" || !strings.Contains(resp.Header.Get("Vary"), "OpenStack-API-Version") {
		t.Fatalf("headers %v", resp.Header)
	}
	resp, _ = do("/compute/v2.1/flavors", "2.200")
	if resp.StatusCode != http.StatusNotAcceptable {
		t.Fatalf("2.200: %d", resp.StatusCode)
	}
	resp, body = do("/compute/v2.1/flavors/nope", "")
	nf, ok := body["itemNotFound"].(map[string]any)
	if resp.StatusCode != 404 || !ok || nf["code"] != float64(404) {
		t.Fatalf("fault %d %v", resp.StatusCode, body)
	}
	resp, body = do("/placement/resource_providers", "")
	rps, _ := body["resource_providers"].([]any)
	if resp.StatusCode != 200 || len(rps) != 1 {
		t.Fatalf("placement %d %v", resp.StatusCode, body)
	}
	uuid := rps[0].(map[string]any)["uuid"].(string)
	resp, body = do("/placement/resource_providers/"+uuid+"/inventories", "")
	inv, _ := body["inventories"].(map[string]any)
	if resp.StatusCode != 200 || inv["VCPU"] == nil {
		t.Fatalf("inventories %d %v", resp.StatusCode, body)
	}
}
