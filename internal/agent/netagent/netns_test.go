//go:build netns

package netagent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/firewall/nftables"
	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/linux"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns/netnstest"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestConverge_NetworkNode converges testState (two servers, DHCP and
// metadata, a router with SNAT and a floating IP) inside a private host
// namespace, plays the two guests with taps relayed into their own
// namespaces, and checks the data plane end to end; an empty State then
// removes all of it.
func TestConverge_NetworkNode(t *testing.T) {
	netnstest.RequireRoot(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed (apt-get install busybox-static)")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft not installed (apt-get install nftables)")
	}
	ctx := t.Context()
	p := netnstest.Prefix(t)
	hostNS := p + "host"
	netnstest.NewNS(t, hostNS)
	hh := nsHandle(t, hostNS)
	// The VTEP address; the remote VTEP is unreachable, which is harmless.
	lo, _ := hh.LinkByName("lo")
	if err := hh.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	if err := hh.AddrAdd(lo, &netlink.Addr{IPNet: ipNet("192.0.2.1/32")}); err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	var mu sync.Mutex
	var queries []hostapi.MetadataQuery
	servers := map[string]string{"10.0.0.11": serverVM1, "10.0.0.12": serverVM2}
	lookup := func(ctx context.Context, q hostapi.MetadataQuery) (*hostapi.Metadata, error) {
		mu.Lock()
		queries = append(queries, q)
		mu.Unlock()
		id, ok := servers[q.Address]
		if !ok || q.NetworkID != netInt {
			return nil, hostapi.ErrNotFound
		}
		md, _ := json.Marshal(map[string]any{"uuid": id, "hostname": "vm-" + q.Address, "public_keys": map[string]string{"k": "ssh-ed25519 AAAA k"}})
		return &hostapi.Metadata{ServerID: id, MetaData: md, UserData: []byte("#!/bin/sh\necho " + id + "\n")}, nil
	}
	nd := linux.New(linux.Config{HostNamespace: hostNS, NamespacePrefixes: NamespacePrefixes(p)}, log)
	fw := nftables.New("", log)
	a, err := New(Config{
		HostNamespace: hostNS, NamespacePrefix: p, Net: nd, Firewall: fw,
		LocalIP: netip.MustParseAddr("192.0.2.1"), Metadata: lookup, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Converge(context.Background(), &hostapi.State{})
		a.Close()
	})

	st := testState()
	start := time.Now()
	reports, err := a.Converge(ctx, st)
	if err != nil {
		t.Fatalf("converge: %v", err)
	}
	t.Logf("first converge: %v", time.Since(start))
	for _, r := range reports {
		if r.Status != StatusActive {
			t.Errorf("port %s: %s, want ACTIVE", r.PortID, r.Status)
		}
	}
	if len(reports) != len(st.Ports) {
		t.Errorf("reports = %+v", reports)
	}
	start = time.Now()
	if _, err := a.Converge(ctx, st); err != nil {
		t.Fatalf("second converge: %v", err)
	}
	t.Logf("second converge: %v", time.Since(start))

	// The external bridge carries the host-side gateway.
	br, err := hh.LinkByName(netdev.BridgeName(netExt))
	if err != nil {
		t.Fatal(err)
	}
	if addrs, _ := hh.AddrList(br, netlink.FAMILY_V4); len(addrs) != 1 || addrs[0].IPNet.String() != "172.24.4.1/24" {
		t.Errorf("external bridge addresses = %v", addrs)
	}

	// Two guests behind their taps, and an outside host on the external
	// network.
	vm1, vm2, out := p+"vm1", p+"vm2", p+"out"
	guestNIC(t, hostNS, a.TapName(portVM1), vm1, macVM1)
	guestNIC(t, hostNS, a.TapName(portVM2), vm2, macVM2)
	outside(t, hh, out, netdev.BridgeName(netExt), "172.24.4.50/24")

	// DHCP: the lease carries the MTU, the gateway and the metadata route.
	for _, g := range []struct{ ns, ip, host string }{{vm1, "10.0.0.11", "vm1"}, {vm2, "10.0.0.12", "vm2"}} {
		env := udhcpc(t, ctx, busybox, g.ns)
		for k, want := range map[string]string{
			"ip": g.ip, "mask": "24", "router": "10.0.0.1", "dns": "10.0.0.3", "mtu": "1450",
			"hostname": g.host, "serverid": "10.0.0.2",
			"staticroutes": "169.254.169.254/32 10.0.0.2 0.0.0.0/0 10.0.0.1",
		} {
			if got := strings.TrimSpace(env[k]); got != want {
				t.Errorf("%s: lease %s = %q, want %q", g.ns, k, got, want)
			}
		}
		applyLease(t, g.ns, env)
	}

	// Metadata: each guest reaches 169.254.169.254 through the DHCP port
	// and gets its own documents.
	for _, g := range []struct{ ns, ip, id string }{{vm1, "10.0.0.11", serverVM1}, {vm2, "10.0.0.12", serverVM2}} {
		code, body := httpGet(t, g.ns, "http://169.254.169.254/openstack/latest/meta_data.json")
		var md struct{ UUID string }
		if code != 200 || json.Unmarshal([]byte(body), &md) != nil || md.UUID != g.id {
			t.Errorf("%s: meta_data.json = %d %q, want uuid %s", g.ns, code, body, g.id)
		}
		if code, body := httpGet(t, g.ns, "http://169.254.169.254/latest/meta-data/local-ipv4"); code != 200 || body != g.ip {
			t.Errorf("%s: local-ipv4 = %d %q", g.ns, code, body)
		}
		if code, body := httpGet(t, g.ns, "http://169.254.169.254/openstack/latest/user_data"); code != 200 || !strings.Contains(body, g.id) {
			t.Errorf("%s: user_data = %d %q", g.ns, code, body)
		}
	}
	// A guest that ignores the classless route reaches the metadata
	// service through its default gateway, the router.
	h2 := nsHandle(t, vm2)
	if err := h2.RouteDel(&netlink.Route{Dst: ipNet("169.254.169.254/32")}); err != nil {
		t.Fatal(err)
	}
	if code, body := httpGet(t, vm2, "http://169.254.169.254/latest/meta-data/instance-id"); code != 200 || body != "i-8b5e0d2a" {
		t.Errorf("metadata through the router: %d %q", code, body)
	}
	if code, body := httpGet(t, vm2, "http://169.254.169.254/latest/meta-data/local-ipv4"); code != 200 || body != "10.0.0.12" {
		t.Errorf("metadata through the router: local-ipv4 %d %q", code, body)
	}
	mu.Lock()
	for _, q := range queries {
		if q.NetworkID != netInt || (q.Address != "10.0.0.11" && q.Address != "10.0.0.12") {
			t.Errorf("metadata query %+v", q)
		}
	}
	mu.Unlock()

	// Security groups: vm2 is in vm1's remote group; port 8080 is open to
	// all; anything else is denied.
	netnstest.EchoServer(t, vm1, "10.0.0.11:8080")
	netnstest.EchoServer(t, vm1, "10.0.0.11:7000")
	netnstest.EchoServer(t, out, "172.24.4.50:9000")
	mustTalk(t, vm2, "10.0.0.11:7000", "10.0.0.12:")
	// Floating IP: DNAT keeps the outside source; SNAT on the way out.
	mustTalk(t, out, fipVM1+":8080", "172.24.4.50:")
	mustBlock(t, out, fipVM1+":7000") // default-deny ingress
	mustTalk(t, hostNS, fipVM1+":8080", "172.24.4.1:")
	mustBlock(t, hostNS, fipVM1+":7000")
	mustTalk(t, vm1, "172.24.4.50:9000", fipVM1+":")
	mustTalk(t, vm2, "172.24.4.50:9000", "172.24.4.10:") // the router's SNAT
	mustBlock(t, out, "10.0.0.11:8080")                  // no route inside without NAT

	// A live change of the group's members closes vm2's access to 7000.
	st.SecurityGroups[0].Members = []string{"10.0.0.11"}
	if _, err := a.Converge(ctx, st); err != nil {
		t.Fatal(err)
	}
	mustBlock(t, vm2, "10.0.0.11:7000")
	mustTalk(t, vm2, "10.0.0.11:8080", "10.0.0.12:")

	// A DHCP namespace deleted behind the agent's back comes back, and so
	// do the DHCP server and the metadata listener inside it.
	if err := netns.Delete(a.DHCPNamespace(netInt)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Converge(ctx, st); err != nil {
		t.Fatal(err)
	}
	if env := udhcpc(t, ctx, busybox, vm1); env["ip"] != "10.0.0.11" {
		t.Errorf("lease after the DHCP namespace came back: %v", env)
	}
	if code, body := httpGet(t, vm1, "http://169.254.169.254/latest/meta-data/instance-id"); code != 200 || body != "i-3f2a9c1e" {
		t.Errorf("metadata after the DHCP namespace came back: %d %q", code, body)
	}

	// An empty state removes everything the agent made.
	start = time.Now()
	if _, err := a.Converge(ctx, &hostapi.State{}); err != nil {
		t.Fatalf("empty converge: %v", err)
	}
	t.Logf("empty converge: %v", time.Since(start))
	status, err := nd.Status(ctx)
	if err != nil || len(status.Links) != 0 || len(status.Namespaces) != 0 {
		t.Errorf("after empty converge: %+v, %v", status, err)
	}
	names, _ := netns.List(p)
	for _, n := range names {
		if n != hostNS && n != vm1 && n != vm2 && n != out {
			t.Errorf("namespace %s left", n)
		}
	}
	if out, err := netnstest.Exec(ctx, hostNS, "nft", "list", "tables"); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("nft tables left in the host namespace: %q, %v", out, err)
	}
	links, _ := hh.LinkList()
	for _, l := range links {
		if n := l.Attrs().Name; n != "lo" && n != "ext-out" {
			t.Errorf("device %s (%s) left in the host namespace", n, l.Type())
		}
	}
	if len(a.services) != 0 || len(a.routerListeners) != 0 {
		t.Errorf("services left: %v %v", a.services, a.routerListeners)
	}
}

