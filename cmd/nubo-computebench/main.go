// Command nubo-computebench is the compute scale benchmark (issue 5): a
// simulated cloud of N fake hosts in which M servers are created through the
// Compute API by C concurrent clients, until every one is ACTIVE.
//
// It starts an in-process cloud (SQLite in a temp dir, the real HTTP API on
// a loopback listener, the control-plane reconcilers and the fake host),
// registers the fake hosts, makes P projects with unlimited compute quotas
// and one public image, then times the creates (POST /servers, networks
// "none") and follows the store's change feed to see each server become
// ACTIVE. It prints creates/s, create latency, the time until the last
// server is ACTIVE (servers/s to ACTIVE), each server's time from create to
// ACTIVE, the scheduler's time per decision (every scheduler.Place: wall time,
// judged on its mean, and its thread's CPU time; p99 of both shown) and the
// process's RSS at the end (VmRSS and its peak VmHWM; the process holds the
// clients as well as the cloud).
//
//	nubo-computebench [-hosts 1000] [-servers 10000] [-concurrency 16] [-projects 100]
//	                  [-dir DIR] [-cpuprofile FILE] [-memprofile FILE] [-trace FILE] [-timeout 10m]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/nubo-cloud/nubo/internal/bench"
	"github.com/nubo-cloud/nubo/internal/cloud"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/compute/fakehost"
	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

// Targets of issue 5.
const (
	targetActivePerSec = 500
	targetPlace        = time.Millisecond
	targetRSS          = 300 << 20
)

type options struct {
	hosts, servers, conc, projects int
	flavor                         string
	dir, cpuProfile, memProfile    string
	traceFile                      string
	timeout                        time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.hosts, "hosts", 1000, "fake compute hosts to register")
	flag.IntVar(&o.servers, "servers", 10000, "servers to create")
	flag.IntVar(&o.conc, "concurrency", 16, "concurrent API clients")
	flag.IntVar(&o.projects, "projects", 100, "projects the servers are spread over (round robin)")
	flag.StringVar(&o.flavor, "flavor", "42", "flavor of every server (42 is m1.nano: 1 vCPU, 128 MB, 1 GB)")
	flag.StringVar(&o.dir, "dir", "", "data dir (default: a temp dir, removed at exit)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured phase to this file")
	flag.StringVar(&o.memProfile, "memprofile", "", "write a heap profile at the end to this file")
	flag.StringVar(&o.traceFile, "trace", "", "write an execution trace of the measured phase to this file")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up when not every server is ACTIVE after this long")
	flag.Parse()
	if o.hosts < 1 || o.servers < 1 || o.conc < 1 || o.projects < 1 {
		fmt.Fprintln(os.Stderr, "nubo-computebench: -hosts, -servers, -concurrency and -projects must be >= 1")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "nubo-computebench:", err)
		os.Exit(1)
	}
}

// client speaks JSON to the API with one token.
type client struct {
	base, token string
	http        *http.Client
}

func (c *client) do(ctx context.Context, method, path string, hdr map[string]string, body, out any) (*http.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode >= 300 {
		return resp, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp, nil
}

// tokenFor issues a token for the admin user scoped to project (by ID, or
// the admin project by name when "").
func tokenFor(ctx context.Context, hc *http.Client, base, password, project string) (tok, userID, projectID string, err error) {
	scope := map[string]any{"project": map[string]any{"name": "admin", "domain": map[string]string{"name": "Default"}}}
	if project != "" {
		scope = map[string]any{"project": map[string]any{"id": project}}
	}
	body := map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
		"user": map[string]any{"name": "admin", "password": password, "domain": map[string]string{"name": "Default"}}}},
		"scope": scope}}
	var out struct {
		Token struct {
			User    struct{ ID string } `json:"user"`
			Project struct{ ID string } `json:"project"`
		} `json:"token"`
	}
	c := &client{base: base, http: hc}
	resp, err := c.do(ctx, "POST", "/identity/v3/auth/tokens", nil, body, &out)
	if err != nil {
		return "", "", "", err
	}
	return resp.Header.Get("X-Subject-Token"), out.Token.User.ID, out.Token.Project.ID, nil
}

// placeStats collects every scheduling decision's duration: wall time and
// the CPU time of its thread (wall less the time other goroutines of this
// busy 2-core process, the 16 clients among them, held the CPU).
type placeStats struct {
	mu    sync.Mutex
	took  []time.Duration
	cpu   []time.Duration
	hosts int
}

func (p *placeStats) add(hosts int, d, cpu time.Duration) {
	p.mu.Lock()
	p.took = append(p.took, d)
	p.cpu = append(p.cpu, cpu)
	p.hosts = max(p.hosts, hosts)
	p.mu.Unlock()
}

