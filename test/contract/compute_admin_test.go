package contract

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/diagnostics"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/remoteconsoles"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/nubo-cloud/nubo/internal/cloud"
	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

// Admin APIs: server diagnostics, os-server-external-events, os-agents,
// os-instance_usage_audit_log, and admin-only server actions and filters.

func TestCompute_Diagnostics(t *testing.T) {
	c, sc, img := serversCloud(t, "2.48")
	ctx := context.Background()
	s := bootServer(t, sc, img, "diag")
	waitStatus(t, sc, s.ID, "ACTIVE")

	d := must(diagnostics.Get(ctx, sc, s.ID).Extract())(t)
	mem, _ := d["memory_details"].(map[string]any)
	cpus, _ := d["cpu_details"].([]any)
	if d["state"] != "running" || d["driver"] != "libvirt" || d["num_cpus"] != float64(1) || len(cpus) != 1 ||
		mem["maximum"] != float64(128) || d["num_disks"] != float64(1) || d["uptime"] == nil {
		t.Fatalf("diagnostics = %v", d)
	}
	for _, k := range []string{"hypervisor", "hypervisor_os", "config_drive", "num_nics", "nic_details", "disk_details"} {
		if _, ok := d[k]; !ok {
			t.Fatalf("diagnostics lack %s: %v", k, d)
		}
	}
	old := must(diagnostics.Get(ctx, computeClient(t, c, "2.47"), s.ID).Extract())(t)
	if old["memory"] != float64(128*1024) {
		t.Fatalf("pre-2.48 diagnostics = %v", old)
	}
	_, err := diagnostics.Get(ctx, sc, "6b3c3c5e-8d5e-4b43-9d47-7d2f5a9b0c11").Extract()
	wantStatus(t, err, http.StatusNotFound)

	member := newTenant(t, c.Admin(t), "diag-user", "member").client(t, c)
	msc := computeClient(t, c, "2.48")
	msc.ProviderClient = member.ProviderClient
	_, err = diagnostics.Get(ctx, msc, s.ID).Extract()
	wantStatus(t, err, http.StatusForbidden)
}

func TestCompute_ExternalEvents(t *testing.T) {
	c, sc, img := serversCloud(t, "2.51")
	s := bootServer(t, sc, img, "events")
	waitStatus(t, sc, s.ID, "ACTIVE")
	missing := "6b3c3c5e-8d5e-4b43-9d47-7d2f5a9b0c11"

	type event struct {
		Name   string `json:"name"`
		Server string `json:"server_uuid"`
		Status string `json:"status"`
		Tag    string `json:"tag"`
		Code   int    `json:"code"`
	}
	var out struct {
		Events []event `json:"events"`
	}
	ok(t, postJSON(t, sc, "os-server-external-events", map[string]any{"events": []map[string]any{
		{"name": "network-changed", "server_uuid": s.ID},
		{"name": "volume-extended", "server_uuid": s.ID, "tag": "vol-1", "status": "completed"},
	}}, &out, 200))
	if len(out.Events) != 2 || out.Events[0] != (event{"network-changed", s.ID, "completed", "", 200}) ||
		out.Events[1] != (event{"volume-extended", s.ID, "completed", "vol-1", 200}) {
		t.Fatalf("events = %+v", out.Events)
	}
	// Some servers missing: 207, each event with its code; all missing: 404.
	out.Events = nil
	ok(t, postJSON(t, sc, "os-server-external-events", map[string]any{"events": []map[string]any{
		{"name": "network-vif-plugged", "server_uuid": s.ID, "status": "failed"},
		{"name": "network-vif-plugged", "server_uuid": missing},
	}}, &out, 207))
	if len(out.Events) != 2 || out.Events[0].Code != 200 || out.Events[0].Status != "failed" || out.Events[1].Code != 404 {
		t.Fatalf("events = %+v", out.Events)
	}
	wantStatus(t, postJSON(t, sc, "os-server-external-events", map[string]any{"events": []map[string]any{
		{"name": "network-changed", "server_uuid": missing}}}, &out, 200), http.StatusNotFound)
	// Bad input: 400.
	for _, body := range []map[string]any{
		{"events": []map[string]any{}},
		{"events": []map[string]any{{"name": "no-such-event", "server_uuid": s.ID}}},
		{"events": []map[string]any{{"name": "network-changed"}}},
		{"events": []map[string]any{{"name": "network-changed", "server_uuid": s.ID, "status": "done"}}},
		{"events": []map[string]any{{"name": "network-changed", "server_uuid": s.ID, "extra": 1}}},
	} {
		wantStatus(t, postJSON(t, sc, "os-server-external-events", body, &out, 200), http.StatusBadRequest)
	}
	// volume-extended needs 2.51.
	wantStatus(t, postJSON(t, computeClient(t, c, "2.50"), "os-server-external-events", map[string]any{"events": []map[string]any{
		{"name": "volume-extended", "server_uuid": s.ID}}}, &out, 200), http.StatusBadRequest)
	// Not for members.
	member := newTenant(t, c.Admin(t), "events-user", "member").client(t, c)
	msc := computeClient(t, c, "2.51")
	msc.ProviderClient = member.ProviderClient
	wantStatus(t, postJSON(t, msc, "os-server-external-events", map[string]any{"events": []map[string]any{
		{"name": "network-changed", "server_uuid": s.ID}}}, &out, 200), http.StatusForbidden)
}

