//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/vishvananda/netlink"

	"github.com/nubo-cloud/nubo/internal/agent"
	"github.com/nubo-cloud/nubo/internal/agent/netagent"
	"github.com/nubo-cloud/nubo/internal/cloud"
	"github.com/nubo-cloud/nubo/internal/cloudtest"
	"github.com/nubo-cloud/nubo/internal/driver/firewall/nftables"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/linux"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns/netnstest"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// world is one cloud with its hosts, seen through its public APIs.
type world struct {
	t       testing.TB
	c       *cloudtest.Cloud
	prefix  string // of every namespace and host name the test makes
	log     *slog.Logger
	compute *gophercloud.ServiceClient
	network *gophercloud.ServiceClient
	image   *gophercloud.ServiceClient
	imageID string
	flavor  string
	public  string // the bootstrapped external network
	hosts   []*host
}

// host is one compute host: a network namespace with an agent converging it.
type host struct {
	name, ns string
	ip       netip.Addr
	dataDir  string
	qemuRoot string
	nsPrefix string
	cancel   context.CancelFunc
	done     chan struct{}
	agent    *agent.Agent
	net      *netagent.Agent
	hv       *qemu.Driver
	// remote hosts reach the control plane only over HTTP (/host/v1), as
	// `nubo agent` on another machine does: the cloud cannot read their
	// guests' consoles directly.
	remote bool
}

func guestDisk(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("NUBO_TEST_GUEST")
	if dir == "" {
		dir = "/var/cache/nubo/test-guest"
	}
	p := filepath.Join(dir, "disk.img")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%v: run scripts/build-test-guest.sh first (make e2e does)", err)
	}
	for _, bin := range []string{"qemu-system-x86_64", "qemu-img", "nft", "busybox"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not installed (scripts/install-deps.sh)", bin)
		}
	}
	return p
}

