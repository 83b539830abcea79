package volume

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/blob/fsblob"
	"github.com/nubo-cloud/nubo/internal/driver/blockdev/file"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

// Benchmarks of the volume service with the file backend (qemu-img) and
// its reconciler running, as in nubo up (issue 7):
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/volume/

// benchService is a service over SQLite and the file backend in a temp
// dir, its reconciler running, quotas unlimited for project p-bench.
func benchService(b *testing.B) (*Service, *file.Driver, context.Context) {
	b.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		b.Skip("qemu-img not installed")
	}
	dir := b.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "nubo.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	blobs, err := fsblob.Open(filepath.Join(dir, "backups"))
	if err != nil {
		b.Fatal(err)
	}
	drv, err := file.New(filepath.Join(dir, "volumes"), "")
	if err != nil {
		b.Fatal(err)
	}
	s := New(st, drv, nil, blobs, DefaultConfig(), slog.New(slog.DiscardHandler))
	if err := s.Bootstrap(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return s, drv, benchProject(b, s, "p-bench")
}

// benchProject lifts project's volume quotas and returns a member's ctx.
func benchProject(b *testing.B, s *Service, project string) context.Context {
	b.Helper()
	if _, err := s.UpdateQuotaSet(admin(), project, map[string]int64{"volumes": -1, "gigabytes": -1, "snapshots": -1}); err != nil {
		b.Fatal(err)
	}
	return member(project)
}

// waitAvailable polls the store until every volume in ids is available.
func waitAvailable(b *testing.B, s *Service, ids map[string]bool, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := 0
		err := s.st.Read(context.Background(), func(tx store.ReadTx) error {
			list, err := store.List[Volume](tx, KindVolume, store.ListOptions{})
			for _, v := range list {
				if !ids[v.ID] {
					continue
				}
				if v.Status == StatusError {
					return fmt.Errorf("volume %s in error", v.ID)
				}
				if v.Status != StatusAvailable {
					left++
				}
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d volumes not available after %v", left, len(ids), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkCreate1000Volumes creates 1,000 volumes of 1 GiB (sparse qcow2)
// in one project through the service, one call after the other as the API
// would, and waits until the reconciler made them all available; it
// reports volumes per second (create of the first → all available).
func BenchmarkCreate1000Volumes(b *testing.B) {
	s, drv, _ := benchService(b)
	const n = 1000
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		// A new project each round (its quotas unlimited: a create in a
		// limited project counts the project's volumes, at most its limit).
		b.StopTimer()
		ctx := benchProject(b, s, fmt.Sprintf("p-bench-%d", i))
		b.StartTimer()
		ids := make(map[string]bool, n)
		start := time.Now()
		var first, last time.Duration // the first and last 100 creates
		for j := range n {
			t0 := time.Now()
			v, err := s.Create(ctx, CreateRequest{Name: fmt.Sprintf("bench-%d-%d", i, j), Size: 1})
			if err != nil {
				b.Fatal(err)
			}
			switch {
			case j < 100:
				first += time.Since(t0)
			case j >= n-100:
				last += time.Since(t0)
			}
			ids[v.ID] = true
		}
		accepted := time.Since(start)
		waitAvailable(b, s, ids, 10*time.Minute)
		el := time.Since(start)
		total += el
		b.Logf("round %d: %d volumes accepted in %v (a create call: %v for the first 100, %v for the last 100), all available in %v",
			i, n, accepted.Round(time.Millisecond), (first / 100).Round(time.Microsecond), (last / 100).Round(time.Microsecond), el.Round(time.Millisecond))
		b.StopTimer()
		entries, _ := os.ReadDir(drv.Dir())
		if len(entries) < n*(i+1) {
			b.Fatalf("%d files in %s, want at least %d", len(entries), drv.Dir(), n*(i+1))
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "volumes/s")
}

// BenchmarkClone1GiB clones a 1 GiB volume full of data (source_volid)
// and, in the same run, copies the same file with cp: the clone's floor.
func BenchmarkClone1GiB(b *testing.B) {
	if _, err := exec.LookPath("qemu-io"); err != nil {
		b.Skip("qemu-io not installed")
	}
	s, drv, ctx := benchService(b)
	src, err := s.Create(ctx, CreateRequest{Name: "clone-src", Size: 1})
	if err != nil {
		b.Fatal(err)
	}
	waitAvailable(b, s, map[string]bool{src.ID: true}, time.Minute)
	conn, err := drv.Connect(src.ID)
	if err != nil {
		b.Fatal(err)
	}
	// Fill all of it: every cluster of the qcow2 allocated.
	if out, err := exec.Command("qemu-io", "-f", conn.Format, "-c", "write -P 0x5a 0 1G", conn.Path).CombinedOutput(); err != nil {
		b.Fatalf("qemu-io: %v: %s", err, out)
	}
	if fi, err := os.Stat(conn.Path); err != nil || fi.Size() < 1<<30 {
		b.Fatalf("source file %v (%v), want 1 GiB of data", fi, err)
	}
	cpDir := b.TempDir()
	var clone, cp time.Duration
	flush := func() {
		b.StopTimer()
		_ = exec.Command("sync").Run() // both start with no dirty pages
		b.StartTimer()
	}
	for i := 0; b.Loop(); i++ {
		flush()
		start := time.Now()
		v, err := s.Create(ctx, CreateRequest{Name: fmt.Sprintf("clone-%d", i), SourceVolID: src.ID})
		if err != nil {
			b.Fatal(err)
		}
		waitAvailable(b, s, map[string]bool{v.ID: true}, 5*time.Minute)
		clone += time.Since(start)

		b.StopTimer()
		dst := filepath.Join(cpDir, "copy")
		os.Remove(dst)
		_ = exec.Command("sync").Run()
		start = time.Now()
		if out, err := exec.Command("cp", conn.Path, dst).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v: %s", err, out)
		}
		cp += time.Since(start)
		os.Remove(dst)
		if err := s.Delete(ctx, v.ID, false, false); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(clone.Seconds()/float64(b.N), "clone-s")
	b.ReportMetric(cp.Seconds()/float64(b.N), "cp-s")
	b.ReportMetric(clone.Seconds()/cp.Seconds(), "clone/cp")
}