func TestCompute_AgentsAndUsageAudit(t *testing.T) {
	c, sc, _ := serversCloud(t, "2.1")
	ctx := context.Background()
	type agent struct {
		ID           int64  `json:"agent_id"`
		Hypervisor   string `json:"hypervisor"`
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Version      string `json:"version"`
		URL          string `json:"url"`
		MD5          string `json:"md5hash"`
	}
	var one struct {
		A agent `json:"agent"`
	}
	body := map[string]any{"agent": map[string]any{"hypervisor": "kvm", "os": "linux", "architecture": "x86_64",
		"version": "7.0", "url": "http://example.org/a.tgz", "md5hash": "add6bb58e139be103324d04d82d8f545"}}
	ok(t, postJSON(t, sc, "os-agents", body, &one, 200))
	a := one.A
	if a.ID == 0 || a.Hypervisor != "kvm" || a.Version != "7.0" {
		t.Fatalf("agent = %+v", a)
	}
	wantStatus(t, postJSON(t, sc, "os-agents", body, &one, 200), http.StatusConflict)
	xen := map[string]any{"agent": map[string]any{"hypervisor": "xen", "os": "linux", "architecture": "x86_64",
		"version": "1", "url": "http://example.org/x.tgz", "md5hash": "00"}}
	ok(t, postJSON(t, sc, "os-agents", xen, &one, 200))
	wantStatus(t, postJSON(t, sc, "os-agents", map[string]any{"agent": map[string]any{"hypervisor": "kvm"}}, &one, 200), http.StatusBadRequest)
	var list struct {
		Agents []agent `json:"agents"`
	}
	ok(t, getJSON(t, sc, "os-agents?hypervisor=xen", &list))
	if len(list.Agents) != 1 || list.Agents[0].Hypervisor != "xen" {
		t.Fatalf("xen agents = %+v", list.Agents)
	}
	var upd struct {
		A map[string]any `json:"agent"`
	}
	_, err := sc.Put(ctx, sc.ServiceURL("os-agents", itoa(a.ID)), map[string]any{"para": map[string]any{"version": "8.0", "url": "http://example.org/b.tgz", "md5hash": "ff"}}, &upd, &gophercloud.RequestOpts{OkCodes: []int{200}})
	ok(t, err)
	if upd.A["version"] != "8.0" || len(upd.A) != 4 {
		t.Fatalf("updated agent = %v", upd.A)
	}
	_, err = sc.Delete(ctx, sc.ServiceURL("os-agents", itoa(a.ID)), &gophercloud.RequestOpts{OkCodes: []int{200}})
	ok(t, err)
	_, err = sc.Delete(ctx, sc.ServiceURL("os-agents", itoa(a.ID)), &gophercloud.RequestOpts{OkCodes: []int{200}})
	wantStatus(t, err, http.StatusNotFound)
	ok(t, getJSON(t, sc, "os-agents", &list))
	if len(list.Agents) != 1 {
		t.Fatalf("agents after delete = %+v", list.Agents)
	}

	// The usage audit: no host has run one.
	var audit struct {
		L struct {
			Begin    string   `json:"period_beginning"`
			End      string   `json:"period_ending"`
			Hosts    int      `json:"num_hosts"`
			NotRun   []string `json:"hosts_not_run"`
			Status   string   `json:"overall_status"`
			NotRunNo int      `json:"num_hosts_not_run"`
		} `json:"instance_usage_audit_log"`
	}
	ok(t, getJSON(t, sc, "os-instance_usage_audit_log/2026-03-15%2010:00:00", &audit))
	if audit.L.Begin != "2026-02-01 00:00:00" || audit.L.End != "2026-03-01 00:00:00" || audit.L.Hosts == 0 ||
		audit.L.NotRunNo != audit.L.Hosts || len(audit.L.NotRun) != audit.L.Hosts {
		t.Fatalf("audit = %+v", audit.L)
	}
	wantStatus(t, getJSON(t, sc, "os-instance_usage_audit_log/yesterday", &audit), http.StatusBadRequest)
	member := newTenant(t, c.Admin(t), "audit-user", "member").client(t, c)
	msc := computeClient(t, c, "2.1")
	msc.ProviderClient = member.ProviderClient
	wantStatus(t, getJSON(t, msc, "os-instance_usage_audit_log", &audit), http.StatusForbidden)
	wantStatus(t, getJSON(t, msc, "os-instance_usage_audit_log/yesterday", &audit), http.StatusForbidden)
	wantStatus(t, getJSON(t, msc, "os-agents", &list), http.StatusForbidden)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestServers_AdminExtras: resize with OS-DCF:diskConfig, the XenAPI-era
// network actions, and an admin's list with tenant_id but no all_tenants.
func TestServers_AdminExtras(t *testing.T) {
	c, sc, img := serversCloud(t, "2.37")
	ctx := context.Background()
	mine := bootServer(t, sc, img, "admin-own")

	ok(t, servers.Resize(ctx, sc, mine.ID, servers.ResizeOpts{FlavorRef: "84", DiskConfig: "AUTO"}).ExtractErr())
	waitStatus(t, sc, mine.ID, "VERIFY_RESIZE")
	if d := serverDetail(t, sc, mine.ID); d["OS-DCF:diskConfig"] != "AUTO" {
		t.Fatalf("diskConfig after resize = %v", d["OS-DCF:diskConfig"])
	}
	ok(t, servers.ConfirmResize(ctx, sc, mine.ID).ExtractErr())
	waitStatus(t, sc, mine.ID, "ACTIVE")
	wantStatus(t, postJSON(t, sc, "servers/"+mine.ID+"/action", map[string]any{"resize": map[string]any{"flavorRef": "42", "OS-DCF:diskConfig": "SOMETIMES"}}, nil, 202), http.StatusBadRequest)

	for _, action := range []string{"resetNetwork", "injectNetworkInfo"} {
		ok(t, postJSON(t, sc, "servers/"+mine.ID+"/action", map[string]any{action: nil}, nil, 202))
	}

	tn := newTenant(t, c.Admin(t), "other", "member")
	msc := computeClient(t, c, "2.37")
	msc.ProviderClient = tn.client(t, c).ProviderClient
	theirs := bootServer(t, msc, img, "their-own")
	wantStatus(t, postJSON(t, msc, "servers/"+theirs.ID+"/action", map[string]any{"resetNetwork": nil}, nil, 202), http.StatusForbidden)

	names := func(q string) []string {
		var out struct {
			S []struct {
				Name string `json:"name"`
			} `json:"servers"`
		}
		ok(t, getJSON(t, sc, "servers?"+q, &out))
		var ns []string
		for _, s := range out.S {
			ns = append(ns, s.Name)
		}
		return ns
	}
	if got := names("tenant_id=" + tn.Project.ID); !slices.Equal(got, []string{"admin-own"}) {
		t.Fatalf("admin's list with tenant_id only = %v, want its own servers", got)
	}
	if got := names("all_tenants=1&tenant_id=" + tn.Project.ID); !slices.Equal(got, []string{"their-own"}) {
		t.Fatalf("admin's list with all_tenants and tenant_id = %v", got)
	}
}

// TestCompute_ConsoleProxy: the remote console URL opens noVNC's page from
// the console proxy, and its WebSocket path is refused without data for a
// bad token and for a server whose host has no VNC server to reach (the
// simulated host); real guests' consoles are relayed in test/e2e.
func TestCompute_ConsoleProxy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vnc_lite.html"), []byte("<html><title>noVNC</title><script src=\"app/ui.js\"></script></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := runCloud(t, func(cfg *cloud.Config) { cfg.NoVNCDir = dir })
	ctx := context.Background()
	img := uploadImage(t, c)
	sc := computeClient(t, c, "2.37")
	s := bootServer(t, sc, img, "console")

	rc, err := remoteconsoles.Create(ctx, sc, s.ID, remoteconsoles.CreateOpts{Protocol: remoteconsoles.ConsoleProtocolVNC, Type: remoteconsoles.ConsoleTypeNoVNC}).Extract()
	ok(t, err)
	resp, err := http.Get(rc.URL)
	ok(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "noVNC") {
		t.Fatalf("console page %s: %d %q", rc.URL, resp.StatusCode, page)
	}
	u, err := url.Parse(rc.URL)
	ok(t, err)
	ws := "ws://" + u.Host + "/" + u.Query().Get("path")
	for _, target := range []string{ws, strings.Replace(ws, "token=", "token=bad", 1)} {
		conn, resp, err := websocket.Dial(ctx, target, &websocket.DialOptions{Subprotocols: []string{"binary"}})
		if err == nil {
			conn.CloseNow()
			t.Fatalf("%s opened a console on a simulated host", target)
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: %v %v", target, resp, err)
		}
	}
}

