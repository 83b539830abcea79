package fakehost_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/compute/fakehost"
	"github.com/nubo-cloud/nubo/internal/image"
	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

// uploadImages is fakeImages that serves base image bytes and records when
// each snapshot image was filled.
type uploadImages struct {
	fakeImages
	mu      sync.Mutex
	uploads map[string][]time.Time
}

func (u *uploadImages) Download(context.Context, string) (io.ReadSeekCloser, int64, *image.Image, error) {
	data := []byte("base image bytes")
	return nopCloser{bytes.NewReader(data)}, int64(len(data)), &image.Image{Status: image.StatusActive}, nil
}

func (u *uploadImages) Upload(_ context.Context, id string, r io.Reader, _ int64) (*image.Image, error) {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.uploads[id] = append(u.uploads[id], time.Now())
	return &image.Image{ID: id, Status: image.StatusActive}, nil
}

func (u *uploadImages) filled(id string) []time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Time(nil), u.uploads[id]...)
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// TestSnapshot_TakesItsTimeWithoutHoldingUpOthers: a snapshot's image is
// filled once, no sooner than SnapshotTime after createImage, while a stop
// of another server asked for just after it completes at once.
func TestSnapshot_TakesItsTimeWithoutHoldingUpOthers(t *testing.T) {
	const snapTime = 600 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nubo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	images := &uploadImages{uploads: map[string][]time.Time{}}
	c := compute.New(st, log)
	c.SetImages(images)
	if err := c.Bootstrap(ctx, compute.BootstrapConfig{ControlHost: "ctl"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterHost(ctx, compute.HostSpec{Name: "fake-0", HypervisorHostname: "fake-0", HypervisorType: "QEMU", Driver: fakehost.Driver,
		Inventory: map[string]scheduler.Inventory{
			scheduler.VCPU:     {Total: 8, MaxUnit: 8, AllocationRatio: 1},
			scheduler.MemoryMB: {Total: 65536, AllocationRatio: 1},
			scheduler.DiskGB:   {Total: 1000, AllocationRatio: 1},
		}}); err != nil {
		t.Fatal(err)
	}
	fh := fakehost.New(c, images, log)
	fh.SnapshotTime = snapTime
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = compute.NewServerReconciler(c).Run(ctx) }()
	go func() { defer wg.Done(); _ = fh.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	pctx := creds("p-1", "member", "reader")
	var ids []string
	for _, name := range []string{"snap", "stop"} {
		sv, err := c.CreateServer(pctx, compute.CreateServerRequest{Name: name, ImageRef: "img", FlavorRef: "42", NoNetwork: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sv.Servers[0].ID)
	}
	waitFor := func(id, status string, within time.Duration) *compute.Server {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			sv, err := c.GetServer(pctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if sv.Status == status && sv.TaskState == "" {
				return sv
			}
			if time.Now().After(deadline) {
				t.Fatalf("server %s: status %s task %q after %v, want %s", id, sv.Status, sv.TaskState, within, status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for _, id := range ids {
		waitFor(id, "ACTIVE", 10*time.Second)
	}

	asked := time.Now()
	imgID, err := c.CreateImage(pctx, ids[0], "snap-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(pctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	waitFor(ids[1], "SHUTOFF", snapTime/2)
	if got := images.filled(imgID); len(got) != 0 {
		t.Fatalf("snapshot filled %v after createImage, before its time %v", got[0].Sub(asked), snapTime)
	}
	if sv, _ := c.GetServer(pctx, ids[0]); sv.TaskState != compute.TaskImageSnapshot {
		t.Fatalf("task %q while the snapshot runs, want %q", sv.TaskState, compute.TaskImageSnapshot)
	}
	waitFor(ids[0], "ACTIVE", 10*time.Second)
	got := images.filled(imgID)
	if len(got) != 1 {
		t.Fatalf("snapshot filled %d times, want once", len(got))
	}
	if d := got[0].Sub(asked); d < snapTime {
		t.Fatalf("snapshot filled %v after createImage, want ≥ %v", d, snapTime)
	}
	time.Sleep(snapTime) // a second wake-up would fill it again
	if n := len(images.filled(imgID)); n != 1 {
		t.Fatalf("snapshot filled %d times, want once", n)
	}
}
