package fakehost_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/compute/fakehost"
	"github.com/nubo-cloud/nubo/internal/image"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

// fakeImages serves one active image for any ID. It does not model data,
// visibility or snapshots.
type fakeImages struct{}

var _ compute.Images = fakeImages{}

func (fakeImages) Get(_ context.Context, id string) (*image.Image, error) {
	return &image.Image{ID: id, Status: image.StatusActive}, nil
}
func (fakeImages) Create(context.Context, map[string]any) (*image.Image, error) {
	return &image.Image{ID: "snap", Status: image.StatusQueued}, nil
}
func (fakeImages) Upload(context.Context, string, io.Reader, int64) (*image.Image, error) {
	return nil, nil
}
func (fakeImages) Download(context.Context, string) (io.ReadSeekCloser, int64, *image.Image, error) {
	return nil, 0, nil, nil
}
func (fakeImages) Delete(context.Context, string) error { return nil }
func (fakeImages) List(context.Context, image.ListOptions) ([]image.Image, bool, error) {
	return nil, false, nil
}

func creds(project string, roles ...string) context.Context {
	return policy.NewContext(context.Background(), &policy.Credentials{UserID: "u-" + project, ProjectID: project, Roles: roles})
}

// TestScale_1000ServersOn50FakeHosts creates more servers than 50 fake
// hosts hold: every server ends ACTIVE or in ERROR with "No valid host",
// no host is ever over-committed, and exactly the capacity is used.
func TestScale_1000ServersOn50FakeHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("scale simulation")
	}
	const hosts, servers, perHostVCPU, workers = 50, 1000, 16, 8
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nubo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	c := compute.New(st, log)
	c.SetImages(fakeImages{})
	if err := c.Bootstrap(ctx, compute.BootstrapConfig{ControlHost: "ctl"}); err != nil {
		t.Fatal(err)
	}
	for i := range hosts {
		if _, err := c.RegisterHost(ctx, compute.HostSpec{Name: fmt.Sprintf("fake-%02d", i), HypervisorHostname: fmt.Sprintf("fake-%02d", i),
			HypervisorType: "QEMU", Driver: fakehost.Driver, Inventory: map[string]scheduler.Inventory{
				scheduler.VCPU:     {Total: perHostVCPU, MaxUnit: perHostVCPU, AllocationRatio: 1},
				scheduler.MemoryMB: {Total: 65536, AllocationRatio: 1},
				scheduler.DiskGB:   {Total: 10000, AllocationRatio: 1},
			}}); err != nil {
			t.Fatal(err)
		}
	}
	adm := creds("p-admin", "admin", "member", "reader")
	projects := 20
	for p := range projects {
		if _, err := c.UpdateQuotas(adm, fmt.Sprintf("p-%02d", p), "", map[string]int64{"instances": -1, "cores": -1, "ram": -1}, true); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = compute.NewServerReconciler(c).Run(ctx) }()
	go func() { defer wg.Done(); _ = fakehost.New(c, fakeImages{}, log).Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	start := time.Now()
	jobs := make(chan int)
	errs := make(chan error, servers)
	var cw sync.WaitGroup
	for range workers {
		cw.Add(1)
		go func() {
			defer cw.Done()
			for i := range jobs {
				pctx := creds(fmt.Sprintf("p-%02d", i%projects), "member", "reader")
				if _, err := c.CreateServer(pctx, compute.CreateServerRequest{Name: fmt.Sprintf("s-%04d", i), ImageRef: "img", FlavorRef: "42", NoNetwork: true}); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range servers {
		jobs <- i
	}
	close(jobs)
	cw.Wait()
	created := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatalf("create: %v", err)
	}
	var active, failed int
	deadline := time.Now().Add(5 * time.Minute)
	for {
		list, err := c.ListServers(creds("p-admin", "admin", "member", "reader"), compute.ListServersOptions{AllProjects: true})
		if err != nil {
			t.Fatal(err)
		}
		active, failed = 0, 0
		pending := 0
		for _, sv := range list {
			switch sv.Status {
			case "ACTIVE":
				active++
			case "ERROR":
				failed++
				if sv.Fault == nil || sv.Fault.Message != "No valid host was found. There are not enough hosts available." {
					t.Fatalf("server %s in ERROR with fault %+v", sv.ID, sv.Fault)
				}
			default:
				pending++
			}
		}
		if pending == 0 && len(list) == servers {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d servers still pending", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	converged := time.Since(start)
	hv, err := c.ListHosts(adm)
	if err != nil {
		t.Fatal(err)
	}
	used := int64(0)
	for _, h := range hv {
		if h.Used[scheduler.VCPU] > perHostVCPU {
			t.Fatalf("host %s over-committed: %d vCPU of %d", h.Name, h.Used[scheduler.VCPU], perHostVCPU)
		}
		used += h.Used[scheduler.VCPU]
	}
	if want := int64(hosts * perHostVCPU); int64(active) != want || used != want || failed != servers-int(want) {
		t.Fatalf("active %d, failed %d, vCPU used %d; want %d active", active, failed, used, want)
	}
	t.Logf("%d creates in %v (%.0f creates/s, %d workers); all %d settled (%d ACTIVE, %d no valid host) after %v (%.0f servers/s end to end)",
		servers, created.Round(time.Millisecond), float64(servers)/created.Seconds(), workers, servers, active, failed,
		converged.Round(time.Millisecond), float64(servers)/converged.Seconds())
}

// TestScale_BatchPlacementRacesOtherClaims places servers in batches while
// another writer claims capacity on the same hosts behind the reconciler's
// back (as a second control plane would): the reconciler's cached snapshot
// goes stale, its claims are re-checked in their transaction, and no host is
// ever over-committed; the capacity ends fully used.
func TestScale_BatchPlacementRacesOtherClaims(t *testing.T) {
	if testing.Short() {
		t.Skip("scale simulation")
	}
	const hosts, servers, others, perHostVCPU = 20, 200, 60, 8
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nubo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	c := compute.New(st, log)
	c.SetImages(fakeImages{})
	if err := c.Bootstrap(ctx, compute.BootstrapConfig{ControlHost: "ctl"}); err != nil {
		t.Fatal(err)
	}
	var hostIDs []string
	for i := range hosts {
		h, err := c.RegisterHost(ctx, compute.HostSpec{Name: fmt.Sprintf("fake-%02d", i), HypervisorHostname: fmt.Sprintf("fake-%02d", i),
			HypervisorType: "QEMU", Driver: fakehost.Driver, Inventory: map[string]scheduler.Inventory{
				scheduler.VCPU:     {Total: perHostVCPU, MaxUnit: perHostVCPU, AllocationRatio: 1},
				scheduler.MemoryMB: {Total: 65536, AllocationRatio: 1},
				scheduler.DiskGB:   {Total: 10000, AllocationRatio: 1},
			}})
		if err != nil {
			t.Fatal(err)
		}
		hostIDs = append(hostIDs, h.ID)
	}
	adm := creds("p-admin", "admin", "member", "reader")
	if _, err := c.UpdateQuotas(adm, "p-00", "", map[string]int64{"instances": -1, "cores": -1, "ram": -1}, true); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = compute.NewServerReconciler(c).Run(ctx) }()
	go func() { defer wg.Done(); _ = fakehost.New(c, fakeImages{}, log).Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	var cw sync.WaitGroup
	var otherClaims sync.Map
	cw.Add(1)
	go func() { // the other writer: 1 vCPU at a time, host after host
		defer cw.Done()
		for i := range others {
			for k := range hosts {
				err := c.Claim(ctx, compute.ClaimRequest{ConsumerID: fmt.Sprintf("other-%d", i), ProjectID: "p-x",
					HostID: hostIDs[(i+k)%hosts], Resources: scheduler.Resources{scheduler.VCPU: 1, scheduler.MemoryMB: 128, scheduler.DiskGB: 1}})
				if err == nil {
					otherClaims.Store(i, true)
					break
				}
				if !errors.Is(err, compute.ErrNoCapacity) {
					t.Errorf("claim: %v", err)
					return
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	pctx := creds("p-00", "member", "reader")
	for i := 0; i < servers; i += 10 {
		if _, err := c.CreateServer(pctx, compute.CreateServerRequest{Name: fmt.Sprintf("s-%04d", i), ImageRef: "img", FlavorRef: "42", NoNetwork: true, MinCount: 10}); err != nil {
			t.Fatal(err)
		}
	}
	cw.Wait()
	var active, failed int
	deadline := time.Now().Add(2 * time.Minute)
	for {
		list, err := c.ListServers(adm, compute.ListServersOptions{AllProjects: true})
		if err != nil {
			t.Fatal(err)
		}
		active, failed = 0, 0
		pending := 0
		for _, sv := range list {
			switch sv.Status {
			case "ACTIVE":
				active++
			case "ERROR":
				failed++
			default:
				pending++
			}
		}
		if pending == 0 && len(list) == servers {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d servers still pending", pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	hv, err := c.ListHosts(adm)
	if err != nil {
		t.Fatal(err)
	}
	used := int64(0)
	for _, h := range hv {
		if h.Used[scheduler.VCPU] > perHostVCPU {
			t.Fatalf("host %s over-committed: %d vCPU of %d", h.Name, h.Used[scheduler.VCPU], perHostVCPU)
		}
		used += h.Used[scheduler.VCPU]
	}
	nOthers := 0
	otherClaims.Range(func(any, any) bool { nOthers++; return true })
	if want := int64(hosts * perHostVCPU); used != want || int64(active+nOthers) != want || active+failed != servers {
		t.Fatalf("vCPU used %d of %d: %d servers ACTIVE, %d other claims, %d servers failed", used, want, active, nOthers, failed)
	}
	t.Logf("%d ACTIVE, %d failed, %d other claims", active, failed, nOthers)
}