// newWorld starts a cloud with no fake host, uploads the test guest's
// disk image and creates a flavor for it.
func newWorld(t testing.TB) *world {
	netnstest.RequireRoot(t)
	disk := guestDisk(t)
	w := &world{t: t, prefix: netnstest.Prefix(t)}
	logPath := filepath.Join(t.TempDir(), "nubo.log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	w.log = slog.New(slog.NewTextHandler(lf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		lf.Close()
		if t.Failed() || os.Getenv("NUBO_E2E_LOG") != "" {
			b, _ := os.ReadFile(logPath)
			lines := strings.Split(string(b), "\n")
			if len(lines) > 150 {
				lines = lines[len(lines)-150:]
			}
			t.Logf("last lines of the cloud's log:\n%s", strings.Join(lines, "\n"))
		}
	})
	w.c = cloudtest.NewWith(t, func(cfg *cloud.Config) { cfg.NoFakeHost = true }, w.log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	p := w.c.Provider(t, w.c.AdminOptions())
	if w.compute, err = openstack.NewComputeV2(p, gophercloud.EndpointOpts{}); err != nil {
		t.Fatal(err)
	}
	w.compute.Microversion = "2.79"
	if w.network, err = openstack.NewNetworkV2(p, gophercloud.EndpointOpts{}); err != nil {
		t.Fatal(err)
	}
	if w.image, err = openstack.NewImageV2(p, gophercloud.EndpointOpts{}); err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	im, err := images.Create(bg, w.image, images.CreateOpts{Name: "nubo-test-guest", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(disk)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := imagedata.Upload(bg, w.image, im.ID, f).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	w.imageID = im.ID
	disk1 := 1
	fl, err := flavors.Create(bg, w.compute, flavors.CreateOpts{Name: "e2e.tiny", VCPUs: 1, RAM: 128, Disk: &disk1}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	w.flavor = fl.ID
	// No quota gets in the way of the density benchmark.
	unlimited := -1
	if _, err := quotasets.Update(bg, w.compute, svProject(t, w), quotasets.UpdateOpts{Instances: &unlimited, Cores: &unlimited, RAM: &unlimited}).Extract(); err != nil {
		t.Fatal(err)
	}
	pub, err := networks.List(w.network, networks.ListOpts{Name: "public"}).AllPages(bg)
	if err != nil {
		t.Fatal(err)
	}
	nets, err := networks.ExtractNetworks(pub)
	if err != nil || len(nets) != 1 {
		t.Fatalf("public network: %v %v", nets, err)
	}
	w.public = nets[0].ID
	return w
}

// addHost creates a host namespace with ip (its VTEP address) on its
// loopback and starts an agent for it.
func (w *world) addHost(name string, ip netip.Addr, networkNode bool) *host {
	t := w.t
	ns := w.prefix + name
	netnstest.NewNS(t, ns)
	err := netns.Do(ns, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		return netlink.AddrAdd(lo, &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(32, 32)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return w.addHostIn(name, ip, networkNode, false)
}

// mkShortTemp makes a directory with a short path (QMP socket paths must
// fit in 107 bytes).
func mkShortTemp() (string, error) { return os.MkdirTemp("", "nbe") }

func removeAll(dir string) { os.RemoveAll(dir) }

func (w *world) drivers(h *host) (*qemu.Driver, *netagent.Agent) {
	t := w.t
	log := w.log.With("host", h.name)
	drv, err := qemu.New(qemu.Config{Root: h.qemuRoot, NetNS: h.ns, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	nd := linux.New(linux.Config{HostNamespace: h.ns, NamespacePrefixes: netagent.NamespacePrefixes(h.nsPrefix)}, log)
	na, err := netagent.New(netagent.Config{
		HostNamespace: h.ns, NamespacePrefix: h.nsPrefix, Net: nd, Firewall: nftables.New("", log),
		LocalIP: h.ip, Metadata: w.c.Host.Metadata, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	return drv, na
}

// startAgent starts (or restarts) the agent of h with new driver instances,
// as a restarted process would.
func (w *world) startAgent(h *host, networkNode bool) {
	if !h.remote {
		w.startAgentWith(h, networkNode, w.c.Host)
		return
	}
	ctl, err := hostapi.NewClient(w.c.URL+"/host/v1", hostapi.StaticToken(w.compute.ProviderClient.Token()), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	w.startAgentWith(h, networkNode, ctl)
}

// startAgentWith starts h's agent against ctl.
func (w *world) startAgentWith(h *host, networkNode bool, ctl hostapi.Control) {
	t := w.t
	drv, na := w.drivers(h)
	a, err := agent.New(agent.Config{
		Host: hostapi.Host{Name: h.name, HypervisorType: "QEMU", HostIP: h.ip.String(), VCPUs: 8, MemoryMB: 8192, DiskGB: 100,
			NetworkNode: networkNode},
		Control: ctl, DataDir: h.dataDir, Hypervisor: drv, Net: na, Log: w.log.With("host", h.name),
		GracefulStop: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.agent, h.net, h.hv, h.cancel, h.done = a, na, drv, cancel, make(chan struct{})
	done := h.done
	go func() { defer close(done); _ = a.Run(ctx) }()
	if !h.remote {
		w.c.AddConsoleReader(a)
	}
}

// stopAgent stops h's agent the hard way: its loop ends wherever it is,
// its guests keep running, and what the process held (QMP connections,
// DHCP and metadata listeners) is let go as its death would.
func (w *world) stopAgent(h *host) {
	h.cancel()
	<-h.done
	h.net.Close()
	h.hv.Close()
}

// teardown stops the agent and removes whatever is left on the host.
func (w *world) teardown(h *host) {
	select {
	case <-h.done:
	default:
		w.stopAgent(h)
	}
	drv, na := w.drivers(h)
	defer drv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if list, err := drv.List(ctx); err == nil {
		for _, g := range list {
			_ = drv.Delete(ctx, g.ID)
		}
	}
	_, _ = drv.KillStrays(ctx)
	_, _ = na.Converge(ctx, &hostapi.State{})
	na.Close()
}

// --- servers -----------------------------------------------------------

type serverOpts struct {
	name        string
	networks    []servers.Network
	userData    string
	metadata    map[string]string
	configDrive bool
	zone        string
}

func (w *world) boot(o serverOpts) string {
	w.t.Helper()
	opts := servers.CreateOpts{Name: o.name, ImageRef: w.imageID, FlavorRef: w.flavor, Networks: o.networks,
		Metadata: o.metadata, AvailabilityZone: o.zone}
	if o.networks == nil {
		opts.Networks = "none"
	}
	if o.userData != "" {
		opts.UserData = []byte(o.userData)
	}
	if o.configDrive {
		opts.ConfigDrive = ptr(true)
	}
	sv, err := servers.Create(context.Background(), w.compute, opts, nil).Extract()
	if err != nil {
		w.t.Fatalf("create server %s: %v", o.name, err)
	}
	return sv.ID
}

func ptr[T any](v T) *T { return &v }

func (w *world) server(id string) *servers.Server {
	w.t.Helper()
	sv, err := servers.Get(context.Background(), w.compute, id).Extract()
	if err != nil {
		w.t.Fatalf("get server %s: %v", id, err)
	}
	return sv
}

// waitStatus polls the server until status (and no task) or fails.
func (w *world) waitStatus(id, status string, timeout time.Duration) *servers.Server {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sv := w.server(id)
		if sv.Status == status && sv.TaskState == "" {
			return sv
		}
		if sv.Status == "ERROR" && status != "ERROR" {
			w.t.Fatalf("server %s in ERROR: %+v", id, sv.Fault)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("server %s: status %s task %q after %v, want %s", id, sv.Status, sv.TaskState, timeout, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitGone polls until the server is 404.
func (w *world) waitGone(id string, timeout time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, err := servers.Get(context.Background(), w.compute, id).Extract()
		if gophercloud.ResponseCodeIs(err, 404) {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("server %s still there after %v (%v)", id, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (w *world) console(id string) string {
	w.t.Helper()
	out, err := servers.ShowConsoleOutput(context.Background(), w.compute, id, servers.ShowConsoleOutputOpts{}).Extract()
	if err != nil {
		w.t.Fatalf("console of %s: %v", id, err)
	}
	return out
}

// waitConsole polls the console log API until it holds want.
func (w *world) waitConsole(id, want string, timeout time.Duration) string {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := w.console(id)
		if strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			lines := strings.Split(out, "\n")
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			w.t.Fatalf("console of %s lacks %q after %v; tail:\n%s", id, want, timeout, strings.Join(lines, "\n"))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// fixedIP is the server's first IPv4 address on network name.
func fixedIP(sv *servers.Server, network string) string {
	list, _ := sv.Addresses[network].([]any)
	for _, a := range list {
		m, _ := a.(map[string]any)
		if addr, _ := m["addr"].(string); addr != "" && !strings.Contains(addr, ":") {
			if typ, _ := m["OS-EXT-IPS:type"].(string); typ == "" || typ == "fixed" {
				return addr
			}
		}
	}
	return ""
}

// --- networks ------------------------------------------------------------

// tenantNet creates a network with one DHCP subnet.
func (w *world) tenantNet(name, cidr string) (netID, subnetID string) {
	w.t.Helper()
	ctx := context.Background()
	n, err := networks.Create(ctx, w.network, networks.CreateOpts{Name: name}).Extract()
	if err != nil {
		w.t.Fatal(err)
	}
	s, err := subnets.Create(ctx, w.network, subnets.CreateOpts{NetworkID: n.ID, CIDR: cidr, IPVersion: gophercloud.IPv4, Name: name + "-v4"}).Extract()
	if err != nil {
		w.t.Fatal(err)
	}
	return n.ID, s.ID
}

// router creates a router with a gateway on the public network and an
// interface on subnetID; it returns the router and its external address.
func (w *world) router(name, subnetID string) (string, string) {
	w.t.Helper()
	ctx := context.Background()
	r, err := routers.Create(ctx, w.network, routers.CreateOpts{Name: name, GatewayInfo: &routers.GatewayInfo{NetworkID: w.public}}).Extract()
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := routers.AddInterface(ctx, w.network, r.ID, routers.AddInterfaceOpts{SubnetID: subnetID}).Extract(); err != nil {
		w.t.Fatal(err)
	}
	ext := ""
	if ips := r.GatewayInfo.ExternalFixedIPs; len(ips) > 0 {
		ext = ips[0].IPAddress
	}
	return r.ID, ext
}

// --- the host side, looked at directly -----------------------------------

// qemuProcs lists the live QEMU processes of a host (by its QEMU root).
func qemuProcs(h *host, serverID string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		c := string(cmd)
		if strings.Contains(c, "qemu-system") && strings.Contains(c, h.qemuRoot+"/") &&
			(serverID == "" || strings.Contains(c, serverID)) && !strings.Contains(string(stat), ") Z ") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// links lists the links of the host namespace.
func links(t testing.TB, ns string) []string {
	var names []string
	err := netns.Do(ns, func() error {
		ls, err := netlink.LinkList()
		for _, l := range ls {
			names = append(names, l.Attrs().Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// ownedNamespaces lists the namespaces whose names carry prefix.
func ownedNamespaces(t testing.TB, prefix string) []string {
	list, err := netns.List(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// nftTables lists the nft tables in a namespace.
func nftTables(t testing.TB, ns string) []string {
	out, err := netnstest.Exec(context.Background(), ns, "nft", "list", "tables")
	if err != nil {
		t.Fatalf("nft list tables: %v: %s", err, out)
	}
	var tables []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			tables = append(tables, l)
		}
	}
	return tables
}

// eventually retries check until it returns nil or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, check func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := check()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: still failing after %v: %v", what, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// lineServer listens on addr in ns and records the first line of each
// connection with the peer's address.
type lineServer struct {
	mu    sync.Mutex
	lines map[string]string // line → peer IP
}

func newLineServer(t testing.TB, ns, addr string) *lineServer {
	s := &lineServer{lines: map[string]string{}}
	var ln net.Listener
	if err := netns.Do(ns, func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				s.mu.Lock()
				s.lines[strings.TrimSpace(line)] = host
				s.mu.Unlock()
				fmt.Fprintf(c, "ok\n")
			}()
		}
	}()
	return s
}

func (s *lineServer) peer(line string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.lines[line]
	return p, ok
}

// dial connects from ns to addr and reads what the guest's echo or HTTP
// port answers to a line.
func dial(ns, addr, send string) (string, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	var c net.Conn
	if err := netns.Do(ns, func() (err error) { c, err = d.Dial("tcp", addr); return err }); err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprint(c, send); err != nil {
		return "", err
	}
	b, err := bufio.NewReader(c).ReadString('\n')
	if b != "" {
		return b, nil
	}
	return b, err
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// svProject is the admin's project ID (from its token).
func svProject(t testing.TB, w *world) string {
	p, err := tokens.Get(context.Background(), w.c.Admin(t), w.compute.ProviderClient.Token()).ExtractProject()
	if err != nil || p == nil {
		t.Fatalf("admin project: %v", err)
	}
	return p.ID
}