// watcher follows the change feed and notes when each server first shows
// ACTIVE (or ERROR).
type watcher struct {
	st       store.Store
	mu       sync.Mutex
	activeAt map[string]time.Time
	failed   map[string]string
	changed  chan struct{}
}

func (w *watcher) run(ctx context.Context, from int64) error {
	rev := from
	for ctx.Err() == nil {
		changes, err := w.st.Changes(ctx, rev, 5000)
		if err != nil {
			return err
		}
		var ids []string
		seen := map[string]bool{}
		for _, ch := range changes {
			rev = ch.Rev
			if ch.Kind == compute.KindServer && !ch.Deleted && !seen[ch.ID] {
				seen[ch.ID] = true
				ids = append(ids, ch.ID)
			}
		}
		if len(ids) > 0 {
			now := time.Now()
			type status struct {
				Status string `json:"status"`
				Fault  *struct {
					Message string `json:"message"`
				} `json:"fault"`
			}
			err := w.st.Read(ctx, func(tx store.ReadTx) error {
				w.mu.Lock()
				defer w.mu.Unlock()
				for _, id := range ids {
					if _, done := w.activeAt[id]; done {
						continue
					}
					sv, err := store.Get[status](tx, compute.KindServer, id)
					if err != nil {
						continue
					}
					switch sv.Status {
					case "ACTIVE":
						w.activeAt[id] = now
						delete(w.failed, id)
					case "ERROR":
						msg := "ERROR"
						if sv.Fault != nil {
							msg = sv.Fault.Message
						}
						w.failed[id] = msg
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			select {
			case w.changed <- struct{}{}:
			default:
			}
		}
		if len(changes) == 5000 {
			continue
		}
		if _, err := w.st.Wait(ctx, rev); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

func (w *watcher) counts() (active, failed int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.activeAt), len(w.failed)
}

func run(o options) (err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if o.dir == "" {
		d, err := os.MkdirTemp("", "nubo-computebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.dir = d
	}
	st, err := sqlite.Open(ctx, filepath.Join(o.dir, "nubo.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	const password = "computebench-admin"
	cfg := cloud.Config{PublicURL: base, AdminPassword: password, DataDir: o.dir, Identity: identity.DefaultConfig()}
	cfg.Identity.BcryptCost = 4
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cl, err := cloud.New(ctx, st, cfg, log)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: cl.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // closed at exit
	defer srv.Close()
	loops := make(chan error, 1)
	go func() { loops <- cl.Run(ctx) }()
	defer func() { cancel(); <-loops }()

	// Hosts: registered directly (as host agents will), 64 vCPU ×16 and
	// 256 GiB each, so that capacity never runs out.
	t0 := time.Now()
	comp := compute.New(st, log)
	for i := range o.hosts {
		name := fmt.Sprintf("fake-%04d", i)
		if _, err := comp.RegisterHost(ctx, compute.HostSpec{Name: name, HypervisorHostname: name, HypervisorType: "QEMU", HypervisorVersion: 8002000,
			HostIP: "127.0.0.1", Driver: fakehost.Driver, Inventory: map[string]scheduler.Inventory{
				scheduler.VCPU:     {Total: 64, MinUnit: 1, MaxUnit: 64, StepSize: 1, AllocationRatio: 16},
				scheduler.MemoryMB: {Total: 262144, Reserved: 512, MinUnit: 1, MaxUnit: 262144, StepSize: 1, AllocationRatio: 1.5},
				scheduler.DiskGB:   {Total: 4000, MinUnit: 1, MaxUnit: 4000, StepSize: 1, AllocationRatio: 1},
			}}); err != nil {
			return fmt.Errorf("register host %s: %w", name, err)
		}
	}
	fmt.Fprintf(os.Stderr, "registered %d fake hosts in %v\n", o.hosts, time.Since(t0).Round(time.Millisecond))

	hc := &http.Client{Transport: bench.NewTransport(o.conc * 2), Timeout: time.Minute}
	adminTok, adminID, adminProject, err := tokenFor(ctx, hc, base, password, "")
	if err != nil {
		return err
	}
	admin := &client{base: base, token: adminTok, http: hc}
	var roles struct {
		Roles []struct{ ID, Name string } `json:"roles"`
	}
	if _, err := admin.do(ctx, "GET", "/identity/v3/roles?name=member", nil, nil, &roles); err != nil {
		return err
	}
	if len(roles.Roles) == 0 {
		return errors.New("no member role")
	}
	memberRole := roles.Roles[0].ID

	// Projects: each with unlimited compute quotas; the admin is a member.
	clients := make([]*client, o.projects)
	for i := range o.projects {
		var p struct {
			Project struct{ ID string } `json:"project"`
		}
		if _, err := admin.do(ctx, "POST", "/identity/v3/projects", nil, map[string]any{"project": map[string]any{"name": fmt.Sprintf("bench-%03d", i), "domain_id": "default"}}, &p); err != nil {
			return err
		}
		if _, err := admin.do(ctx, "PUT", "/identity/v3/projects/"+p.Project.ID+"/users/"+adminID+"/roles/"+memberRole, nil, nil, nil); err != nil {
			return err
		}
		if _, err := admin.do(ctx, "PUT", "/compute/v2.1/os-quota-sets/"+p.Project.ID, nil, map[string]any{"quota_set": map[string]int{"instances": -1, "cores": -1, "ram": -1}}, nil); err != nil {
			return err
		}
		tok, _, _, err := tokenFor(ctx, hc, base, password, p.Project.ID)
		if err != nil {
			return err
		}
		clients[i] = &client{base: base, token: tok, http: hc}
	}
	_ = adminProject

	// One public image with a few bytes.
	var img struct{ ID string }
	if _, err := admin.do(ctx, "POST", "/image/v2/images", nil, map[string]any{"name": "bench", "disk_format": "raw", "container_format": "bare", "visibility": "public"}, &img); err != nil {
		return err
	}
	if _, err := admin.do(ctx, "PUT", "/image/v2/images/"+img.ID+"/file", map[string]string{"Content-Type": "application/octet-stream"}, []byte("nubo-computebench image"), nil); err != nil {
		return err
	}

	// Measure from here.
	var ps placeStats
	scheduler.SetPlaceHook(ps.add)
	defer scheduler.SetPlaceHook(nil)
	rev, err := st.Revision(ctx)
	if err != nil {
		return err
	}
	w := &watcher{st: st, activeAt: map[string]time.Time{}, failed: map[string]string{}, changed: make(chan struct{}, 1)}
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	werr := make(chan error, 1)
	go func() { werr <- w.run(wctx, rev) }()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	if o.traceFile != "" {
		f, err := os.Create(o.traceFile)
		if err != nil {
			return err
		}
		if err := trace.Start(f); err != nil {
			return err
		}
		defer func() { trace.Stop(); f.Close() }()
	}

	fmt.Fprintf(os.Stderr, "creating %d servers on %d hosts at concurrency %d over %d projects...\n", o.servers, o.hosts, o.conc, o.projects)
	lat := make([]time.Duration, o.servers)
	startAt := make([]time.Time, o.servers)
	ids := make([]string, o.servers)
	var next, failedCreates atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	hdr := map[string]string{"OpenStack-API-Version": "compute 2.37"}
	cpu0, err := bench.SelfCPUTime()
	if err != nil {
		return err
	}
	start := time.Now()
	for range o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= o.servers {
					return
				}
				c := clients[i%len(clients)]
				body := map[string]any{"server": map[string]any{"name": "bench-" + strconv.Itoa(i), "imageRef": img.ID, "flavorRef": o.flavor, "networks": "none"}}
				var out struct {
					Server struct{ ID string } `json:"server"`
				}
				t := time.Now()
				_, err := c.do(ctx, "POST", "/compute/v2.1/servers", hdr, body, &out)
				lat[i], startAt[i], ids[i] = time.Since(t), t, out.Server.ID
				if err != nil {
					failedCreates.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	created := time.Since(start)
	fmt.Fprintf(os.Stderr, "%d creates in %v (%d failed)\n", o.servers, created.Round(time.Millisecond), failedCreates.Load())
	if n := failedCreates.Load(); n > 0 {
		return fmt.Errorf("%d creates failed; first: %v", n, firstErr.Load())
	}

	// Wait until every server is ACTIVE (or in ERROR).
	deadline := time.NewTimer(o.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		active, failed := w.counts()
		if active+failed >= o.servers {
			break
		}
		select {
		case <-w.changed:
		case <-tick.C:
			fmt.Fprintf(os.Stderr, "  %v: %d ACTIVE, %d ERROR\n", time.Since(start).Round(time.Second), active, failed)
		case err := <-werr:
			return fmt.Errorf("watch: %w", err)
		case <-deadline.C:
			return fmt.Errorf("after %v only %d of %d servers are ACTIVE (%d ERROR)", o.timeout, active, o.servers, failed)
		}
	}
	wcancel()
	<-werr
	cpu1, err := bench.SelfCPUTime()
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if o.traceFile != "" {
		trace.Stop()
	}
	scheduler.SetPlaceHook(nil)

	var last time.Time
	toActive := make([]time.Duration, 0, o.servers)
	w.mu.Lock()
	for i, id := range ids {
		if at, ok := w.activeAt[id]; ok {
			toActive = append(toActive, at.Sub(startAt[i]))
			if at.After(last) {
				last = at
			}
		}
	}
	failedMsgs := map[string]int{}
	for _, m := range w.failed {
		failedMsgs[m]++
	}
	w.mu.Unlock()
	allActive := last.Sub(start)

	runtime.GC()
	rss, hwm, err := readRSS()
	if err != nil {
		return err
	}
	if o.memProfile != "" {
		f, err := os.Create(o.memProfile)
		if err != nil {
			return err
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			return err
		}
		f.Close()
	}

	cs := bench.Summarize(lat)
	as := bench.Summarize(toActive)
	ps.mu.Lock()
	pls := bench.Summarize(ps.took)
	plsCPU := bench.Summarize(ps.cpu)
	hostsSeen := ps.hosts
	ps.mu.Unlock()
	activePerSec := float64(len(toActive)) / allActive.Seconds()

	fmt.Printf("nubo-computebench: %d servers (flavor %s) on %d fake hosts (+%d bootstrap host), %d concurrent clients, %d projects, %s/%s, GOMAXPROCS %d\n\n",
		o.servers, o.flavor, o.hosts, hostsSeen-o.hosts, o.conc, o.projects, runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\tvalue\ttarget\t\n")
	fmt.Fprintf(tw, "creates (202 Accepted)\t%d in %v\t\t\n", o.servers, created.Round(time.Millisecond))
	fmt.Fprintf(tw, "creates/s\t%.0f\t\t\n", float64(o.servers)/created.Seconds())
	fmt.Fprintf(tw, "create latency p50 / p99 / max\t%s / %s / %s\t\t\n", ms(cs.P50), ms(cs.P99), ms(cs.Max))
	fmt.Fprintf(tw, "time until the last is ACTIVE\t%v\t\t\n", allActive.Round(time.Millisecond))
	fmt.Fprintf(tw, "servers/s to ACTIVE\t%.0f\t>= %d %s\t\n", activePerSec, targetActivePerSec, verdict(activePerSec >= targetActivePerSec))
	fmt.Fprintf(tw, "create -> ACTIVE per server p50 / p99\t%s / %s\t\t\n", ms(as.P50), ms(as.P99))
	fmt.Fprintf(tw, "ACTIVE / ERROR\t%d / %d\t\t\n", len(toActive), o.servers-len(toActive))
	fmt.Fprintf(tw, "scheduler decisions (Place calls)\t%d over %d hosts\t\t\n", pls.Count, hostsSeen)
	fmt.Fprintf(tw, "scheduler wall time per decision mean / p99\t%s / %s\tmean < %s %s\t\n", ms(pls.Mean), ms(pls.P99), ms(targetPlace), verdict(pls.Count > 0 && pls.Mean < targetPlace))
	fmt.Fprintf(tw, "scheduler CPU time per decision mean / p99\t%s / %s\t(wall less waits for the CPU)\t\n", ms(plsCPU.Mean), ms(plsCPU.P99))
	fmt.Fprintf(tw, "CPU used (whole process, clients included)\t%.2f cores of %d, %s per server\t\t\n",
		(cpu1-cpu0).Seconds()/time.Since(start).Seconds(), runtime.NumCPU(), ms((cpu1-cpu0)/time.Duration(o.servers)))
	fmt.Fprintf(tw, "RSS at the end (VmRSS)\t%s MiB\t< %d MiB %s\t\n", mib(rss), targetRSS>>20, verdict(rss < targetRSS))
	fmt.Fprintf(tw, "peak RSS (VmHWM)\t%s MiB\t< %d MiB %s\t\n", mib(hwm), targetRSS>>20, verdict(hwm < targetRSS))
	if err := tw.Flush(); err != nil {
		return err
	}
	for m, n := range failedMsgs {
		fmt.Printf("\n%d servers in ERROR: %s\n", n, m)
	}
	return nil
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + " ms"
}

func mib(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// readRSS returns VmRSS and VmHWM of this process, in bytes.
func readRSS() (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	if rss, err = bench.ParseStatusRSS(string(b)); err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return 0, 0, fmt.Errorf("VmHWM: %w", err)
				}
				return rss, kb * 1024, nil
			}
		}
	}
	return 0, 0, errors.New("no VmHWM in /proc/self/status")
}
