package contract

import (
	"context"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// waitPort polls a port until cond holds.
func waitPort(t *testing.T, nc *gophercloud.ServiceClient, id string, what string, cond func(*ports.Port, error) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := ports.Get(context.Background(), nc, id).Extract()
		if cond(p, err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %s: %s not reached (port %+v, err %v)", id, what, p, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCompute_ServerPorts(t *testing.T) {
	c, sc, img := serversCloud(t, "2.47")
	ctx := context.Background()
	nc := netAdmin(t, c)
	n := mkNet(t, nc, "tenant-net")
	sn := mkSubnet(t, nc, n.ID, "10.20.0.0/24")
	cidr := netip.MustParsePrefix(sn.CIDR)

	// A server on the network gets an address from the subnet and a port
	// bound to it.
	sv := must(servers.Create(ctx, sc, servers.CreateOpts{Name: "p1", ImageRef: img, FlavorRef: "42",
		Networks: []servers.Network{{UUID: n.ID}}, SecurityGroups: []string{"default"}}, nil).Extract())(t)
	sv = waitStatus(t, sc, sv.ID, "ACTIVE")
	addrs, _ := sv.Addresses[n.Name].([]any)
	if len(addrs) != 1 {
		t.Fatalf("addresses = %+v, want one on %s", sv.Addresses, n.Name)
	}
	a := addrs[0].(map[string]any)
	ip := netip.MustParseAddr(a["addr"].(string))
	if !cidr.Contains(ip) || a["OS-EXT-IPS:type"] != "fixed" || a["OS-EXT-IPS-MAC:mac_addr"] == "" || a["version"].(float64) != 4 {
		t.Fatalf("address = %+v", a)
	}
	list := must(ports.List(nc, ports.ListOpts{DeviceID: sv.ID}).AllPages(ctx))(t)
	made := must(ports.ExtractPorts(list))(t)
	if len(made) != 1 || made[0].DeviceOwner != "compute:nova" || made[0].FixedIPs[0].IPAddress != ip.String() || made[0].MACAddress != a["OS-EXT-IPS-MAC:mac_addr"] {
		t.Fatalf("server ports = %+v", made)
	}
	waitPort(t, nc, made[0].ID, "bound to a host", func(_ *ports.Port, err error) bool {
		var w struct {
			P map[string]any `json:"port"`
		}
		return err == nil && ports.Get(ctx, nc, made[0].ID).ExtractInto(&w) == nil && w.P["binding:host_id"] != ""
	})

	// A pre-existing port and a fixed IP on the same network.
	pre := must(ports.Create(ctx, nc, ports.CreateOpts{NetworkID: n.ID, Name: "pre"}).Extract())(t)
	sv2 := must(servers.Create(ctx, sc, servers.CreateOpts{Name: "p2", ImageRef: img, FlavorRef: "42",
		Networks: []servers.Network{{Port: pre.ID}, {UUID: n.ID, FixedIP: "10.20.0.77"}}}, nil).Extract())(t)
	sv2 = waitStatus(t, sc, sv2.ID, "ACTIVE")
	if addrs, _ := sv2.Addresses[n.Name].([]any); len(addrs) != 2 {
		t.Fatalf("addresses = %+v, want two", sv2.Addresses)
	}
	if p := must(ports.Get(ctx, nc, pre.ID).Extract())(t); p.DeviceID != sv2.ID {
		t.Fatalf("pre-existing port device_id = %q", p.DeviceID)
	}
	// The port is in use now; the fixed IP too (Nova: 409, 400).
	_, err := servers.Create(ctx, sc, servers.CreateOpts{Name: "x", ImageRef: img, FlavorRef: "42", Networks: []servers.Network{{Port: pre.ID}}}, nil).Extract()
	wantStatus(t, err, http.StatusConflict)
	_, err = servers.Create(ctx, sc, servers.CreateOpts{Name: "x", ImageRef: img, FlavorRef: "42", Networks: []servers.Network{{UUID: n.ID, FixedIP: "10.20.0.77"}}}, nil).Extract()
	wantStatus(t, err, http.StatusBadRequest)

	// Bad network, port and security group: 400.
	for _, nw := range []servers.Network{{UUID: "6f2e2fd0-7a39-4cdc-8fa1-59e9b3c1f6a1"}, {Port: "6f2e2fd0-7a39-4cdc-8fa1-59e9b3c1f6a1"}} {
		_, err = servers.Create(ctx, sc, servers.CreateOpts{Name: "x", ImageRef: img, FlavorRef: "42", Networks: []servers.Network{nw}}, nil).Extract()
		wantStatus(t, err, http.StatusBadRequest)
	}
	_, err = servers.Create(ctx, sc, servers.CreateOpts{Name: "x", ImageRef: img, FlavorRef: "42", Networks: []servers.Network{{UUID: n.ID}}, SecurityGroups: []string{"nope"}}, nil).Extract()
	wantStatus(t, err, http.StatusBadRequest)

	// "auto": the project's only usable network (the public one is external).
	sv3 := must(servers.Create(ctx, sc, servers.CreateOpts{Name: "p3", ImageRef: img, FlavorRef: "42", Networks: "auto"}, nil).Extract())(t)
	sv3 = waitStatus(t, sc, sv3.ID, "ACTIVE")
	if addrs, _ := sv3.Addresses[n.Name].([]any); len(addrs) != 1 {
		t.Fatalf("auto addresses = %+v", sv3.Addresses)
	}
	mkNet(t, nc, "second")
	_, err = servers.Create(ctx, sc, servers.CreateOpts{Name: "x", ImageRef: img, FlavorRef: "42", Networks: "auto"}, nil).Extract()
	wantStatus(t, err, http.StatusConflict)

	// Deleting the servers deletes the ports Nova made and unbinds the
	// pre-existing one.
	for _, id := range []string{sv.ID, sv2.ID, sv3.ID} {
		ok(t, servers.Delete(ctx, sc, id).ExtractErr())
	}
	waitPort(t, nc, made[0].ID, "deleted", func(_ *ports.Port, err error) bool { return gophercloud.ResponseCodeIs(err, http.StatusNotFound) })
	waitPort(t, nc, pre.ID, "unbound", func(p *ports.Port, err error) bool { return err == nil && p.DeviceID == "" && p.DeviceOwner == "" })
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := must(ports.ExtractPorts(must(ports.List(nc, ports.ListOpts{NetworkID: n.ID}).AllPages(ctx))(t)))(t)
		if len(left) == 1 && left[0].ID == pre.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ports left on the network = %+v, want only the pre-existing one", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCompute_DefaultNetworkBefore237: with no networks before 2.37 Nova
// picks the project's one network, refuses to guess among several (409)
// and makes no port when there is none.
func TestCompute_DefaultNetworkBefore237(t *testing.T) {
	c, sc, img := serversCloud(t, "2.1")
	ctx := context.Background()
	nc := netAdmin(t, c)

	// No network of the project's own (public is external): no port.
	sv := must(servers.Create(ctx, sc, servers.CreateOpts{Name: "none", ImageRef: img, FlavorRef: "42"}, nil).Extract())(t)
	sv = waitStatus(t, sc, sv.ID, "ACTIVE")
	if len(sv.Addresses) != 0 {
		t.Fatalf("no network to choose, yet addresses %+v", sv.Addresses)
	}

	n := mkNet(t, nc, "only-net")
	mkSubnet(t, nc, n.ID, "10.21.0.0/24")
	sv = must(servers.Create(ctx, sc, servers.CreateOpts{Name: "one", ImageRef: img, FlavorRef: "42"}, nil).Extract())(t)
	sv = waitStatus(t, sc, sv.ID, "ACTIVE")
	if addrs, _ := sv.Addresses[n.Name].([]any); len(addrs) != 1 {
		t.Fatalf("one network: addresses %+v, want one on %s", sv.Addresses, n.Name)
	}

	n2 := mkNet(t, nc, "second-net")
	mkSubnet(t, nc, n2.ID, "10.22.0.0/24")
	_, err := servers.Create(ctx, sc, servers.CreateOpts{Name: "two", ImageRef: img, FlavorRef: "42"}, nil).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("two networks: %v, want 409", err)
	}
}