// TestServers_MovesAcrossZones: with two hosts in different zones, a
// server created without an availability zone may live-migrate to the
// other zone's host; one created in a zone stays bound to it (the move
// fails, the server stays where it was), as in Nova.
func TestServers_MovesAcrossZones(t *testing.T) {
	t.Parallel()
	c := runCloud(t, func(cfg *cloud.Config) { cfg.FakeHosts = 2 })
	ctx := context.Background()
	img := uploadImage(t, c)
	sc := computeClient(t, c, "2.56")

	var hv struct {
		H []struct {
			Name string `json:"hypervisor_hostname"`
		} `json:"hypervisors"`
	}
	ok(t, getJSON(t, sc, "os-hypervisors", &hv))
	if len(hv.H) != 2 {
		t.Fatalf("hypervisors = %+v, want 2", hv.H)
	}
	first, second := hv.H[0].Name, hv.H[1].Name
	var agg struct {
		A struct {
			ID int `json:"id"`
		} `json:"aggregate"`
	}
	ok(t, postJSON(t, sc, "os-aggregates", map[string]any{"aggregate": map[string]any{"name": "zone2", "availability_zone": "zone2"}}, &agg, 200))
	ok(t, postJSON(t, sc, "os-aggregates/"+itoa(int64(agg.A.ID))+"/action", map[string]any{"add_host": map[string]any{"host": second}}, nil, 200))

	create := func(name, zone string) string {
		opts := servers.CreateOpts{Name: name, ImageRef: img, FlavorRef: "42", Networks: "none", AvailabilityZone: zone}
		sv, err := servers.Create(ctx, sc, opts, nil).Extract()
		ok(t, err)
		waitStatus(t, sc, sv.ID, "ACTIVE")
		return sv.ID
	}
	host := func(id string) string { return serverDetail(t, sc, id)["OS-EXT-SRV-ATTR:host"].(string) }
	free := create("free", "")
	bound := create("bound", "nova")
	if host(bound) != first {
		t.Fatalf("server in zone nova on %s, want %s", host(bound), first)
	}

	other := map[string]string{first: second, second: first}[host(free)]
	ok(t, postJSON(t, sc, "servers/"+free+"/action", map[string]any{"os-migrateLive": map[string]any{"host": other, "block_migration": "auto"}}, nil, 202))
	eventually(t, 10*time.Second, func() bool { return host(free) == other && serverDetail(t, sc, free)["status"] == "ACTIVE" })

	ok(t, postJSON(t, sc, "servers/"+bound+"/action", map[string]any{"migrate": map[string]any{"host": second}}, nil, 202))
	eventually(t, 10*time.Second, func() bool {
		var ms struct {
			M []struct {
				Instance string `json:"instance_uuid"`
				Status   string `json:"status"`
			} `json:"migrations"`
		}
		ok(t, getJSON(t, sc, "os-migrations?instance_uuid="+bound, &ms))
		return len(ms.M) == 1 && ms.M[0].Status == "error"
	})
	if h, st := host(bound), serverDetail(t, sc, bound)["status"]; h != first || st != "ACTIVE" {
		t.Fatalf("bound server on %s (%v) after a move to another zone, want %s ACTIVE", h, st, first)
	}
}