func nsHandle(t *testing.T, ns string) *netlink.Handle {
	t.Helper()
	nsh, err := netns.Open(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func ipNet(s string) *net.IPNet {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	n.IP = ip
	return n
}

// openTap attaches to the tap called name in namespace ns, creating it
// (non-persistent) if it does not exist, as a hypervisor does.
func openTap(ns, name string) (*os.File, error) {
	var f *os.File
	err := netns.Do(ns, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			unix.Close(fd)
			return err
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("TUNSETIFF %s: %w", name, err)
		}
		f = os.NewFile(uintptr(fd), name)
		return nil
	})
	return f, err
}

// guestNIC plays a server's NIC: eth0 in guest namespace ns (with the
// port's MAC) is joined to the port's tap in the host namespace by copying
// frames both ways, which is what QEMU's tap backend does.
func guestNIC(t *testing.T, hostNS, tap, ns, mac string) {
	t.Helper()
	netnstest.NewNS(t, ns)
	hostF, err := openTap(hostNS, tap)
	if err != nil {
		t.Fatal(err)
	}
	guestF, err := openTap(ns, "eth0")
	if err != nil {
		hostF.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { hostF.Close(); guestF.Close() })
	copyFrames := func(dst, src *os.File) {
		buf := make([]byte, 65536)
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil && !strings.Contains(err.Error(), "input/output error") {
				return
			}
		}
	}
	go copyFrames(hostF, guestF)
	go copyFrames(guestF, hostF)
	h := nsHandle(t, ns)
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	hw, _ := net.ParseMAC(mac)
	if err := h.LinkSetHardwareAddr(eth0, hw); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lo", "eth0"} {
		l, _ := h.LinkByName(name)
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
}

