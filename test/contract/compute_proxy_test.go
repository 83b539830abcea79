package contract

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/extensions"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/secgroups"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
)

// Nova's proxy APIs (before 2.36): security groups, floating IPs, networks
// proxied to Networking; os-hosts, /extensions, image list filters and
// image metadata.

func getJSON(t *testing.T, sc *gophercloud.ServiceClient, path string, out any) error {
	t.Helper()
	_, err := sc.Get(context.Background(), sc.ServiceURL(path), out, nil)
	return err
}

func postJSON(t *testing.T, sc *gophercloud.ServiceClient, path string, body, out any, codes ...int) error {
	t.Helper()
	_, err := sc.Post(context.Background(), sc.ServiceURL(path), body, out, &gophercloud.RequestOpts{OkCodes: codes})
	return err
}

func TestComputeProxy_SecurityGroups(t *testing.T) {
	c, sc, img := serversCloud(t, "2.35")
	ctx := context.Background()

	g := must(secgroups.Create(ctx, sc, secgroups.CreateOpts{Name: " web ", Description: "web servers"}).Extract())(t)
	if g.Name != " web " || g.Description != "web servers" || len(g.Rules) != 0 || g.TenantID == "" {
		t.Fatalf("created group = %+v (egress rules must not show)", g)
	}
	peer := must(secgroups.Create(ctx, sc, secgroups.CreateOpts{Name: "peer", Description: "p"}).Extract())(t)

	var tcp struct {
		R struct {
			ID      string            `json:"id"`
			Parent  string            `json:"parent_group_id"`
			IPRange map[string]string `json:"ip_range"`
			From    int               `json:"from_port"`
		} `json:"security_group_rule"`
	}
	ok(t, postJSON(t, sc, "os-security-group-rules", map[string]any{"security_group_rule": map[string]any{
		"parent_group_id": g.ID, "ip_protocol": "tcp", "from_port": 22, "to_port": 22}}, &tcp, 200))
	r1 := tcp.R
	if r1.Parent != g.ID || r1.IPRange["cidr"] != "0.0.0.0/0" || r1.From != 22 {
		t.Fatalf("tcp rule = %+v", r1)
	}
	var icmp map[string]map[string]any
	ok(t, postJSON(t, sc, "os-security-group-rules", map[string]any{"security_group_rule": map[string]any{
		"parent_group_id": g.ID, "ip_protocol": "icmp", "from_port": -1, "to_port": -1, "cidr": "10.0.0.0/8"}}, &icmp, 200))
	if r := icmp["security_group_rule"]; r["from_port"] != nil || r["to_port"] != nil || r["ip_range"].(map[string]any)["cidr"] != "10.0.0.0/8" {
		t.Fatalf("icmp rule = %+v", r)
	}
	r3 := must(secgroups.CreateRule(ctx, sc, secgroups.CreateRuleOpts{ParentGroupID: g.ID, IPProtocol: "udp", FromPort: 53, ToPort: 53, FromGroupID: peer.ID}).Extract())(t)
	if r3.Group.Name != "peer" || r3.Group.TenantID != g.TenantID || r3.IPRange.CIDR != "" {
		t.Fatalf("group rule = %+v", r3)
	}
	// Duplicates, bad ports and protocols, a missing parent.
	_, err := secgroups.CreateRule(ctx, sc, secgroups.CreateRuleOpts{ParentGroupID: g.ID, IPProtocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = secgroups.CreateRule(ctx, sc, secgroups.CreateRuleOpts{ParentGroupID: g.ID, IPProtocol: "tcp", FromPort: 22, ToPort: 21, CIDR: "0.0.0.0/0"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = secgroups.CreateRule(ctx, sc, secgroups.CreateRuleOpts{ParentGroupID: g.ID, IPProtocol: "tcp", FromPort: 22, ToPort: 70000, CIDR: "0.0.0.0/0"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = secgroups.CreateRule(ctx, sc, secgroups.CreateRuleOpts{ParentGroupID: g.ID, IPProtocol: "999", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = secgroups.CreateRule(ctx, sc, secgroups.CreateRuleOpts{ParentGroupID: "not-a-uuid", IPProtocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = secgroups.CreateRule(ctx, sc, secgroups.CreateRuleOpts{ParentGroupID: "6b3c3c5e-8d5e-4b43-9d47-7d2f5a9b0c11", IPProtocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0"}).Extract()
	wantStatus(t, err, http.StatusNotFound)

	got := must(secgroups.Get(ctx, sc, g.ID).Extract())(t)
	if len(got.Rules) != 3 {
		t.Fatalf("rules = %+v, want the three ingress rules", got.Rules)
	}
	ok(t, secgroups.DeleteRule(ctx, sc, r1.ID).ExtractErr())
	wantStatus(t, secgroups.DeleteRule(ctx, sc, r1.ID).ExtractErr(), http.StatusNotFound)

	up := must(secgroups.Update(ctx, sc, g.ID, secgroups.UpdateOpts{Name: "web2", Description: ptr("new")}).Extract())(t)
	if up.Name != "web2" || up.Description != "new" {
		t.Fatalf("updated = %+v", up)
	}
	_, err = secgroups.Create(ctx, sc, secgroups.CreateOpts{Name: string(make([]byte, 256)), Description: "x"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)

	all := must(secgroups.ExtractSecurityGroups(must(secgroups.List(sc).AllPages(ctx))(t)))(t)
	names := map[string]string{}
	for _, x := range all {
		names[x.Name] = x.ID
	}
	if names["web2"] != g.ID || names["peer"] != peer.ID || names["default"] == "" {
		t.Fatalf("list = %+v", names)
	}
	wantStatus(t, secgroups.Delete(ctx, sc, "6b3c3c5e-8d5e-4b43-9d47-7d2f5a9b0c11").ExtractErr(), http.StatusNotFound)
	_, err = secgroups.Get(ctx, sc, "6b3c3c5e-8d5e-4b43-9d47-7d2f5a9b0c11").Extract()
	wantStatus(t, err, http.StatusNotFound)

	// A server's groups come from its ports; a group in use is 400.
	nc := netAdmin(t, c)
	n := mkNet(t, nc, "sg-net")
	mkSubnet(t, nc, n.ID, "10.30.0.0/24")
	sv := must(servers.Create(ctx, sc, servers.CreateOpts{Name: "sg1", ImageRef: img, FlavorRef: "42", Networks: []servers.Network{{UUID: n.ID}}}, nil).Extract())(t)
	waitStatus(t, sc, sv.ID, "ACTIVE")
	ok(t, secgroups.AddServer(ctx, sc, sv.ID, "web2").ExtractErr())
	mine := must(secgroups.ExtractSecurityGroups(must(secgroups.ListByServer(sc, sv.ID).AllPages(ctx))(t)))(t)
	found := false
	for _, x := range mine {
		found = found || x.ID == g.ID
	}
	if !found || len(mine) != 2 {
		t.Fatalf("server groups = %+v, want default and web2", mine)
	}
	wantStatus(t, secgroups.Delete(ctx, sc, g.ID).ExtractErr(), http.StatusBadRequest)
	ok(t, secgroups.Delete(ctx, sc, peer.ID).ExtractErr())

	// Gone at 2.36; the server's list stays.
	sc36 := computeClient(t, c, "2.36")
	_, err = secgroups.Get(ctx, sc36, g.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
	_, err = secgroups.ListByServer(sc36, sv.ID).AllPages(ctx)
	ok(t, err)
}

func TestComputeProxy_FloatingIPs(t *testing.T) {
	c, sc, img := serversCloud(t, "2.35")
	ctx := context.Background()
	nc := netAdmin(t, c)

	var pools struct {
		Pools []struct{ Name string } `json:"floating_ip_pools"`
	}
	ok(t, getJSON(t, sc, "os-floating-ip-pools", &pools))
	if len(pools.Pools) != 1 || pools.Pools[0].Name != "public" {
		t.Fatalf("pools = %+v", pools)
	}
	type fip struct {
		ID         string  `json:"id"`
		IP         string  `json:"ip"`
		Pool       *string `json:"pool"`
		FixedIP    *string `json:"fixed_ip"`
		InstanceID *string `json:"instance_id"`
	}
	var made struct {
		F fip `json:"floating_ip"`
	}
	ok(t, postJSON(t, sc, "os-floating-ips", map[string]string{"pool": "public"}, &made, 200))
	if made.F.IP == "" || made.F.Pool == nil || *made.F.Pool != "public" || made.F.FixedIP != nil || made.F.InstanceID != nil {
		t.Fatalf("allocated = %+v", made.F)
	}
	wantStatus(t, postJSON(t, sc, "os-floating-ips", map[string]string{"pool": "nope"}, nil, 200), http.StatusNotFound)
	var def struct {
		F fip `json:"floating_ip"`
	}
	ok(t, postJSON(t, sc, "os-floating-ips", nil, &def, 200)) // the default pool
	var shown struct {
		F fip `json:"floating_ip"`
	}
	ok(t, getJSON(t, sc, "os-floating-ips/"+made.F.ID, &shown))
	if shown.F.ID != made.F.ID || shown.F.IP != made.F.IP {
		t.Fatalf("shown = %+v", shown.F)
	}
	var list struct {
		L []fip `json:"floating_ips"`
	}
	ok(t, getJSON(t, sc, "os-floating-ips", &list))
	if len(list.L) != 2 {
		t.Fatalf("list = %+v", list.L)
	}

	// Associate with a server whose network routes to public.
	n := mkNet(t, nc, "fip-net")
	sn := mkSubnet(t, nc, n.ID, "10.40.0.0/24")
	pub := must(networks.ExtractNetworks(must(networks.List(nc, networks.ListOpts{Name: "public"}).AllPages(ctx))(t)))(t)[0]
	r := must(routers.Create(ctx, nc, routers.CreateOpts{Name: "r", GatewayInfo: &routers.GatewayInfo{NetworkID: pub.ID}}).Extract())(t)
	must(routers.AddInterface(ctx, nc, r.ID, routers.AddInterfaceOpts{SubnetID: sn.ID}).Extract())(t)
	sv := must(servers.Create(ctx, sc, servers.CreateOpts{Name: "f1", ImageRef: img, FlavorRef: "42", Networks: []servers.Network{{UUID: n.ID}}}, nil).Extract())(t)
	waitStatus(t, sc, sv.ID, "ACTIVE")
	action := func(body map[string]any) error {
		return postJSON(t, sc, "servers/"+sv.ID+"/action", body, nil, 202)
	}
	ok(t, action(map[string]any{"addFloatingIp": map[string]string{"address": made.F.IP}}))
	ok(t, getJSON(t, sc, "os-floating-ips/"+made.F.ID, &shown))
	if shown.F.InstanceID == nil || *shown.F.InstanceID != sv.ID || shown.F.FixedIP == nil {
		t.Fatalf("associated = %+v", shown.F)
	}
	// The server's addresses show the floating IP after the fixed one, on
	// the port's network (show, detail list, /ips), as Nova's cache does.
	addrs := func(v map[string]any) []any { a, _ := v["addresses"].(map[string]any)["fip-net"].([]any); return a }
	detail := serverDetail(t, sc, sv.ID)
	var listed struct {
		S []map[string]any `json:"servers"`
	}
	ok(t, getJSON(t, sc, "servers/detail?name=^f1$", &listed))
	var ips struct {
		A map[string]any `json:"addresses"`
	}
	ok(t, getJSON(t, sc, "servers/"+sv.ID+"/ips", &ips))
	for what, got := range map[string][]any{"show": addrs(detail), "detail list": addrs(listed.S[0]), "ips": addrs(map[string]any{"addresses": ips.A})} {
		if len(got) != 2 || got[1].(map[string]any)["addr"] != made.F.IP || got[0].(map[string]any)["addr"] != *shown.F.FixedIP {
			t.Fatalf("%s addresses = %+v, want the fixed then the floating %s", what, got, made.F.IP)
		}
	}
	if fl := addrs(detail)[1].(map[string]any); fl["OS-EXT-IPS:type"] != "floating" || fl["OS-EXT-IPS-MAC:mac_addr"] != addrs(detail)[0].(map[string]any)["OS-EXT-IPS-MAC:mac_addr"] {
		t.Fatalf("floating address = %+v", fl)
	}
	// A second floating IP on the same port is 400; unknown addresses 404.
	wantStatus(t, action(map[string]any{"addFloatingIp": map[string]string{"address": def.F.IP}}), http.StatusBadRequest)
	wantStatus(t, action(map[string]any{"addFloatingIp": map[string]string{"address": "0.0.0.0"}}), http.StatusNotFound)
	wantStatus(t, action(map[string]any{"removeFloatingIp": map[string]string{"address": "0.0.0.0"}}), http.StatusNotFound)
	wantStatus(t, action(map[string]any{"removeFloatingIp": map[string]string{"address": def.F.IP}}), http.StatusConflict)
	ok(t, action(map[string]any{"removeFloatingIp": map[string]string{"address": made.F.IP}}))
	if got := addrs(serverDetail(t, sc, sv.ID)); len(got) != 1 {
		t.Fatalf("addresses after removeFloatingIp = %+v", got)
	}
	ok(t, getJSON(t, sc, "os-floating-ips/"+made.F.ID, &shown))
	if shown.F.InstanceID != nil || shown.F.FixedIP != nil {
		t.Fatalf("disassociated = %+v", shown.F)
	}

	_, err := sc.Delete(ctx, sc.ServiceURL("os-floating-ips", made.F.ID), &gophercloud.RequestOpts{OkCodes: []int{202}})
	ok(t, err)
	wantStatus(t, getJSON(t, sc, "os-floating-ips/"+made.F.ID, &shown), http.StatusNotFound)
	sc44 := computeClient(t, c, "2.44")
	wantStatus(t, postJSON(t, sc44, "servers/"+sv.ID+"/action", map[string]any{"addFloatingIp": map[string]string{"address": def.F.IP}}, nil, 202), http.StatusNotFound)
	wantStatus(t, getJSON(t, computeClient(t, c, "2.36"), "os-floating-ips", &list), http.StatusNotFound)
}

func TestComputeProxy_NetworksHostsExtensions(t *testing.T) {
	c, sc, _ := serversCloud(t, "2.35")
	ctx := context.Background()
	nc := netAdmin(t, c)
	n := mkNet(t, nc, "legacy-net")

	var nets struct {
		N []map[string]any `json:"networks"`
	}
	ok(t, getJSON(t, sc, "os-networks", &nets))
	labels := map[string]bool{}
	for _, x := range nets.N {
		labels[x["label"].(string)] = true
		if _, ok := x["cidr"]; !ok {
			t.Fatalf("network view = %+v", x)
		}
	}
	if !labels["legacy-net"] || !labels["public"] {
		t.Fatalf("networks = %+v", nets.N)
	}
	var one struct {
		N map[string]any `json:"network"`
	}
	ok(t, getJSON(t, sc, "os-networks/"+n.ID, &one))
	if one.N["id"] != n.ID || one.N["label"] != "legacy-net" {
		t.Fatalf("network = %+v", one.N)
	}
	wantStatus(t, getJSON(t, sc, "os-networks/6b3c3c5e-8d5e-4b43-9d47-7d2f5a9b0c11", &one), http.StatusNotFound)
	ok(t, getJSON(t, sc, "os-tenant-networks/"+n.ID, &one))
	if one.N["cidr"] != "None" || one.N["label"] != "legacy-net" {
		t.Fatalf("tenant network = %+v", one.N)
	}

	// os-hosts: the enabled services by host; a compute host's resources.
	var hosts struct {
		H []map[string]string `json:"hosts"`
	}
	ok(t, getJSON(t, sc, "os-hosts", &hosts))
	compute := ""
	for _, h := range hosts.H {
		if h["service"] == "compute" {
			compute = h["host_name"]
		}
	}
	if len(hosts.H) < 2 || compute == "" {
		t.Fatalf("hosts = %+v", hosts.H)
	}
	ok(t, getJSON(t, sc, "os-hosts?zone=xxx", &hosts))
	if len(hosts.H) != 0 {
		t.Fatalf("hosts in zone xxx = %+v", hosts.H)
	}
	var detail struct {
		H []struct {
			R map[string]any `json:"resource"`
		} `json:"host"`
	}
	ok(t, getJSON(t, sc, "os-hosts/"+compute, &detail))
	if len(detail.H) < 3 || detail.H[0].R["project"] != "(total)" || detail.H[0].R["host"] != compute {
		t.Fatalf("host detail = %+v", detail.H)
	}
	wantStatus(t, getJSON(t, sc, "os-hosts/nonexistent", &detail), http.StatusNotFound)
	wantStatus(t, getJSON(t, sc, "os-hosts/"+compute+"/reboot", &detail), http.StatusNotImplemented)
	_, err := sc.Put(ctx, sc.ServiceURL("os-hosts", compute), map[string]string{"status": "invalid"}, nil, &gophercloud.RequestOpts{OkCodes: []int{200}})
	wantStatus(t, err, http.StatusBadRequest)
	member := newTenant(t, c.Admin(t), "hosts-user", "member").client(t, c)
	msc := computeClient(t, c, "2.35")
	msc.ProviderClient = member.ProviderClient
	wantStatus(t, getJSON(t, msc, "os-hosts", &hosts), http.StatusForbidden)
	wantStatus(t, getJSON(t, computeClient(t, c, "2.43"), "os-hosts", &hosts), http.StatusNotFound)

	// Extensions.
	exts := must(extensions.ExtractExtensions(must(extensions.List(sc).AllPages(ctx))(t)))(t)
	var hostsExt bool
	for _, e := range exts {
		hostsExt = hostsExt || e.Name == "Hosts" && e.Alias == "os-hosts"
	}
	if !hostsExt || len(exts) < 90 {
		t.Fatalf("extensions = %d, Hosts present %v", len(exts), hostsExt)
	}
	e := must(extensions.Get(ctx, sc, "os-consoles").Extract())(t)
	if e.Alias != "os-consoles" || e.Name != "Consoles" {
		t.Fatalf("extension = %+v", e)
	}
	_, err = extensions.Get(ctx, sc, "nope").Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func TestComputeProxy_ImageFiltersAndMetadata(t *testing.T) {
	c, sc, img := serversCloud(t, "2.35")
	ctx := context.Background()
	ic := imageClient(t, c, c.AdminOptions())
	other := must(images.Create(ctx, ic, images.CreateOpts{Name: "other", DiskFormat: "raw", ContainerFormat: "bare", MinRAM: 512,
		Properties: map[string]string{"image_type": "snapshot", "os": "linux"}}).Extract())(t)

	type imgList struct {
		I []map[string]any `json:"images"`
	}
	ids := func(path string) []string {
		var l imgList
		ok(t, getJSON(t, sc, path, &l))
		var out []string
		for _, x := range l.I {
			out = append(out, x["id"].(string))
		}
		return out
	}
	if got := ids("images?name=other"); len(got) != 1 || got[0] != other.ID {
		t.Fatalf("name filter = %v", got)
	}
	if got := ids("images/detail?status=ACTIVE"); len(got) != 1 || got[0] != img {
		t.Fatalf("status filter = %v", got)
	}
	if got := ids("images?type=snapshot"); len(got) != 1 || got[0] != other.ID {
		t.Fatalf("type filter = %v", got)
	}
	if got := ids("images?minRam=256"); len(got) != 1 || got[0] != other.ID {
		t.Fatalf("minRam filter = %v", got)
	}
	if got := ids("images?limit=1"); len(got) != 1 {
		t.Fatalf("limit = %v", got)
	}
	if got := ids("images?changes-since=2000-01-01T00:00:00Z"); len(got) != 2 {
		t.Fatalf("changes-since = %v", got)
	}

	var md struct {
		M map[string]string `json:"metadata"`
	}
	ok(t, getJSON(t, sc, "images/"+other.ID+"/metadata", &md))
	if md.M["os"] != "linux" {
		t.Fatalf("metadata = %+v", md.M)
	}
	ok(t, postJSON(t, sc, "images/"+other.ID+"/metadata", map[string]any{"metadata": map[string]string{"k1": "v1"}}, &md, 200))
	if md.M["k1"] != "v1" || md.M["os"] != "linux" {
		t.Fatalf("merged metadata = %+v", md.M)
	}
	_, err := sc.Put(ctx, sc.ServiceURL("images", other.ID, "metadata"), map[string]any{"metadata": map[string]string{"k2": "v2"}}, &md, &gophercloud.RequestOpts{OkCodes: []int{200}})
	ok(t, err)
	md.M = nil
	ok(t, getJSON(t, sc, "images/"+other.ID+"/metadata", &md))
	if len(md.M) != 1 || md.M["k2"] != "v2" {
		t.Fatalf("replaced metadata = %+v", md.M)
	}
	var meta struct {
		M map[string]string `json:"meta"`
	}
	_, err = sc.Put(ctx, sc.ServiceURL("images", other.ID, "metadata", "k3"), map[string]any{"meta": map[string]string{"k3": "v3"}}, &meta, &gophercloud.RequestOpts{OkCodes: []int{200}})
	ok(t, err)
	ok(t, getJSON(t, sc, "images/"+other.ID+"/metadata/k3", &meta))
	if meta.M["k3"] != "v3" {
		t.Fatalf("meta = %+v", meta.M)
	}
	_, err = sc.Put(ctx, sc.ServiceURL("images", other.ID, "metadata", "k3"), map[string]any{"meta": map[string]string{"k4": "v"}}, &meta, &gophercloud.RequestOpts{OkCodes: []int{200}})
	wantStatus(t, err, http.StatusBadRequest)
	_, err = sc.Delete(ctx, sc.ServiceURL("images", other.ID, "metadata", "k3"), &gophercloud.RequestOpts{OkCodes: []int{204}})
	ok(t, err)
	wantStatus(t, getJSON(t, sc, "images/"+other.ID+"/metadata/k3", &meta), http.StatusNotFound)
	wantStatus(t, getJSON(t, sc, "images/6b3c3c5e-8d5e-4b43-9d47-7d2f5a9b0c11/metadata", &md), http.StatusNotFound)
	wantStatus(t, getJSON(t, computeClient(t, c, "2.39"), "images/"+other.ID+"/metadata", &md), http.StatusNotFound)
}
