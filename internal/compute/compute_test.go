package compute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

func newService(t *testing.T) (*Service, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "nubo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st, slog.New(slog.DiscardHandler)), st
}

func admin() context.Context {
	return policy.NewContext(context.Background(), &policy.Credentials{UserID: "u-admin", ProjectID: "p-admin", Roles: []string{"admin", "member", "reader"}})
}

func member(project, user string) context.Context {
	return policy.NewContext(context.Background(), &policy.Credentials{UserID: user, ProjectID: project, Roles: []string{"member", "reader"}})
}

// TestClaim_ConcurrentNeverOverCommits races many claims for one small host:
// exactly as many succeed as fit, and usage never exceeds capacity.
func TestClaim_ConcurrentNeverOverCommits(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	h, err := s.RegisterHost(ctx, HostSpec{Name: "small", Inventory: map[string]scheduler.Inventory{
		scheduler.VCPU:     {Total: 4, AllocationRatio: 1},
		scheduler.MemoryMB: {Total: 4096, AllocationRatio: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Claim(ctx, ClaimRequest{ConsumerID: fmt.Sprint("server-", i), ProjectID: "p", HostID: h.ID,
				Resources: scheduler.Resources{scheduler.VCPU: 1, scheduler.MemoryMB: 512}})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrNoCapacity):
			t.Fatalf("claim: %v", err)
		}
	}
	if ok != 4 {
		t.Fatalf("%d claims succeeded, want 4 (4 vCPU)", ok)
	}
	var used int64
	st.Read(ctx, func(tx store.ReadTx) error {
		as, _ := store.List[Allocation](tx, KindAllocation, store.ListOptions{Ref: h.ID})
		for _, a := range as {
			used += a.Resources[scheduler.VCPU]
		}
		return nil
	})
	if used != 4 {
		t.Fatalf("allocated %d vCPU, want 4", used)
	}
}

// TestSchedule_ConcurrentFillsCloud schedules concurrently over two hosts.
func TestSchedule_ConcurrentFillsCloud(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if _, err := s.RegisterHost(ctx, HostSpec{Name: name, Inventory: map[string]scheduler.Inventory{
			scheduler.VCPU: {Total: 3, AllocationRatio: 1}, scheduler.MemoryMB: {Total: 4096, AllocationRatio: 1},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed := map[string]int{}
	failed := 0
	for i := range 10 {
		wg.Go(func() {
			p, err := s.Schedule(ctx, ClaimRequest{ConsumerID: fmt.Sprint("s", i)}, scheduler.Request{Resources: scheduler.Resources{scheduler.VCPU: 1, scheduler.MemoryMB: 128}})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			placed[p.HostName]++
		})
	}
	wg.Wait()
	if placed["a"] > 3 || placed["b"] > 3 || placed["a"]+placed["b"] != 6 || failed != 4 {
		t.Fatalf("placed %v, failed %d; want 3+3 and 4 failures", placed, failed)
	}
}

func TestQuota_KeypairsAndGroups(t *testing.T) {
	s, _ := newService(t)
	if _, err := s.UpdateQuotas(admin(), "p1", "", map[string]int64{"key_pairs": 1, "server_groups": 1}, false); err != nil {
		t.Fatal(err)
	}
	ctx := member("p1", "u1")
	if _, err := s.CreateKeypair(ctx, KeypairRequest{Name: "k1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateKeypair(ctx, KeypairRequest{Name: "k2"}); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("second keypair over quota: %v", err)
	}
	if _, err := s.CreateServerGroup(ctx, "g", "affinity", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateServerGroup(ctx, "g2", "affinity", nil); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("second group over quota: %v", err)
	}
	q, err := s.QuotaSet(ctx, "p1", "u1")
	if err != nil {
		t.Fatal(err)
	}
	if q["key_pairs"] != (QuotaUsage{Limit: 1, InUse: 1}) || q["server_groups"] != (QuotaUsage{Limit: 1, InUse: 1}) || q["instances"].Limit != 10 {
		t.Fatalf("quota set = %+v", q)
	}
	// Lowering below usage needs force.
	if _, err := s.UpdateQuotas(admin(), "p1", "", map[string]int64{"server_groups": 0}, false); !fault.Is(err, fault.BadRequest) {
		t.Fatalf("lower below usage: %v", err)
	}
	if _, err := s.UpdateQuotas(admin(), "p1", "", map[string]int64{"server_groups": 0}, true); err != nil {
		t.Fatalf("forced: %v", err)
	}
	if _, err := s.UpdateQuotas(ctx, "p1", "", map[string]int64{"cores": 1}, false); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("member updates quota: %v", err)
	}
}

func TestUsageMath(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { x := t0.Add(time.Duration(h) * time.Hour); return &x }
	f := Flavor{Name: "m1", VCPUs: 2, RAM: 1024, Disk: 10}
	servers := []Server{
		{ID: "a", ProjectID: "p", Flavor: f, CreatedAt: *at(0), LaunchedAt: at(0)},                      // whole period
		{ID: "b", ProjectID: "p", Flavor: f, CreatedAt: *at(2), LaunchedAt: at(2), TerminatedAt: at(5)}, // 3 h
		{ID: "c", ProjectID: "q", Flavor: f, CreatedAt: *at(-5), LaunchedAt: at(-5), TerminatedAt: at(-1)},
	}
	us := usageOf(servers, *at(0), *at(10), *at(100))
	if len(us) != 1 || us[0].ProjectID != "p" {
		t.Fatalf("usage = %+v", us)
	}
	u := us[0]
	if u.TotalHours != 13 || u.TotalVCPUsUsage != 26 || u.TotalMemoryMB != 13*1024 || u.TotalLocalGB != 130 || len(u.Servers) != 2 {
		t.Fatalf("usage = %+v", u)
	}
}

func TestBootstrap_Idempotent(t *testing.T) {
	s, _ := newService(t)
	for range 2 {
		if err := s.Bootstrap(context.Background(), BootstrapConfig{ControlHost: "ctl", FakeHost: true}); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := s.ListFlavors(admin(), FlavorFilter{})
	if err != nil || len(fs) != len(DefaultFlavors) {
		t.Fatalf("flavors %d (%v)", len(fs), err)
	}
	hs, err := s.ListHosts(admin())
	if err != nil || len(hs) != 1 || hs[0].Status() != "enabled" {
		t.Fatalf("hosts %+v (%v)", hs, err)
	}
	// A deleted default flavor stays deleted.
	if err := s.DeleteFlavor(admin(), "42"); err != nil {
		t.Fatal(err)
	}
	s.Bootstrap(context.Background(), BootstrapConfig{ControlHost: "ctl"})
	if _, err := s.GetFlavor(admin(), "42"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("deleted flavor came back: %v", err)
	}
}

func TestSanitizeHostname(t *testing.T) {
	for in, want := range map[string]string{
		"guest-instance-1.domain.com": "guest-instance-1-domain-com",
		"My Server_01":                "my-server-01",
		"..édge..":                    "dge",
		"-_ .":                        "server",
		"a" + strings.Repeat("b", 70): "a" + strings.Repeat("b", 62),
	} {
		if got := sanitizeHostname(in); got != want {
			t.Errorf("sanitizeHostname(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTailLines(t *testing.T) {
	for _, c := range []struct {
		log  string
		n    int
		want string
	}{
		{"a\nb\nc\n", 3, "b\nc\n"},
		{"a\nb\nc\n", 2, "c\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n", 10, "a\nb\nc\n"},
		{"a\nb\nc\n", 0, ""},
		{"a\nb\nc\n", -1, "a\nb\nc\n"},
	} {
		if got := tailLines(c.log, c.n); got != c.want {
			t.Errorf("tailLines(%q, %d) = %q, want %q", c.log, c.n, got, c.want)
		}
		if c.n > 0 && c.n < len(strings.Split(c.log, "\n")) && len(strings.Split(tailLines(c.log, c.n), "\n")) != c.n {
			t.Errorf("tailLines(%q, %d) has not %d fields", c.log, c.n, c.n)
		}
	}
}