// outside is a machine on the external network: a veth from the external
// bridge into namespace ns.
func outside(t *testing.T, hh *netlink.Handle, ns, bridge, cidr string) {
	t.Helper()
	netnstest.NewNS(t, ns)
	nsh, err := netns.Open(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nsh.Close()
	if err := hh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ext-out"}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(nsh))}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l, err := hh.LinkByName("ext-out"); err == nil {
			hh.LinkDel(l)
		}
	})
	br, err := hh.LinkByName(bridge)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := hh.LinkByName("ext-out")
	if err := hh.LinkSetMaster(l, br); err != nil {
		t.Fatal(err)
	}
	if err := hh.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	h := nsHandle(t, ns)
	eth0, _ := h.LinkByName("eth0")
	if err := h.AddrAdd(eth0, &netlink.Addr{IPNet: ipNet(cidr)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lo", "eth0"} {
		l, _ := h.LinkByName(name)
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
}

// udhcpc runs busybox udhcpc on eth0 in ns and returns the environment
// its script saw on "bound".
func udhcpc(t *testing.T, ctx context.Context, busybox, ns string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\nenv > \""+dir+"/$1\"\n"), 0o755)
	out, err := netnstest.Exec(ctx, ns, busybox, "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "5", "-T", "1", "-s", script)
	if err != nil {
		t.Fatalf("udhcpc in %s: %v\n%s", ns, err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "bound"))
	if err != nil {
		t.Fatalf("udhcpc in %s: no lease: %v\n%s", ns, err, out)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	return env
}

// applyLease configures eth0 in ns as a DHCP client script would.
func applyLease(t *testing.T, ns string, env map[string]string) {
	t.Helper()
	h := nsHandle(t, ns)
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	var mtu int
	fmt.Sscan(env["mtu"], &mtu)
	if err := h.LinkSetMTU(eth0, mtu); err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(eth0, &netlink.Addr{IPNet: ipNet(env["ip"] + "/" + env["mask"])}); err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(env["staticroutes"])
	for i := 0; i+1 < len(f); i += 2 {
		_, dst, err := net.ParseCIDR(f[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := h.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Dst: dst, Gw: net.ParseIP(f[i+1])}); err != nil {
			t.Fatalf("route %s via %s: %v", f[i], f[i+1], err)
		}
	}
}

// httpGet fetches url from inside namespace ns.
func httpGet(t *testing.T, ns, url string) (int, string) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		d := net.Dialer{Timeout: 2 * time.Second}
		err = netns.Do(ns, func() (err error) { c, err = d.DialContext(ctx, network, addr); return err })
		return c, err
	}}
	cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var resp *http.Response
	var err error
	for try := 0; try < 3; try++ { // a fresh path may lose its first SYN
		if resp, err = cl.Get(url); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("GET %s from %s: %v", url, ns, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustTalk(t *testing.T, ns, addr, wantPrefix string) {
	t.Helper()
	var got string
	var err error
	for try := 0; try < 3; try++ {
		if got, err = netnstest.Talk(ns, addr, "", 0); err == nil && strings.HasPrefix(got, wantPrefix) {
			return
		}
	}
	t.Errorf("%s -> %s: got %q, %v; want an answer starting %q", ns, addr, got, err, wantPrefix)
}

func mustBlock(t *testing.T, ns, addr string) {
	t.Helper()
	if got, err := netnstest.Talk(ns, addr, "", 0); err == nil {
		t.Errorf("%s -> %s got through: %q", ns, addr, got)
	}
}
