//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/vishvananda/netlink"

	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns/netnstest"
)

var errNotYet = errors.New("not yet")

// TestTwoHosts runs two agents in two host namespaces joined by an
// underlay link (scenario 7): servers on different hosts on one tenant
// network reach each other over VXLAN, and a cold migration moves a server
// from one host to the other.
func TestTwoHosts(t *testing.T) {
	w := newWorld(t)
	ip1, ip2 := netip.MustParseAddr("10.251.0.1"), netip.MustParseAddr("10.251.0.2")
	n1, n2 := w.prefix+"h1", w.prefix+"h2"
	netnstest.NewNS(t, n1)
	netnstest.NewNS(t, n2)
	underlay(t, n1, n2, ip1, ip2)
	h1 := w.addHostIn("h1", ip1, true, false)
	// h2's agent talks to the cloud over HTTP only, as one on another
	// machine: its guests' console output reaches the API through it.
	h2 := w.addHostIn("h2", ip2, false, true)

	netID, _ := w.tenantNet("e2e-net", "10.79.0.0/24")
	d := w.boot(serverOpts{name: "e2e-d", networks: []servers.Network{{UUID: netID}}, zone: "nova:" + h1.name})
	svD := w.waitStatus(d, "ACTIVE", 3*time.Minute)
	ipD := fixedIP(svD, "e2e-net")
	w.waitConsole(d, "FZ-READY", 3*time.Minute)
	userE := fmt.Sprintf("#!/bin/sh\nif ping -c 3 -W 2 %s >/dev/null 2>&1; then echo FZ-PING-D-OK; else echo FZ-PING-D-FAIL; fi\necho FZ-E-DONE\n", ipD)
	e := w.boot(serverOpts{name: "e2e-e", networks: []servers.Network{{UUID: netID}}, zone: "nova:" + h2.name, userData: userE})
	svE := w.waitStatus(e, "ACTIVE", 3*time.Minute)
	if svE.Host == svD.Host {
		t.Fatalf("both servers on %s", svD.Host)
	}
	if len(qemuProcs(h1, d)) != 1 || len(qemuProcs(h2, e)) != 1 {
		t.Fatalf("QEMU processes: h1 %v, h2 %v", qemuProcs(h1, ""), qemuProcs(h2, ""))
	}
	log := w.waitConsole(e, "FZ-E-DONE", 3*time.Minute)
	t.Run("vnc-console-of-remote-host", func(t *testing.T) { checkVNCConsole(t, w, e) })
	if !strings.Contains(log, "FZ-LEASE") {
		t.Error("E got no DHCP lease across VXLAN (the DHCP server is on the network node h1)")
	}
	if !strings.Contains(log, "FZ-PING-D-OK") {
		t.Errorf("E (on %s) could not ping D (%s, on %s) over VXLAN", h2.name, ipD, h1.name)
	}

	// Cold migration of E: it must land on h1, the only other host.
	ctx := context.Background()
	if err := servers.Migrate(ctx, w.compute, e).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	w.waitStatus(e, "VERIFY_RESIZE", 3*time.Minute)
	if err := servers.ConfirmResize(ctx, w.compute, e).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	svE = w.waitStatus(e, "ACTIVE", 2*time.Minute)
	if svE.Host != h1.name {
		t.Errorf("after migration E is on %q, want %q", svE.Host, h1.name)
	}
	eventually(t, time.Minute, "E's QEMU moved to h1", func() error {
		if len(qemuProcs(h2, e)) != 0 || len(qemuProcs(h1, e)) != 1 {
			return fmt.Errorf("h1 %v, h2 %v", qemuProcs(h1, e), qemuProcs(h2, e))
		}
		return nil
	})
	w.waitConsole(e, "FZ-LEASE", 3*time.Minute)

	for _, id := range []string{d, e} {
		if err := servers.Delete(ctx, w.compute, id).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{d, e} {
		w.waitGone(id, 2*time.Minute)
	}
	w.nothingLeft(h2)
	w.nothingLeft(h1)
}

// addHostIn starts an agent for a host whose namespace (named
// prefix+name) already exists and carries ip on an underlay link.
func (w *world) addHostIn(name string, ip netip.Addr, networkNode, remote bool) *host {
	h := &host{name: w.prefix + name, ns: w.prefix + name, ip: ip, nsPrefix: w.prefix + name + "-", remote: remote}
	h.dataDir = w.t.TempDir()
	var err error
	if h.qemuRoot, err = mkShortTemp(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { removeAll(h.qemuRoot) })
	w.hosts = append(w.hosts, h)
	w.startAgent(h, networkNode)
	w.t.Cleanup(func() { w.teardown(h) })
	return h
}

// underlay joins two host namespaces with a veth pair "ul" carrying a and
// b (/24), standing in for the hosts' physical network.
func underlay(t testing.TB, nsA, nsB string, a, b netip.Addr) {
	t.Helper()
	hb, err := netns.Open(nsB)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	err = netns.Do(nsA, func() error {
		return netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ul"}, PeerName: "ul", PeerNamespace: netlink.NsFd(int(hb))})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		ns string
		ip netip.Addr
	}{{nsA, a}, {nsB, b}} {
		err := netns.Do(x.ns, func() error {
			for _, name := range []string{"lo", "ul"} {
				l, err := netlink.LinkByName(name)
				if err != nil {
					return err
				}
				if name == "ul" {
					if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: x.ip.AsSlice(), Mask: net.CIDRMask(24, 32)}}); err != nil {
						return err
					}
				}
				if err := netlink.LinkSetUp(l); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
