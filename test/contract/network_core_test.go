package contract

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func TestNetworkVersionAndExtensions(t *testing.T) {
	c, _ := newCloud(t)
	r := raw(t, "GET", c.URL+"/network", "", nil, nil)
	if r.Status != http.StatusOK || !json200Has(r.Body, `"v2.0"`) {
		t.Fatalf("version doc: %d %s", r.Status, r.Body)
	}
	sc := netAdmin(t, c)
	pages := must(extensions.List(sc).AllPages(context.Background()))(t)
	exts := must(extensions.ExtractExtensions(pages))(t)
	var aliases []string
	for _, e := range exts {
		aliases = append(aliases, e.Alias)
	}
	for _, want := range []string{"router", "security-group", "quotas", "external-net", "extraroute-atomic", "standard-attr-tag", "revision-if-match"} {
		if !slices.Contains(aliases, want) {
			t.Errorf("extension %s missing from %v", want, aliases)
		}
	}
	_, err := extensions.Get(context.Background(), sc, "no-such-ext").Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func json200Has(b []byte, s string) bool { return contains(string(b), s) }

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestNetworkSubnetPortLifecycle(t *testing.T) {
	c, _ := newCloud(t)
	ctx := context.Background()
	sc, project := netTenant(t, c, "alice")
	n := mkNet(t, sc, "net1")
	if n.ProjectID != project || n.TenantID != project || n.Status != "ACTIVE" || !n.AdminStateUp {
		t.Fatalf("network: %+v", n)
	}
	s := mkSubnet(t, sc, n.ID, "10.1.0.0/24")
	if s.GatewayIP != "10.1.0.1" || len(s.AllocationPools) != 1 || s.AllocationPools[0].Start != "10.1.0.2" || s.AllocationPools[0].End != "10.1.0.254" {
		t.Fatalf("subnet defaults: %+v", s)
	}
	// Overlap on the same network: 400.
	_, err := subnets.Create(ctx, sc, subnets.CreateOpts{NetworkID: n.ID, CIDR: "10.1.0.128/25", IPVersion: gophercloud.IPv4}).Extract()
	wantStatus(t, err, http.StatusBadRequest)

	p := must(ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID, Name: "p1"}).Extract())(t)
	if len(p.FixedIPs) != 1 || p.FixedIPs[0].IPAddress != "10.1.0.2" || p.Status != "DOWN" || len(p.MACAddress) != 17 || p.MACAddress[:8] != "fa:16:3e" {
		t.Fatalf("port: %+v", p)
	}
	if len(p.SecurityGroups) != 1 {
		t.Fatalf("port has no default security group: %+v", p.SecurityGroups)
	}
	// Explicit address: in use → 409, outside → 400.
	_, err = ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID, FixedIPs: []ports.IP{{SubnetID: s.ID, IPAddress: "10.1.0.2"}}}).Extract()
	wantStatus(t, err, http.StatusConflict)
	if typ := neutronType(t, err); typ != "IpAddressAlreadyAllocated" {
		t.Errorf("type %q", typ)
	}
	_, err = ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID, FixedIPs: []ports.IP{{SubnetID: s.ID, IPAddress: "10.9.0.2"}}}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	// Several addresses and an explicit MAC.
	p2 := must(ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID, MACAddress: "fa:16:3e:00:00:01",
		FixedIPs: []ports.IP{{SubnetID: s.ID, IPAddress: "10.1.0.50"}, {SubnetID: s.ID}}}).Extract())(t)
	if len(p2.FixedIPs) != 2 || p2.MACAddress != "fa:16:3e:00:00:01" {
		t.Fatalf("port 2: %+v", p2)
	}
	_, err = ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID, MACAddress: "fa:16:3e:00:00:01"}).Extract()
	wantStatus(t, err, http.StatusConflict)

	// Filters and fields.
	pages := must(ports.List(sc, ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: "10.1.0.50"}}}).AllPages(ctx))(t)
	got := must(ports.ExtractPorts(pages))(t)
	if len(got) != 1 || got[0].ID != p2.ID {
		t.Fatalf("filter by fixed IP: %+v", got)
	}
	r := raw(t, "GET", sc.ResourceBaseURL()+"networks/"+n.ID+"?fields=id&fields=name", sc.TokenID, nil, nil)
	if r.Status != 200 || contains(string(r.Body), "subnets") || !contains(string(r.Body), `"name":"net1"`) {
		t.Fatalf("fields: %s", r.Body)
	}

	// Network with ports → 409 NetworkInUse; a rejected request changes nothing.
	err = networks.Delete(ctx, sc, n.ID).ExtractErr()
	wantStatus(t, err, http.StatusConflict)
	if typ := neutronType(t, err); typ != "NetworkInUse" {
		t.Errorf("type %q", typ)
	}
	must(subnets.Get(ctx, sc, s.ID).Extract())(t)

	// Another project sees nothing: 404.
	other, _ := netTenant(t, c, "mallory")
	_, err = networks.Get(ctx, other, n.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
	_, err = ports.Get(ctx, other, p.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)

	// Update with If-Match.
	name := "renamed"
	_, err = networks.Update(ctx, sc, n.ID, networks.UpdateOpts{Name: &name, RevisionNumber: ptrTo(7)}).Extract()
	wantStatus(t, err, http.StatusPreconditionFailed)
	n2 := must(networks.Update(ctx, sc, n.ID, networks.UpdateOpts{Name: &name, RevisionNumber: ptrTo(0)}).Extract())(t)
	if n2.RevisionNumber != 1 || n2.Name != name {
		t.Fatalf("update: %+v", n2)
	}

	ok(t, ports.Delete(ctx, sc, p.ID).ExtractErr())
	ok(t, ports.Delete(ctx, sc, p2.ID).ExtractErr())
	ok(t, networks.Delete(ctx, sc, n.ID).ExtractErr())
	_, err = subnets.Get(ctx, sc, s.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func ptrTo(i int) *int { return &i }

func TestSubnetIPv6AndOptions(t *testing.T) {
	c, _ := newCloud(t)
	ctx := context.Background()
	sc, _ := netTenant(t, c, "v6")
	n := mkNet(t, sc, "dual")
	v6 := must(subnets.Create(ctx, sc, subnets.CreateOpts{NetworkID: n.ID, CIDR: "2001:db8:1::/64", IPVersion: gophercloud.IPv6,
		IPv6AddressMode: "slaac", IPv6RAMode: "slaac"}).Extract())(t)
	noGW := ""
	v4 := must(subnets.Create(ctx, sc, subnets.CreateOpts{NetworkID: n.ID, CIDR: "192.168.10.0/24", IPVersion: gophercloud.IPv4, GatewayIP: &noGW,
		DNSNameservers: []string{"192.0.2.53"}, HostRoutes: []subnets.HostRoute{{DestinationCIDR: "198.51.100.0/24", NextHop: "192.168.10.254"}},
		AllocationPools: []subnets.AllocationPool{{Start: "192.168.10.100", End: "192.168.10.110"}}}).Extract())(t)
	if v4.GatewayIP != "" || len(v4.DNSNameservers) != 1 || len(v4.HostRoutes) != 1 {
		t.Fatalf("v4 subnet: %+v", v4)
	}
	p := must(ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID}).Extract())(t)
	if len(p.FixedIPs) != 2 {
		t.Fatalf("dual-stack port: %+v", p.FixedIPs)
	}
	for _, ip := range p.FixedIPs {
		if ip.SubnetID == v6.ID && !contains(ip.IPAddress, "f816:3eff:fe") {
			t.Errorf("SLAAC address %s is not EUI-64", ip.IPAddress)
		}
		if ip.SubnetID == v4.ID && ip.IPAddress != "192.168.10.100" {
			t.Errorf("v4 address %s not from the pool", ip.IPAddress)
		}
	}
	// Bad ipv6 mode combination.
	_, err := subnets.Create(ctx, sc, subnets.CreateOpts{NetworkID: n.ID, CIDR: "2001:db8:2::/64", IPVersion: gophercloud.IPv6,
		IPv6AddressMode: "slaac", IPv6RAMode: "dhcpv6-stateful"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
}

// TestConcurrentPortsNoDuplicates creates ports from many goroutines on a
// small subnet: no address is handed out twice and exhaustion is a 409.
func TestConcurrentPortsNoDuplicates(t *testing.T) {
	c, _ := newCloud(t)
	ctx := context.Background()
	sc := netAdmin(t, c)
	n := mkNet(t, sc, "busy")
	mkSubnet(t, sc, n.ID, "10.50.0.0/27") // 29 usable addresses
	var mu sync.Mutex
	seen := map[string]bool{}
	conflicts := 0
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID, Name: fmt.Sprint(i)}).Extract()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if statusOf(err) == http.StatusConflict {
					conflicts++
					return
				}
				t.Errorf("create: %v", err)
				return
			}
			ip := p.FixedIPs[0].IPAddress
			if seen[ip] {
				t.Errorf("%s handed out twice", ip)
			}
			seen[ip] = true
		}()
	}
	wg.Wait()
	if len(seen) != 29 || conflicts != 11 {
		t.Fatalf("got %d ports and %d conflicts, want 29 and 11", len(seen), conflicts)
	}
}

