//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/nubo-cloud/nubo/internal/driver/dhcp"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu/qemuimg"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns/netnstest"
)

// BenchmarkBootToTCP measures, for the test guest under TCG, create →
// ACTIVE and create → first TCP answer from the guest's echo port through
// its floating IP, beside the floor: the same QEMU command line (the same
// driver, flavor and disk image) started with no cloud around it, in a
// namespace with a busybox DHCP server and metadata server, timed from
// Start to the first TCP answer on the guest's address.
//
//	go test -tags e2e -run '^$' -bench BootToTCP -benchtime 3x ./test/e2e/
func BenchmarkBootToTCP(b *testing.B) {
	w := newWorld(b)
	h := w.addHost("h1", netip.MustParseAddr("192.0.2.1"), true)
	ctx := context.Background()
	netID, subnetID := w.tenantNet("bench-net", "10.80.0.0/24")
	w.router("bench-router", subnetID)
	// Open the echo port to the outside once, in the default group.
	probe := w.boot(serverOpts{name: "probe", networks: []servers.Network{{UUID: netID}}})
	svp := w.waitStatus(probe, "ACTIVE", 3*time.Minute)
	if _, err := rules.Create(ctx, w.network, rules.CreateOpts{Direction: rules.DirIngress, EtherType: rules.EtherType4,
		SecGroupID: w.defaultGroup(svp.TenantID), Protocol: rules.ProtocolTCP, PortRangeMin: 7, PortRangeMax: 7,
		RemoteIPPrefix: "0.0.0.0/0"}).Extract(); err != nil {
		b.Fatal(err)
	}
	deleteServer(w, probe)

	var active, tcp, floor []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The cloud: a port with a floating IP first, then the server on it.
		port := w.createPort(netID)
		fip, err := floatingips.Create(ctx, w.network, floatingips.CreateOpts{FloatingNetworkID: w.public, PortID: port}).Extract()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		id := w.boot(serverOpts{name: fmt.Sprintf("bench-%d", i), networks: []servers.Network{{Port: port}}})
		w.waitStatus(id, "ACTIVE", 3*time.Minute)
		active = append(active, time.Since(start))
		eventually(b, 3*time.Minute, "echo through the floating IP", func() error {
			out, err := dial(h.ns, fip.FloatingIP+":7", "ping\n")
			if err == nil && strings.TrimSpace(out) != "ping" {
				err = fmt.Errorf("echo answered %q", out)
			}
			return err
		})
		tcp = append(tcp, time.Since(start))
		deleteServer(w, id)
		floatingips.Delete(ctx, w.network, fip.ID)

		// The floor, in the same run.
		floor = append(floor, bootFloor(b))
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2].Seconds()
	}
	b.ReportMetric(med(active), "create→ACTIVE-s")
	b.ReportMetric(med(tcp), "create→TCP-s")
	b.ReportMetric(med(floor), "floor-start→TCP-s")
	b.ReportMetric(med(tcp)-med(floor), "nubo-adds-s")
	b.ReportMetric(0, "ns/op")
	b.Logf("create→ACTIVE %v; create→TCP via floating IP %v; floor (QEMU start→TCP, no cloud) %v", active, tcp, floor)
}