func eventually(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not so after %v", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServers_SameAndDifferentHostHints: the same_host and different_host
// scheduler hints place servers with or away from the servers they name.
func TestServers_SameAndDifferentHostHints(t *testing.T) {
	t.Parallel()
	c := runCloud(t, func(cfg *cloud.Config) { cfg.FakeHosts = 2 })
	img := uploadImage(t, c)
	sc := computeClient(t, c, "2.37")
	host := func(id string) string { return serverDetail(t, sc, id)["OS-EXT-SRV-ATTR:host"].(string) }
	create := func(name string, hints map[string]any, code int) string {
		t.Helper()
		var out struct {
			S struct {
				ID string `json:"id"`
			} `json:"server"`
		}
		err := postJSON(t, sc, "servers", map[string]any{"server": map[string]any{"name": name, "imageRef": img, "flavorRef": "42", "networks": "none"},
			"os:scheduler_hints": hints}, &out, 202)
		if code != 202 {
			wantStatus(t, err, code)
			return ""
		}
		ok(t, err)
		waitStatus(t, sc, out.S.ID, "ACTIVE")
		return out.S.ID
	}
	a := create("a", nil, 202)
	for i := range 3 {
		if b := create("apart", map[string]any{"different_host": []string{a}}, 202); host(b) == host(a) {
			t.Fatalf("different_host server %d on %s with %s", i, host(b), host(a))
		}
		if s := create("with", map[string]any{"same_host": a}, 202); host(s) != host(a) {
			t.Fatalf("same_host server %d on %s, not with %s", i, host(s), host(a))
		}
	}
	create("bad", map[string]any{"same_host": "not-a-uuid"}, http.StatusBadRequest)
	create("bad", map[string]any{"different_host": []any{a, 7}}, http.StatusBadRequest)
}

// runCloud starts an in-process cloud configured by configure, running
// until the test ends.
func runCloud(t *testing.T, configure func(*cloud.Config)) *cloudtest.Cloud {
	t.Helper()
	c := cloudtest.NewWith(t, configure, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}