// TestRejectedPortChangesNothing: a port whose second address is taken is
// refused, and its first address stays free.
func TestRejectedPortChangesNothing(t *testing.T) {
	c, _ := newCloud(t)
	ctx := context.Background()
	sc := netAdmin(t, c)
	n := mkNet(t, sc, "atomic")
	s := mkSubnet(t, sc, n.ID, "10.60.0.0/24")
	must(ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID, FixedIPs: []ports.IP{{SubnetID: s.ID, IPAddress: "10.60.0.20"}}}).Extract())(t)
	_, err := ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID, FixedIPs: []ports.IP{{SubnetID: s.ID, IPAddress: "10.60.0.10"}, {SubnetID: s.ID, IPAddress: "10.60.0.20"}}}).Extract()
	wantStatus(t, err, http.StatusConflict)
	p := must(ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID, FixedIPs: []ports.IP{{SubnetID: s.ID, IPAddress: "10.60.0.10"}}}).Extract())(t)
	if p.FixedIPs[0].IPAddress != "10.60.0.10" {
		t.Fatalf("got %+v", p.FixedIPs)
	}
	pages := must(ports.List(sc, ports.ListOpts{NetworkID: n.ID}).AllPages(ctx))(t)
	if got := must(ports.ExtractPorts(pages))(t); len(got) != 2 {
		t.Fatalf("%d ports, want 2", len(got))
	}
}

// TestPortPagination pages through ports with limit and marker.
func TestPortPagination(t *testing.T) {
	c, _ := newCloud(t)
	ctx := context.Background()
	sc := netAdmin(t, c)
	n := mkNet(t, sc, "paged")
	mkSubnet(t, sc, n.ID, "10.61.0.0/24")
	for range 7 {
		must(ports.Create(ctx, sc, ports.CreateOpts{NetworkID: n.ID}).Extract())(t)
	}
	pagesSeen := 0
	total := 0
	err := ports.List(sc, ports.ListOpts{NetworkID: n.ID, Limit: 3, SortKey: "id", SortDir: "asc"}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		got, err := ports.ExtractPorts(p)
		pagesSeen++
		total += len(got)
		return true, err
	})
	ok(t, err)
	if pagesSeen != 3 || total != 7 {
		t.Fatalf("pages %d, ports %d", pagesSeen, total)
	}
}
