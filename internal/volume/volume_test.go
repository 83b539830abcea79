package volume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nubo-cloud/nubo/internal/blob/fsblob"
	"github.com/nubo-cloud/nubo/internal/driver/blockdev/blockdevtest"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

func newService(t *testing.T) (*Service, *blockdevtest.Fake, store.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "nubo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fsblob.Open(filepath.Join(dir, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	drv := blockdevtest.New()
	s := New(st, drv, nil, blobs, DefaultConfig(), slog.New(slog.DiscardHandler))
	if err := s.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, drv, st
}

func member(project string) context.Context {
	return policy.NewContext(context.Background(), &policy.Credentials{UserID: "u-" + project, ProjectID: project, Roles: []string{"member", "reader"}})
}

func admin() context.Context {
	return policy.NewContext(context.Background(), &policy.Credentials{UserID: "u-admin", ProjectID: "p-admin", Roles: []string{"admin", "member", "reader"}})
}

// settle runs the reconciler over every record with work left, as Run
// would, until nothing is left.
func settle(t *testing.T, s *Service) {
	t.Helper()
	for range 5 {
		q := newQueue()
		if _, err := s.resync(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		if len(q.pending) == 0 {
			return
		}
		for _, k := range q.pending {
			if err := s.Reconcile(context.Background(), k.kind, k.id); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func status(t *testing.T, s *Service, ctx context.Context, id string) string {
	t.Helper()
	v, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return v.Status
}

func wantKind(t *testing.T, err error, kind fault.Kind) {
	t.Helper()
	if !fault.Is(err, kind) {
		t.Fatalf("error %v, want kind %v", err, kind)
	}
}

func TestLifecycle(t *testing.T) {
	s, drv, _ := newService(t)
	ctx := member("p1")
	v, err := s.Create(ctx, CreateRequest{Name: "a", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != StatusCreating {
		t.Fatalf("status %s", v.Status)
	}
	settle(t, s)
	if got := status(t, s, ctx, v.ID); got != StatusAvailable {
		t.Fatalf("status %s after settle", got)
	}
	// Extending to the same or a smaller size is refused and changes nothing.
	_, err = s.Extend(ctx, v.ID, 1, false)
	wantKind(t, err, fault.BadRequest)
	if _, err := s.Extend(ctx, v.ID, 3, false); err != nil {
		t.Fatal(err)
	}
	if got := status(t, s, ctx, v.ID); got != StatusExtending {
		t.Fatalf("status %s", got)
	}
	settle(t, s)
	got, _ := s.Get(ctx, v.ID)
	if got.Status != StatusAvailable || got.Size != 3 {
		t.Fatalf("after extend %s %d", got.Status, got.Size)
	}
	// Attach (legacy) → in-use; delete refused; detach → available.
	if err := s.Reserve(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if status(t, s, ctx, v.ID) != StatusAttaching {
		t.Fatal("not attaching")
	}
	if err := s.Attach(ctx, v.ID, "server-1", "", "/dev/vdb", "rw"); err != nil {
		t.Fatal(err)
	}
	if status(t, s, ctx, v.ID) != StatusInUse {
		t.Fatal("not in-use")
	}
	wantKind(t, s.Delete(ctx, v.ID, false, false), fault.BadRequest)
	wantKind(t, s.Reserve(ctx, v.ID), fault.BadRequest) // not multiattach
	// Online extend records the size and leaves the resize to the agent.
	if _, err := s.Extend(ctx, v.ID, 4, true); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, v.ID)
	if got.Status != StatusInUse || got.Size != 4 || !got.ResizePending {
		t.Fatalf("online extend: %+v", got)
	}
	if err := s.BeginDetaching(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Detach(ctx, v.ID, "", false); err != nil {
		t.Fatal(err)
	}
	if status(t, s, ctx, v.ID) != StatusAvailable {
		t.Fatal("not available after detach")
	}
	// Snapshot, clone from it, then cascade delete.
	sn, err := s.CreateSnapshot(ctx, v.ID, "snap", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	c, err := s.Create(ctx, CreateRequest{SnapshotID: sn.ID})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	if status(t, s, ctx, c.ID) != StatusAvailable {
		t.Fatal("volume from snapshot not available")
	}
	wantKind(t, s.Delete(ctx, v.ID, false, false), fault.BadRequest) // has a snapshot
	if err := s.Delete(ctx, v.ID, true, false); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	if _, err := s.Get(ctx, v.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("deleted volume: %v", err)
	}
	if _, err := s.GetSnapshot(ctx, sn.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("cascaded snapshot: %v", err)
	}
	if n := len(drv.Snapshots()); n != 0 {
		t.Fatalf("%d snapshots left in the backend", n)
	}
	if vols := drv.Volumes(); len(vols) != 1 || vols[0] != c.ID {
		t.Fatalf("backend volumes %v", vols)
	}
}

func TestAttachmentsAPIAndMultiattach(t *testing.T) {
	s, _, _ := newService(t)
	ctx := member("p1")
	mt, err := s.CreateType(admin(), Type{Name: "multi", IsPublic: true, ExtraSpecs: map[string]string{"multiattach": "<is> True"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Create(ctx, CreateRequest{Size: 1, Type: mt.Name})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	a1, err := s.CreateAttachment(ctx, v.ID, "srv-1", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if a1.Status != AttachStatusReserved || status(t, s, ctx, v.ID) != StatusReserved {
		t.Fatalf("reserved: %+v", a1)
	}
	a1, err = s.UpdateAttachment(ctx, a1.ID, map[string]any{"host": "h1"})
	if err != nil {
		t.Fatal(err)
	}
	if a1.ConnectionInfo["driver_volume_type"] != "file" {
		t.Fatalf("connection info %v", a1.ConnectionInfo)
	}
	if err := s.CompleteAttachment(ctx, a1.ID); err != nil {
		t.Fatal(err)
	}
	a2, err := s.CreateAttachment(ctx, v.ID, "srv-2", map[string]any{"host": "h2"}, "")
	if err != nil {
		t.Fatalf("second attachment of a multiattach volume: %v", err)
	}
	if err := s.CompleteAttachment(ctx, a2.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, v.ID)
	if got.Status != StatusInUse || len(got.Attachments) != 2 {
		t.Fatalf("%s %d", got.Status, len(got.Attachments))
	}
	for _, id := range []string{a1.ID, a2.ID} {
		if err := s.DeleteAttachment(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if status(t, s, ctx, v.ID) != StatusAvailable {
		t.Fatal("not available after the last detach")
	}
	wantKind(t, s.DeleteAttachment(ctx, a1.ID), fault.NotFound)
}

// TestQuota_ConcurrentCreatesNeverExceed races creates against a small
// gigabytes quota: the checks run inside serialised write transactions,
// so exactly as many succeed as fit and the rest are 413.
func TestQuota_ConcurrentCreatesNeverExceed(t *testing.T) {
	s, _, _ := newService(t)
	if _, err := s.UpdateQuotaSet(admin(), "p1", map[string]int64{"gigabytes": 10, "volumes": 100}); err != nil {
		t.Fatal(err)
	}
	ctx := member("p1")
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.Create(ctx, CreateRequest{Name: fmt.Sprint(i), Size: 2}) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !fault.Is(err, fault.OverLimit):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 5 {
		t.Fatalf("%d creates succeeded, want 5", ok)
	}
	q, err := s.QuotaSet(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if q["gigabytes"].InUse != 10 || q["volumes"].InUse != 5 {
		t.Fatalf("usage %+v", q)
	}
	// Lowering a limit below use is refused.
	_, err = s.UpdateQuotaSet(admin(), "p1", map[string]int64{"gigabytes": 4})
	wantKind(t, err, fault.BadRequest)
	_, err = s.UpdateQuotaSet(admin(), "p1", map[string]int64{"bogus": 4})
	wantKind(t, err, fault.BadRequest)
}

// TestReconcile_ResumesAfterCrash: work interrupted (the backend failed
// mid-way as if the process died) leaves the record asking for the work,
// and the next pass converges.
func TestReconcile_ResumesAfterCrash(t *testing.T) {
	s, drv, _ := newService(t)
	ctx := member("p1")
	crash := true
	drv.Hook = func(ctx context.Context, op, id string) error {
		if crash && op == "create" {
			return context.Canceled
		}
		return nil
	}
	v, err := s.Create(ctx, CreateRequest{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel() // the process is going down while the backend works
	if err := s.Reconcile(cctx, KindVolume, v.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("reconcile during shutdown: %v", err)
	}
	if got := status(t, s, ctx, v.ID); got != StatusCreating {
		t.Fatalf("status %s after interrupted work", got)
	}
	crash = false
	settle(t, s)
	if got := status(t, s, ctx, v.ID); got != StatusAvailable {
		t.Fatalf("status %s after restart", got)
	}
}

func TestBackupRestore(t *testing.T) {
	s, drv, _ := newService(t)
	ctx := member("p1")
	v, err := s.Create(ctx, CreateRequest{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	// Give the volume content the fake keeps.
	if err := drv.CopyFromImage(context.Background(), v.ID, bytes.NewReader([]byte("hello volume")), "raw", 1<<30, ""); err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateBackup(ctx, BackupRequest{VolumeID: v.ID, Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if status(t, s, ctx, v.ID) != StatusBackingUp {
		t.Fatal("volume not backing-up")
	}
	settle(t, s)
	if got, _ := s.GetBackup(ctx, b.ID); got.Status != BackupAvailable {
		t.Fatalf("backup %s", got.Status)
	}
	if status(t, s, ctx, v.ID) != StatusAvailable {
		t.Fatal("volume not back to available")
	}
	nv, _, err := s.RestoreBackup(ctx, b.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	if status(t, s, ctx, nv.ID) != StatusAvailable {
		t.Fatal("restored volume not available")
	}
	if got := string(drv.Data(nv.ID)); got != "hello volume" {
		t.Fatalf("restored data %q", got)
	}
	if err := s.DeleteBackup(ctx, b.ID, false); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	if _, err := s.GetBackup(ctx, b.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("deleted backup: %v", err)
	}
}

func TestVisibilityAndTypes(t *testing.T) {
	s, _, _ := newService(t)
	v, err := s.Create(member("p1"), CreateRequest{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(member("p2"), v.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("other project sees the volume: %v", err)
	}
	_, err = s.Create(member("p1"), CreateRequest{Size: 1, Type: "nope"})
	wantKind(t, err, fault.NotFound)
	_, err = s.CreateType(member("p1"), Type{Name: "x"})
	wantKind(t, err, fault.Forbidden)
	def, err := s.GetType(member("p1"), DefaultTypeName)
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteType(admin(), def.ID), fault.BadRequest)
}

// TestCreate_NoValidBackend: a type asking for capabilities the backend
// lacks leaves the volume in error, as Cinder's scheduler does.
func TestCreate_NoValidBackend(t *testing.T) {
	s, drv, _ := newService(t)
	bogus, err := s.CreateType(admin(), Type{Name: "bogus", IsPublic: true, ExtraSpecs: map[string]string{"storage_protocol": "iSCSI"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := member("p1")
	v, err := s.Create(ctx, CreateRequest{Size: 1, Type: bogus.ID})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	got, _ := s.Get(ctx, v.ID)
	if got.Status != StatusError || got.Error == "" {
		t.Fatalf("status %s (%q)", got.Status, got.Error)
	}
	if len(drv.Volumes()) != 0 {
		t.Fatal("backend volume made")
	}
	// An error volume deletes without force.
	if err := s.Delete(ctx, v.ID, false, false); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	if _, err := s.Get(ctx, v.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("%v", err)
	}
}