// bootFloor boots the test guest with the qemu driver alone (same flavor,
// same image, a tap in a private namespace with busybox's DHCP and HTTP
// servers) and returns Start → first TCP answer on the echo port.
func bootFloor(b *testing.B) time.Duration {
	ctx := context.Background()
	disk := guestDisk(b)
	ns := netnstest.Prefix(b) + "floor"
	netnstest.NewNS(b, ns)
	run := func(args ...string) {
		if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			b.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	run("link", "set", "lo", "up")
	run("addr", "add", "169.254.169.254/32", "dev", "lo")
	run("tuntap", "add", "dev", "ftap0", "mode", "tap")
	run("addr", "add", "10.98.0.1/24", "dev", "ftap0")
	run("link", "set", "ftap0", "up")
	dir := b.TempDir()
	const guestIP, id = "10.98.0.50", "0d7e5a3c-9999-4a2b-9c3d-000000000099"
	files := map[string]string{
		"md/openstack/latest/meta_data.json": `{"uuid":"` + id + `","name":"floor"}`,
	}
	for name, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// DHCP from the same Go server the cloud uses (busybox udhcpd probes
	// the address with ARP for seconds before it offers it), metadata from
	// busybox httpd.
	srv, err := dhcp.New(dhcp.Config{Namespace: ns, Interface: "ftap0", ServerIP: netip.MustParseAddr("10.98.0.1")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	mac, _ := net.ParseMAC("fa:16:3e:00:00:99")
	if err := srv.SetLeases([]dhcp.Lease{{MAC: mac, Address: netip.MustParsePrefix(guestIP + "/24"), Router: netip.MustParseAddr("10.98.0.1"),
		Routes: []dhcp.Route{{Dst: netip.MustParsePrefix("169.254.169.254/32"), Via: netip.MustParseAddr("10.98.0.1")}}}}); err != nil {
		b.Fatal(err)
	}
	dctx, stopDHCP := context.WithCancel(ctx)
	defer stopDHCP()
	go srv.Run(dctx)
	httpd := exec.Command("ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "169.254.169.254:80", "-h", filepath.Join(dir, "md"))
	if err := httpd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { httpd.Process.Kill(); httpd.Wait() }()
	root, err := mkShortTemp()
	if err != nil {
		b.Fatal(err)
	}
	defer removeAll(root)
	d, err := qemu.New(qemu.Config{Root: root, NetNS: ns})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	spec := hypervisor.Spec{ID: id, Name: "floor", VCPUs: 1, MemoryMB: 128,
		Root: hypervisor.Disk{ID: "root", Path: filepath.Join(dir, "root.qcow2"), Format: "qcow2"},
		NICs: []hypervisor.NIC{{ID: "port-0", Tap: "ftap0", MAC: "fa:16:3e:00:00:99"}}}
	if err := (qemuimg.Tool{}).CreateOverlay(ctx, disk, "raw", spec.Root.Path, 1<<30); err != nil {
		b.Fatal(err)
	}
	if err := d.Define(ctx, spec); err != nil {
		b.Fatal(err)
	}
	defer d.Delete(ctx, id)
	start := time.Now()
	if err := d.Start(ctx, id); err != nil {
		b.Fatal(err)
	}
	eventually(b, 3*time.Minute, "floor guest echo", func() error {
		out, err := dial(ns, guestIP+":7", "ping\n")
		if err == nil && strings.TrimSpace(out) != "ping" {
			err = fmt.Errorf("echo answered %q", out)
		}
		return err
	})
	return time.Since(start)
}

// BenchmarkDensity boots NUBO_E2E_DENSITY servers (default 8) on one host at
// once and reports the time until all answer, each guest's QEMU RSS and
// idle CPU, the in-process cloud's (control plane + agent) RSS, and how many
// such guests this host's memory and CPUs would hold.
//
//	go test -tags e2e -run '^$' -bench Density -benchtime 1x ./test/e2e/
func BenchmarkDensity(b *testing.B) {
	n := 8
	if v, err := strconv.Atoi(os.Getenv("NUBO_E2E_DENSITY")); err == nil && v > 0 {
		n = v
	}
	w := newWorld(b)
	h := w.addHost("h1", netip.MustParseAddr("192.0.2.1"), true)
	netID, _ := w.tenantNet("dense-net", "10.81.0.0/22")
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		start := time.Now()
		ids := make([]string, n)
		for i := range ids {
			ids[i] = w.boot(serverOpts{name: fmt.Sprintf("dense-%d", i), networks: []servers.Network{{UUID: netID}}})
		}
		for _, id := range ids {
			w.waitStatus(id, "ACTIVE", 5*time.Minute)
		}
		for _, id := range ids {
			w.waitConsole(id, "FZ-READY", 10*time.Minute)
		}
		all := time.Since(start)
		// Idle cost: RSS and CPU over 10 s once all are up.
		pids := qemuProcs(h, "")
		cpu0 := map[int]float64{}
		for _, p := range pids {
			cpu0[p] = cpuSeconds(p)
		}
		time.Sleep(10 * time.Second)
		var rss, idle float64
		for _, p := range pids {
			rss += float64(statusKB(p, "VmRSS")) / 1024
			idle += (cpuSeconds(p) - cpu0[p]) / 10
		}
		perRSS, perCPU := rss/float64(len(pids)), idle/float64(len(pids))
		avail := float64(meminfoKB("MemAvailable")) / 1024
		b.ReportMetric(all.Seconds(), "all-ready-s")
		b.ReportMetric(perRSS, "guest-RSS-MiB")
		b.ReportMetric(perCPU*100, "guest-idle-CPU-%")
		b.ReportMetric(float64(statusKB(os.Getpid(), "VmHWM"))/1024, "cloud+agent-HWM-MiB")
		b.ReportMetric(avail/perRSS+float64(len(pids)), "guests-by-memory")
		if perCPU > 0 {
			b.ReportMetric(float64(runtime.NumCPU())/perCPU, "guests-by-idle-CPU")
		}
		b.ReportMetric(0, "ns/op")
		b.Logf("%d guests ready in %v; per guest %.0f MiB RSS, %.1f%% of a core idle; MemAvailable %.0f MiB",
			len(pids), all.Round(time.Millisecond), perRSS, perCPU*100, avail)
		for _, id := range ids {
			servers.Delete(context.Background(), w.compute, id)
		}
		for _, id := range ids {
			w.waitGone(id, 5*time.Minute)
		}
	}
}

func (w *world) createPort(netID string) string {
	w.t.Helper()
	p, err := portsCreate(w, netID)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func deleteServer(w *world, id string) {
	if err := servers.Delete(context.Background(), w.compute, id).ExtractErr(); err != nil {
		w.t.Fatal(err)
	}
	w.waitGone(id, 2*time.Minute)
}

// cpuSeconds is a process's user+system CPU time.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100 // USER_HZ
}

func statusKB(pid int, key string) int64 { return fieldKB(fmt.Sprintf("/proc/%d/status", pid), key) }
func meminfoKB(key string) int64         { return fieldKB("/proc/meminfo", key) }

func fieldKB(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == key+":" {
			v, _ := strconv.ParseInt(fs[1], 10, 64)
			return v
		}
	}
	return 0
}

func portsCreate(w *world, netID string) (string, error) {
	p, err := ports.Create(context.Background(), w.network, ports.CreateOpts{NetworkID: netID}).Extract()
	if err != nil {
		return "", err
	}
	return p.ID, nil
}
