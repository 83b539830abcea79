package contract

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

func TestRoutersAndFloatingIPs(t *testing.T) {
	c, _ := newCloud(t)
	ctx := context.Background()
	sc, project := netTenant(t, c, "l3")
	pages := must(networks.List(sc, networks.ListOpts{Name: "public"}).AllPages(ctx))(t)
	nets := must(networks.ExtractNetworks(pages))(t)
	if len(nets) != 1 {
		t.Fatalf("bootstrapped public network visible to tenants: %+v", nets)
	}
	public := nets[0].ID

	n := mkNet(t, sc, "private")
	s := mkSubnet(t, sc, n.ID, "10.2.0.0/24")
	port := must(ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID}).Extract())(t)

	// A floating IP on a port with no route to the external network: 404.
	fip := must(floatingips.Create(ctx, sc, floatingips.CreateOpts{FloatingNetworkID: public}).Extract())(t)
	if fip.ProjectID != project || fip.Status != "DOWN" || fip.FloatingIP == "" {
		t.Fatalf("fip: %+v", fip)
	}
	_, err := floatingips.Update(ctx, sc, fip.ID, floatingips.UpdateOpts{PortID: &port.ID}).Extract()
	wantStatus(t, err, http.StatusNotFound)
	if typ := neutronType(t, err); typ != "ExternalGatewayForFloatingIPNotFound" {
		t.Errorf("type %q", typ)
	}

	r := must(routers.Create(ctx, sc, routers.CreateOpts{Name: "r1", GatewayInfo: &routers.GatewayInfo{NetworkID: public}}).Extract())(t)
	if r.GatewayInfo.NetworkID != public || len(r.GatewayInfo.ExternalFixedIPs) != 1 || !*r.GatewayInfo.EnableSNAT {
		t.Fatalf("router gateway: %+v", r.GatewayInfo)
	}
	info := must(routers.AddInterface(ctx, sc, r.ID, routers.AddInterfaceOpts{SubnetID: s.ID}).Extract())(t)
	leg := must(ports.Get(ctx, sc, info.PortID).Extract())(t)
	if leg.DeviceOwner != "network:router_interface" || leg.DeviceID != r.ID || leg.FixedIPs[0].IPAddress != "10.2.0.1" {
		t.Fatalf("router leg: %+v", leg)
	}
	// Subnet with a router interface: 409.
	wantStatus(t, subnets.Delete(ctx, sc, s.ID).ExtractErr(), http.StatusConflict)

	f2 := must(floatingips.Update(ctx, sc, fip.ID, floatingips.UpdateOpts{PortID: &port.ID}).Extract())(t)
	if f2.PortID != port.ID || f2.FixedIP != port.FixedIPs[0].IPAddress || f2.RouterID != r.ID {
		t.Fatalf("associated fip: %+v", f2)
	}
	// Static routes and the extraroute-atomic calls.
	routes := []routers.Route{{DestinationCIDR: "198.51.100.0/24", NextHop: "10.2.0.9"}}
	r2 := must(routers.Update(ctx, sc, r.ID, routers.UpdateOpts{Routes: &routes}).Extract())(t)
	if len(r2.Routes) != 1 {
		t.Fatalf("routes: %+v", r2.Routes)
	}
	bad := []routers.Route{{DestinationCIDR: "203.0.113.0/24", NextHop: "10.99.0.1"}}
	_, err = routers.Update(ctx, sc, r.ID, routers.UpdateOpts{Routes: &bad}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	x := raw(t, "PUT", sc.ResourceBaseURL()+"routers/"+r.ID+"/add_extraroutes", sc.TokenID, []byte(`{"router":{"routes":[{"destination":"203.0.113.0/24","nexthop":"10.2.0.10"}]}}`), nil)
	if x.Status != 200 || !contains(string(x.Body), "203.0.113.0/24") || !contains(string(x.Body), "198.51.100.0/24") {
		t.Fatalf("add_extraroutes: %d %s", x.Status, x.Body)
	}
	x = raw(t, "PUT", sc.ResourceBaseURL()+"routers/"+r.ID+"/remove_extraroutes", sc.TokenID, []byte(`{"router":{"routes":[{"destination":"198.51.100.0/24","nexthop":"10.2.0.9"}]}}`), nil)
	if x.Status != 200 || contains(string(x.Body), "198.51.100.0/24") {
		t.Fatalf("remove_extraroutes: %d %s", x.Status, x.Body)
	}
	// Router with interfaces: 409 on delete.
	wantStatus(t, routers.Delete(ctx, sc, r.ID).ExtractErr(), http.StatusConflict)

	// Tear down in order.
	ok(t, floatingips.Delete(ctx, sc, fip.ID).ExtractErr())
	// routes: null clears them (Tempest's way).
	if x := raw(t, "PUT", sc.ResourceBaseURL()+"routers/"+r.ID, sc.TokenID, []byte(`{"router":{"routes":null}}`), nil); x.Status != 200 || !contains(string(x.Body), `"routes":[]`) {
		t.Fatalf("clear routes: %d %s", x.Status, x.Body)
	}
	must(routers.RemoveInterface(ctx, sc, r.ID, routers.RemoveInterfaceOpts{SubnetID: s.ID}).Extract())(t)
	_, err = ports.Get(ctx, sc, leg.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
	ok(t, routers.Delete(ctx, sc, r.ID).ExtractErr())
	ok(t, ports.Delete(ctx, sc, port.ID).ExtractErr())
	ok(t, networks.Delete(ctx, sc, n.ID).ExtractErr())

	// Gateway on a non-external network: 400; on a missing one: 404.
	n2 := mkNet(t, sc, "internal")
	_, err = routers.Create(ctx, sc, routers.CreateOpts{GatewayInfo: &routers.GatewayInfo{NetworkID: n2.ID}}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = routers.Create(ctx, sc, routers.CreateOpts{GatewayInfo: &routers.GatewayInfo{NetworkID: "00000000-0000-0000-0000-000000000000"}}).Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func TestPortForwardings(t *testing.T) {
	c, _ := newCloud(t)
	ctx := context.Background()
	sc, _ := netTenant(t, c, "pf")
	nets := must(networks.ExtractNetworks(must(networks.List(sc, networks.ListOpts{Name: "public"}).AllPages(ctx))(t)))(t)
	public := nets[0].ID
	n := mkNet(t, sc, "inside")
	s := mkSubnet(t, sc, n.ID, "10.3.0.0/24")
	r := must(routers.Create(ctx, sc, routers.CreateOpts{GatewayInfo: &routers.GatewayInfo{NetworkID: public}}).Extract())(t)
	must(routers.AddInterface(ctx, sc, r.ID, routers.AddInterfaceOpts{SubnetID: s.ID}).Extract())(t)
	port := must(ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID}).Extract())(t)
	fip := must(floatingips.Create(ctx, sc, floatingips.CreateOpts{FloatingNetworkID: public}).Extract())(t)
	base := sc.ResourceBaseURL() + "floatingips/" + fip.ID + "/port_forwardings"
	body := []byte(`{"port_forwarding":{"protocol":"tcp","internal_ip_address":"` + port.FixedIPs[0].IPAddress + `","internal_port":22,"internal_port_id":"` + port.ID + `","external_port":2222}}`)
	if x := raw(t, "POST", base, sc.TokenID, body, nil); x.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", x.Status, x.Body)
	}
	if x := raw(t, "POST", base, sc.TokenID, body, nil); x.Status != http.StatusBadRequest {
		t.Fatalf("duplicate: %d %s", x.Status, x.Body)
	}
	_, err := floatingips.Update(ctx, sc, fip.ID, floatingips.UpdateOpts{PortID: &port.ID}).Extract()
	wantStatus(t, err, http.StatusConflict)
	if x := raw(t, "GET", base, sc.TokenID, nil, nil); x.Status != 200 || !contains(string(x.Body), `"external_port":2222`) {
		t.Fatalf("list: %d %s", x.Status, x.Body)
	}
	ok(t, floatingips.Delete(ctx, sc, fip.ID).ExtractErr())
}
