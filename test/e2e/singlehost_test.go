//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/nubo-cloud/nubo/internal/driver/netdev"
)

// TestSingleHost drives one host through the scenarios 1–5: two
// servers on a tenant network (DHCP, reaching each other), a router with
// SNAT and a floating IP, security groups (default deny, a rule opening a
// port within seconds, closing it again, spoofing dropped), metadata from
// 169.254.169.254 and the config drive, the lifecycle actions on the real
// QEMU process, and nothing left behind after delete.
func TestSingleHost(t *testing.T) {
	w := newWorld(t)
	h := w.addHost("h1", netip.MustParseAddr("192.0.2.1"), true)
	ctx := context.Background()

	netID, subnetID := w.tenantNet("e2e-net", "10.77.0.0/24")
	routerID, routerExt := w.router("e2e-router", subnetID)
	if routerExt == "" {
		t.Fatal("router has no external address")
	}
	// Something "outside" on the external network: the host namespace
	// holds the external bridge and its gateway address 172.24.4.1.
	outside := newLineServer(t, h.ns, "0.0.0.0:8089")

	// Server A: config drive and a user-data script that reads
	// network_data.json from the metadata service.
	userA := "#!/bin/sh\necho FZ-A-USERDATA\necho FZ-ND-BEGIN\n" +
		"wget -q -O - http://169.254.169.254/openstack/latest/network_data.json\necho\necho FZ-ND-END\n"
	start := time.Now()
	a := w.boot(serverOpts{name: "e2e-a", networks: []servers.Network{{UUID: netID}}, configDrive: true, userData: userA})
	svA := w.waitStatus(a, "ACTIVE", 3*time.Minute)
	toActive := time.Since(start)
	ipA := fixedIP(svA, "e2e-net")
	if ipA == "" {
		t.Fatalf("server A has no address: %+v", svA.Addresses)
	}
	logA := w.waitConsole(a, "FZ-READY", 3*time.Minute)
	t.Logf("server A: create→ACTIVE %v, create→guest ready %v", toActive.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if len(qemuProcs(h, a)) != 1 {
		t.Fatalf("server A: %d QEMU processes", len(qemuProcs(h, a)))
	}

	t.Run("dhcp-and-metadata", func(t *testing.T) {
		for _, want := range []string{
			"FZ-LEASE " + ipA,     // DHCP gave the port's address
			"FZ-CD-BEGIN",         // the config drive was found...
			`"uuid": "` + a + `"`, // ...and the metadata service and drive name the server
			"FZ-MD-BEGIN",         // meta_data.json from 169.254.169.254
			"FZ-A-USERDATA",       // user data ran
			"FZ-ND-END",           // network_data.json was read
		} {
			if !strings.Contains(logA, want) && !strings.Contains(strings.ReplaceAll(logA, `":"`, `": "`), want) {
				t.Errorf("console lacks %q", want)
			}
		}
		md := between(logA, "FZ-MD-BEGIN", "FZ-MD-END")
		if !strings.Contains(md, a) || !strings.Contains(md, "e2e-a") {
			t.Errorf("metadata service answered %q, want the server's meta_data.json", md)
		}
		// The script runs twice: from the config drive before the network
		// is up, then from the metadata service; the second reads it.
		nd := between(logA[strings.LastIndex(logA, "FZ-ND-BEGIN"):], "FZ-ND-BEGIN", "FZ-ND-END")
		portA := w.portOf(a, netID)
		if !strings.Contains(nd, portA.MACAddress) || !strings.Contains(nd, netID) {
			t.Errorf("network_data.json %q lacks the port's MAC %s or network %s", nd, portA.MACAddress, netID)
		}
		// The user data came back whole from both sources (the guest
		// prints it base64 between FZ-UD markers).
		for _, src := range []string{"/dev/sr0", "metadata"} {
			ud := between(logA, "FZ-UD-BEGIN "+src, "FZ-UD-END")
			if ud == "" {
				t.Errorf("no user data from %s on the console", src)
				continue
			}
			body := ud[strings.Index(ud, "\n")+1:]
			dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
			if err != nil || string(dec) != userA {
				t.Errorf("user data from %s read back %q (%v), want %q", src, dec, err, userA)
			}
		}
	})

	// Server B pings A, reaches the outside through SNAT and tries to send
	// from an address that is not its own.
	userB := fmt.Sprintf("#!/bin/sh\n"+
		"if ping -c 3 -W 2 %s >/dev/null 2>&1; then echo FZ-PING-A-OK; else echo FZ-PING-A-FAIL; fi\n"+
		"echo legit-b | nc -w 3 172.24.4.1 8089\n"+
		"ip addr add 10.77.0.250/24 dev eth0\n"+
		"if ping -c 2 -W 2 -I 10.77.0.250 172.24.4.1 >/dev/null 2>&1; then echo FZ-SPOOF-PASSED; else echo FZ-SPOOF-DROPPED; fi\n"+
		"if ping -c 2 -W 2 172.24.4.1 >/dev/null 2>&1; then echo FZ-OUT-OK; else echo FZ-OUT-FAIL; fi\n"+
		"echo FZ-B-DONE\n", ipA)
	b := w.boot(serverOpts{name: "e2e-b", networks: []servers.Network{{UUID: netID}}, userData: userB})
	w.waitStatus(b, "ACTIVE", 3*time.Minute)
	logB := w.waitConsole(b, "FZ-B-DONE", 3*time.Minute)

	t.Run("vnc-console", func(t *testing.T) { checkVNCConsole(t, w, a) })

	t.Run("tenant-network", func(t *testing.T) {
		if !strings.Contains(logB, "FZ-PING-A-OK") {
			t.Errorf("B could not ping A (%s) on the tenant network", ipA)
		}
	})
	t.Run("snat", func(t *testing.T) {
		peer, ok := outside.peer("legit-b")
		if !ok {
			t.Fatal("the outside never heard from B")
		}
		if peer != routerExt {
			t.Errorf("the outside saw B as %s, want the router's external address %s (SNAT)", peer, routerExt)
		}
		if !strings.Contains(logB, "FZ-OUT-OK") {
			t.Error("B could not ping the outside")
		}
	})
	t.Run("anti-spoofing", func(t *testing.T) {
		if !strings.Contains(logB, "FZ-SPOOF-DROPPED") {
			t.Error("a packet from an address B does not own got an answer")
		}
	})

	// A floating IP for A; the outside reaches A's echo port on it only
	// while a security group rule allows it.
	portA := w.portOf(a, netID)
	fip, err := floatingips.Create(ctx, w.network, floatingips.CreateOpts{FloatingNetworkID: w.public, PortID: portA.ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	echo := fip.FloatingIP + ":7"
	t.Run("security-groups", func(t *testing.T) {
		// Default deny: give the data plane time to wire the floating IP,
		// then check that nothing answers.
		time.Sleep(3 * time.Second)
		if out, err := dial(h.ns, echo, "knock\n"); err == nil {
			t.Fatalf("reached %s without a rule: %q", echo, out)
		}
		sg := w.defaultGroup(svA.TenantID)
		added := time.Now()
		rule, err := rules.Create(ctx, w.network, rules.CreateOpts{Direction: rules.DirIngress, EtherType: rules.EtherType4, SecGroupID: sg,
			Protocol: rules.ProtocolTCP, PortRangeMin: 7, PortRangeMax: 7, RemoteIPPrefix: "0.0.0.0/0"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "echo through the floating IP after adding a rule", func() error {
			out, err := dial(h.ns, echo, "hello-fip\n")
			if err != nil {
				return err
			}
			if strings.TrimSpace(out) != "hello-fip" {
				return fmt.Errorf("echo answered %q", out)
			}
			return nil
		})
		t.Logf("rule added → floating IP answers: %v", time.Since(added).Round(time.Millisecond))
		if err := rules.Delete(ctx, w.network, rule.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		removed := time.Now()
		eventually(t, 30*time.Second, "the floating IP blocked again after removing the rule", func() error {
			if out, err := dial(h.ns, echo, "again\n"); err == nil {
				return fmt.Errorf("still answers %q", out)
			}
			return nil
		})
		t.Logf("rule removed → blocked: %v", time.Since(removed).Round(time.Millisecond))
	})

	t.Run("lifecycle", func(t *testing.T) {
		w.lifecycle(h, a)
	})

	// Delete everything; nothing may remain on the host.
	for _, id := range []string{a, b} {
		if err := servers.Delete(ctx, w.compute, id).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{a, b} {
		w.waitGone(id, 2*time.Minute)
	}
	if err := floatingips.Delete(ctx, w.network, fip.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := routers.RemoveInterface(ctx, w.network, routerID, routers.RemoveInterfaceOpts{SubnetID: subnetID}).Extract(); err != nil {
		t.Fatal(err)
	}
	if err := routers.Delete(ctx, w.network, routerID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := networks.Delete(ctx, w.network, netID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	w.nothingLeft(h)
}

// lifecycle runs stop/start/reboot/pause/resize/snapshot on a server and
// checks each reached the QEMU process.
func (w *world) lifecycle(h *host, id string) {
	t := w.t
	ctx := context.Background()
	pid := func() int {
		p := qemuProcs(h, id)
		if len(p) != 1 {
			t.Fatalf("server %s: %d QEMU processes, want 1", id, len(p))
		}
		return p[0]
	}
	first := pid()

	if err := servers.Stop(ctx, w.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	sv := w.waitStatus(id, "SHUTOFF", 2*time.Minute)
	if sv.PowerState != servers.SHUTDOWN {
		t.Errorf("stopped: power_state %d", sv.PowerState)
	}
	if p := qemuProcs(h, id); len(p) != 0 {
		t.Fatalf("stopped server still has QEMU processes %v", p)
	}
	if err := servers.Start(ctx, w.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	w.waitStatus(id, "ACTIVE", 2*time.Minute)
	if p := pid(); p == first {
		t.Errorf("start reused the stopped process %d", p)
	}
	w.waitConsole(id, "FZ-READY", 2*time.Minute)

	before := strings.Count(w.console(id), "FZ-USERSPACE")
	running := pid()
	if err := servers.Reboot(ctx, w.compute, id, servers.RebootOpts{Type: servers.HardReboot}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	w.waitStatus(id, "ACTIVE", 2*time.Minute)
	eventually(t, 2*time.Minute, "the guest booted again after the reboot", func() error {
		out := w.console(id)
		if n := strings.Count(out, "FZ-USERSPACE"); n > before || (n == 1 && pid() != running) {
			return nil
		}
		return fmt.Errorf("no new boot on the console")
	})

	if err := servers.Pause(ctx, w.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	w.waitStatus(id, "PAUSED", time.Minute)
	if st := procState(pid()); st == "" {
		t.Error("paused guest has no process")
	}
	if err := servers.Unpause(ctx, w.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	w.waitStatus(id, "ACTIVE", time.Minute)

	// Resize to a flavor with more memory: the new QEMU gets it.
	disk1 := 1
	fl, err := flavors.Create(ctx, w.compute, flavors.CreateOpts{Name: "e2e.small", VCPUs: 1, RAM: 192, Disk: &disk1}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := servers.Resize(ctx, w.compute, id, servers.ResizeOpts{FlavorRef: fl.ID}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	w.waitStatus(id, "VERIFY_RESIZE", 3*time.Minute)
	if err := servers.ConfirmResize(ctx, w.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	w.waitStatus(id, "ACTIVE", 2*time.Minute)
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid()))
	if !strings.Contains(strings.ReplaceAll(string(cmd), "\x00", " "), "192") {
		t.Errorf("after resize QEMU runs %q, want 192 MB", strings.ReplaceAll(string(cmd), "\x00", " "))
	}

	// Snapshot: a new image with the disk's bytes (qcow2).
	imgID, err := servers.CreateImage(ctx, w.compute, id, servers.CreateImageOpts{Name: "e2e-snap"}).ExtractImageID()
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Minute, "snapshot image active", func() error {
		im, err := images.Get(ctx, w.image, imgID).Extract()
		if err != nil {
			return err
		}
		if im.Status != images.ImageStatusActive {
			return fmt.Errorf("status %s", im.Status)
		}
		return nil
	})
	rc, err := imagedata.Download(ctx, w.image, imgID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 4)
	_, err = io.ReadFull(rc, head)
	rc.Close()
	if err != nil || string(head) != "QFI\xfb" {
		t.Errorf("snapshot starts with %q (%v), want a qcow2 header", head, err)
	}
	w.waitStatus(id, "ACTIVE", time.Minute)
}

// nothingLeft waits until the host holds nothing of the cloud's any more:
// no QEMU process, tap, bridge, VXLAN device, owned namespace, nft table
// or server directory.
func (w *world) nothingLeft(h *host) {
	t := w.t
	eventually(t, time.Minute, "host "+h.name+" clean", func() error {
		if p := qemuProcs(h, ""); len(p) > 0 {
			return fmt.Errorf("QEMU processes %v", p)
		}
		for _, l := range links(t, h.ns) {
			if l != "lo" && !strings.HasPrefix(l, "ul") {
				return fmt.Errorf("link %s", l)
			}
		}
		if ns := ownedNamespaces(t, h.nsPrefix); len(ns) > 0 {
			return fmt.Errorf("namespaces %v", ns)
		}
		if tables := nftTables(t, h.ns); len(tables) > 0 {
			return fmt.Errorf("nft tables %v", tables)
		}
		entries, _ := os.ReadDir(filepath.Join(h.dataDir, "instances"))
		if len(entries) > 0 {
			return fmt.Errorf("instance dirs %v", entries)
		}
		return nil
	})
	_ = netdev.TapName
}

func (w *world) portOf(serverID, netID string) ports.Port {
	w.t.Helper()
	pages, err := ports.List(w.network, ports.ListOpts{DeviceID: serverID, NetworkID: netID}).AllPages(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	list, err := ports.ExtractPorts(pages)
	if err != nil || len(list) != 1 {
		w.t.Fatalf("ports of %s on %s: %v %v", serverID, netID, list, err)
	}
	return list[0]
}

func (w *world) defaultGroup(project string) string {
	w.t.Helper()
	pages, err := groups.List(w.network, groups.ListOpts{Name: "default", TenantID: project}).AllPages(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	list, err := groups.ExtractGroups(pages)
	if err != nil || len(list) == 0 {
		w.t.Fatalf("default security group: %v %v", list, err)
	}
	return list[0].ID
}

// between returns the text between the first start marker and the next
// end marker ("" if absent).
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return ""
}

// procState is the state letter of a process ("" if it is gone).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}
