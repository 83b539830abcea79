//go:build netns

package dhcp

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/linux"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns/netnstest"
)

// TestServer_LeaseToUdhcpc serves a lease from a DHCP namespace on a
// bridge to busybox udhcpc in a client namespace on the same bridge.
func TestServer_LeaseToUdhcpc(t *testing.T) {
	netnstest.RequireRoot(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed (apt-get install busybox-static)")
	}
	ctx := t.Context()
	p := netnstest.Prefix(t)
	netnstest.NewNS(t, p+"host")
	d := linux.New(linux.Config{HostNamespace: p + "host", NamespacePrefixes: []string{p + "g-"}}, nil)
	t.Cleanup(func() { d.Sync(context.Background(), netdev.HostSpec{}) })
	const netID = "net-dhcp"
	dhcpNS, client := p+"g-dhcp", p+"g-client"
	srvIf := netdev.DHCPPortName("port-dhcp")
	err = d.Sync(ctx, netdev.HostSpec{
		Networks: []netdev.Network{{ID: netID, MTU: 1450}},
		Namespaces: []netdev.Namespace{
			{Name: dhcpNS, Interfaces: []netdev.Interface{{PortID: "port-dhcp", Name: srvIf, NetworkID: netID, MTU: 1450,
				Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/24")}}}},
			// The client starts with the kernel's default MTU, as a guest does.
			{Name: client, Interfaces: []netdev.Interface{{PortID: "port-client", Name: "eth0", NetworkID: netID,
				MAC: mustMAC("52:54:00:cc:00:01")}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	srv, err := New(Config{Namespace: dhcpNS, Interface: srvIf, ServerIP: netip.MustParseAddr("10.0.0.2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\nenv > \""+dir+"/$1\"\n"), 0o755)
	udhcpc := func() (map[string]string, error) {
		os.Remove(filepath.Join(dir, "bound"))
		out, err := netnstest.Exec(ctx, client, busybox, "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "3", "-T", "1", "-s", script)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(dir, "bound"))
		if err != nil {
			return nil, err
		}
		env := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				env[k] = v
			}
		}
		_ = out
		return env, nil
	}

	// No lease for this MAC yet: no answer.
	start := time.Now()
	if env, err := udhcpc(); err == nil {
		t.Fatalf("got a lease without a reservation: %v", env)
	}
	t.Logf("udhcpc giving up: %v", time.Since(start))

	lease := Lease{
		MAC:      mustMAC("52:54:00:cc:00:01"),
		Address:  netip.MustParsePrefix("10.0.0.11/24"),
		Router:   netip.MustParseAddr("10.0.0.1"),
		DNS:      []netip.Addr{netip.MustParseAddr("10.0.0.3")},
		MTU:      1450,
		Routes:   []Route{{Dst: netip.MustParsePrefix("169.254.169.254/32"), Via: netip.MustParseAddr("10.0.0.1")}},
		Hostname: "vm1",
	}
	if err := srv.SetLeases([]Lease{lease}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	env, err := udhcpc()
	if err != nil {
		t.Fatalf("udhcpc: %v", err)
	}
	t.Logf("lease in %v: ip=%s mtu=%s staticroutes=%q", time.Since(start), env["ip"], env["mtu"], env["staticroutes"])
	for k, want := range map[string]string{
		"ip": "10.0.0.11", "mask": "24", "router": "10.0.0.1", "dns": "10.0.0.3", "mtu": "1450",
		"hostname": "vm1", "serverid": "10.0.0.2",
		"staticroutes": "169.254.169.254/32 10.0.0.1 0.0.0.0/0 10.0.0.1",
	} {
		if got := strings.TrimSpace(env[k]); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	// A live update moves the reservation.
	lease.Address = netip.MustParsePrefix("10.0.0.12/24")
	if err := srv.SetLeases([]Lease{lease}); err != nil {
		t.Fatal(err)
	}
	if env, err := udhcpc(); err != nil || env["ip"] != "10.0.0.12" {
		t.Fatalf("after SetLeases: ip=%q, %v", env["ip"], err)
	}
}
