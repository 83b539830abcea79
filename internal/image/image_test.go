package image

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nubo-cloud/nubo/internal/blob/fsblob"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

type fixture struct {
	svc     *Service
	blobDir string
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "nubo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobDir := filepath.Join(dir, "images")
	bs, err := fsblob.Open(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	svc := New(st, bs, cfg, slog.New(slog.DiscardHandler))
	t.Cleanup(svc.Close)
	return &fixture{svc: svc, blobDir: blobDir}
}

func as(project string, roles ...string) context.Context {
	if len(roles) == 0 {
		roles = []string{"member", "reader"}
	}
	return policy.NewContext(context.Background(), &policy.Credentials{UserID: "u-" + project, ProjectID: project, Roles: roles})
}

var admin = as("adminproj", "admin", "member", "reader")

func kindOf(err error) fault.Kind {
	if fe := fault.As(err); fe != nil {
		return fe.Kind
	}
	return -1
}

func wantKind(t *testing.T, err error, k fault.Kind) {
	t.Helper()
	if err == nil || kindOf(err) != k {
		t.Fatalf("err = %v (kind %d), want kind %d", err, kindOf(err), k)
	}
}

func (f *fixture) create(t *testing.T, ctx context.Context, attrs map[string]any) *Image {
	t.Helper()
	if attrs == nil {
		attrs = map[string]any{}
	}
	if _, ok := attrs["disk_format"]; !ok {
		attrs["disk_format"] = "raw"
	}
	if _, ok := attrs["container_format"]; !ok {
		attrs["container_format"] = "bare"
	}
	im, err := f.svc.Create(ctx, attrs)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func (f *fixture) blobFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(f.blobDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestTransitions(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		{StatusQueued, StatusSaving, true},
		{StatusSaving, StatusActive, true},
		{StatusSaving, StatusQueued, true},
		{StatusQueued, StatusUploading, true},
		{StatusUploading, StatusImporting, true},
		{StatusImporting, StatusActive, true},
		{StatusActive, StatusDeactivated, true},
		{StatusDeactivated, StatusActive, true},
		{StatusActive, StatusSaving, false},
		{StatusQueued, StatusActive, false},
		{StatusDeactivated, StatusSaving, false},
		{StatusUploading, StatusSaving, false},
	} {
		if got := CanTransition(tc.from, tc.to); got != tc.ok {
			t.Errorf("%s → %s: %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
}

func TestCreate_InvalidFormatsAndReservedAttributes(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := as("p1")
	for _, tc := range []struct {
		name  string
		attrs map[string]any
		want  fault.Kind
	}{
		{"bad disk format", map[string]any{"disk_format": "wrong"}, fault.BadRequest},
		{"bad container format", map[string]any{"container_format": "wrong"}, fault.BadRequest},
		{"reserved property", map[string]any{"os_glance_foo": "bar"}, fault.Forbidden},
		{"read-only status", map[string]any{"status": "active"}, fault.Forbidden},
		{"public by a member", map[string]any{"visibility": "public"}, fault.Forbidden},
		{"bad visibility", map[string]any{"visibility": "everyone"}, fault.BadRequest},
		{"non-string property", map[string]any{"foo": 1.0}, fault.BadRequest},
		{"negative min_ram", map[string]any{"min_ram": -1.0}, fault.BadRequest},
		{"bad ramdisk_id", map[string]any{"ramdisk_id": "nope"}, fault.BadRequest},
		{"owner of another project", map[string]any{"owner": "p2"}, fault.Forbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Create(ctx, tc.attrs)
			wantKind(t, err, tc.want)
		})
	}
	im := f.create(t, ctx, map[string]any{"name": "ok", "tags": []any{"a", "b", "a"}, "visibility": "community"})
	if im.Status != StatusQueued || im.Owner != "p1" || len(im.Tags) != 2 || im.Visibility != Community {
		t.Fatalf("image = %+v", im)
	}
	if _, err := f.svc.Create(as("p1", "reader"), map[string]any{}); kindOf(err) != fault.Forbidden {
		t.Fatalf("reader create: err = %v, want 403", err)
	}
}

func TestUpload_StreamsAndComputesChecksums(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := as("p1")
	im := f.create(t, ctx, nil)
	data := bytes.Repeat([]byte("nubo-image-"), 300_000) // >3 chunks, not chunk-aligned
	got, err := f.svc.Upload(ctx, im.ID, bytes.NewReader(data), -1)
	if err != nil {
		t.Fatal(err)
	}
	md := md5.Sum(data)
	sh := sha512.Sum512(data)
	if got.Status != StatusActive || *got.Size != int64(len(data)) || got.Checksum != hex.EncodeToString(md[:]) ||
		got.HashAlgo != "sha512" || got.HashValue != hex.EncodeToString(sh[:]) || got.Stores != StoreID {
		t.Fatalf("after upload: %+v", got)
	}
	rc, n, _, err := f.svc.Download(ctx, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	back, _ := io.ReadAll(rc)
	if n != int64(len(data)) || !bytes.Equal(back, data) {
		t.Fatal("downloaded bytes differ from uploaded")
	}
	_, err = f.svc.Upload(ctx, im.ID, strings.NewReader("again"), 5)
	wantKind(t, err, fault.Conflict)
}

type cutReader struct {
	r     io.Reader
	after int
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.after <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	p = p[:min(len(p), c.after)]
	n, err := c.r.Read(p)
	c.after -= n
	return n, err
}

func TestUpload_CutOffLeavesQueuedAndNoBytes(t *testing.T) {
	f := newFixture(t, Config{StorageQuota: 100 << 20})
	ctx := as("p1")
	im := f.create(t, ctx, nil)
	src := &cutReader{r: bytes.NewReader(make([]byte, 5<<20)), after: 3<<20 + 17}
	_, err := f.svc.Upload(ctx, im.ID, src, 5<<20)
	wantKind(t, err, fault.BadRequest)
	got, _ := f.svc.Get(ctx, im.ID)
	if got.Status != StatusQueued || got.Size != nil {
		t.Fatalf("after cut-off: status %s size %v, want queued and no size", got.Status, got.Size)
	}
	if files := f.blobFiles(t); len(files) != 0 {
		t.Fatalf("partial bytes kept: %v", files)
	}
	if used, _ := f.svc.Usage(ctx, "p1"); used != 0 || f.svc.reserved["p1"] != 0 {
		t.Fatalf("quota consumed: used %d reserved %d", used, f.svc.reserved["p1"])
	}
	// The image can still be uploaded.
	if _, err := f.svc.Upload(ctx, im.ID, bytes.NewReader([]byte("ok")), 2); err != nil {
		t.Fatal(err)
	}
}

// endless yields zeros forever: only the quota stops it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	clear(p)
	e.n += int64(len(p))
	return len(p), nil
}

func TestUpload_QuotaEnforcedWhileStreaming(t *testing.T) {
	const quota = 3 << 20
	f := newFixture(t, Config{StorageQuota: quota})
	ctx := as("p1")
	im := f.create(t, ctx, nil)
	src := &endless{}
	_, err := f.svc.Upload(ctx, im.ID, src, -1) // chunked: no size announced
	wantKind(t, err, fault.OverLimit)
	if !errors.Is(err, ErrQuota) {
		t.Fatalf("err = %v, want ErrQuota", err)
	}
	if src.n > quota+2*chunkSize {
		t.Fatalf("read %d bytes of an endless upload; the quota should stop it near %d", src.n, quota)
	}
	got, _ := f.svc.Get(ctx, im.ID)
	if got.Status != StatusQueued || len(f.blobFiles(t)) != 0 {
		t.Fatalf("after quota: status %s, files %v", got.Status, f.blobFiles(t))
	}
	// An announced size over the quota is refused before any byte is read.
	_, err = f.svc.Upload(ctx, im.ID, &endless{}, quota+1)
	wantKind(t, err, fault.OverLimit)
	// 2 MiB fits; then only 1 MiB is left for the project.
	if _, err := f.svc.Upload(ctx, im.ID, bytes.NewReader(make([]byte, 2<<20)), -1); err != nil {
		t.Fatal(err)
	}
	im2 := f.create(t, ctx, nil)
	_, err = f.svc.Upload(ctx, im2.ID, bytes.NewReader(make([]byte, 2<<20)), -1)
	wantKind(t, err, fault.OverLimit)
	// Another project has its own quota.
	other := as("p2")
	im3 := f.create(t, other, nil)
	if _, err := f.svc.Upload(other, im3.ID, bytes.NewReader(make([]byte, 2<<20)), -1); err != nil {
		t.Fatal(err)
	}
	// Deleting frees the space.
	if err := f.svc.Delete(ctx, im.ID); err != nil {
		t.Fatal(err)
	}
	if used, _ := f.svc.Usage(ctx, "p1"); used != 0 {
		t.Fatalf("usage after delete = %d", used)
	}
}

func TestVisibilityRules(t *testing.T) {
	f := newFixture(t, Config{})
	a, b := as("pa"), as("pb")
	priv := f.create(t, a, map[string]any{"visibility": "private"})
	shared := f.create(t, a, nil)
	comm := f.create(t, a, map[string]any{"visibility": "community"})
	pub := f.create(t, admin, map[string]any{"visibility": "public"})

	// Another project's private image is 404, not 403.
	_, err := f.svc.Get(b, priv.ID)
	wantKind(t, err, fault.NotFound)
	_, err = f.svc.Get(b, shared.ID)
	wantKind(t, err, fault.NotFound)
	for _, id := range []string{comm.ID, pub.ID} {
		if _, err := f.svc.Get(b, id); err != nil {
			t.Fatalf("get %s as pb: %v", id, err)
		}
	}
	// Seeing is not changing.
	_, err = f.svc.Update(b, comm.ID, []PatchOp{{Op: "replace", Path: []string{"name"}, Value: "x"}})
	wantKind(t, err, fault.Forbidden)
	// Only admins publicize.
	_, err = f.svc.Update(a, shared.ID, []PatchOp{{Op: "replace", Path: []string{"visibility"}, Value: "public"}})
	wantKind(t, err, fault.Forbidden)

	ids := func(ctx context.Context, o ListOptions) map[string]bool {
		o.Limit = 100
		ims, _, err := f.svc.List(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, im := range ims {
			out[im.ID] = true
		}
		return out
	}
	if got := ids(b, ListOptions{}); len(got) != 1 || !got[pub.ID] {
		t.Fatalf("pb default list = %v, want only the public image", got)
	}
	// Members: pending members see the image by ID and with member_status.
	if _, err := f.svc.AddMember(a, shared.ID, "pb"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddMember(a, priv.ID, "pb"); kindOf(err) != fault.Forbidden {
		t.Fatalf("member on a private image: err = %v, want 403", err)
	}
	if _, err := f.svc.Get(b, shared.ID); err != nil {
		t.Fatalf("pending member get: %v", err)
	}
	if got := ids(b, ListOptions{}); got[shared.ID] {
		t.Fatal("pending shared image in the default list")
	}
	if got := ids(b, ListOptions{Visibility: Shared, MemberStatus: MemberPending}); len(got) != 1 || !got[shared.ID] {
		t.Fatalf("pending list = %v", got)
	}
	// The owner cannot accept for the member; the member can.
	_, err = f.svc.UpdateMember(a, shared.ID, "pb", MemberAccepted)
	wantKind(t, err, fault.Forbidden)
	_, err = f.svc.UpdateMember(b, shared.ID, "pb", "bogus")
	wantKind(t, err, fault.BadRequest)
	if _, err := f.svc.UpdateMember(b, shared.ID, "pb", MemberAccepted); err != nil {
		t.Fatal(err)
	}
	if got := ids(b, ListOptions{}); !got[shared.ID] || got[comm.ID] {
		t.Fatalf("accepted list = %v, want the shared image and no community image", got)
	}
	if got := ids(b, ListOptions{Visibility: "all"}); !got[comm.ID] || got[priv.ID] {
		t.Fatalf("visibility=all = %v", got)
	}
	if got := ids(admin, ListOptions{}); len(got) != 4 {
		t.Fatalf("admin sees %d images, want 4", len(got))
	}
	if err := f.svc.DeleteMember(a, shared.ID, "pb"); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Get(b, shared.ID)
	wantKind(t, err, fault.NotFound)
}

func TestPatch(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := as("p1")
	im := f.create(t, ctx, map[string]any{"name": "a", "k": "v"})
	op := func(o string, path string, v any) PatchOp {
		return PatchOp{Op: o, Path: strings.Split(path, "/"), Value: v}
	}
	got, err := f.svc.Update(ctx, im.ID, []PatchOp{
		op("replace", "name", "b"), op("add", "x", "1"), op("remove", "k", nil), op("replace", "min_ram", 512.0),
		op("add", "tags", []any{"t1"}), op("replace", "ramdisk_id", "00000000-1111-2222-3333-444455556666"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Name != "b" || got.Properties["x"] != "1" || got.MinRAM != 512 || got.Tags[0] != "t1" {
		t.Fatalf("after patch: %+v", got)
	}
	if _, ok := got.Properties["k"]; ok {
		t.Fatal("k not removed")
	}
	for _, tc := range []struct {
		name string
		op   PatchOp
		want fault.Kind
	}{
		{"replace missing property", op("replace", "nope", "1"), fault.Conflict},
		{"remove missing property", op("remove", "nope", nil), fault.Conflict},
		{"read-only", op("replace", "status", "active"), fault.Forbidden},
		{"reserved", op("add", "os_glance_foo", "bar"), fault.Forbidden},
		{"remove base attribute", op("remove", "name", nil), fault.Forbidden},
		{"nested path", op("add", "a/b", "c"), fault.BadRequest},
		{"bad op", op("move", "name", "c"), fault.BadRequest},
		{"strict add of existing", PatchOp{Op: "add", Path: []string{"x"}, Value: "2", Strict: true}, fault.Conflict},
		{"locations", op("add", "locations/-", map[string]any{}), fault.Forbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Update(ctx, im.ID, []PatchOp{tc.op})
			wantKind(t, err, tc.want)
		})
	}
	// A failed patch changes nothing, even after earlier operations applied.
	_, err = f.svc.Update(ctx, im.ID, []PatchOp{op("replace", "name", "c"), op("remove", "nope", nil)})
	wantKind(t, err, fault.Conflict)
	if cur, _ := f.svc.Get(ctx, im.ID); *cur.Name != "b" {
		t.Fatalf("name = %q after a failed patch", *cur.Name)
	}
	// Formats change only while queued.
	f.svc.Upload(ctx, im.ID, strings.NewReader("data"), 4)
	_, err = f.svc.Update(ctx, im.ID, []PatchOp{op("replace", "disk_format", "qcow2")})
	wantKind(t, err, fault.Forbidden)
}

func TestDeleteProtectedAndDeactivate(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := as("p1")
	im := f.create(t, ctx, map[string]any{"protected": true})
	wantKind(t, f.svc.Delete(ctx, im.ID), fault.Forbidden)
	wantKind(t, f.svc.Deactivate(ctx, im.ID), fault.Forbidden) // queued
	f.svc.Upload(ctx, im.ID, strings.NewReader("data"), 4)
	if err := f.svc.Deactivate(ctx, im.ID); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := f.svc.Download(ctx, im.ID)
	wantKind(t, err, fault.Forbidden)
	if rc, _, _, err := f.svc.Download(admin, im.ID); err != nil {
		t.Fatalf("admin download of a deactivated image: %v", err)
	} else {
		rc.Close()
	}
	if err := f.svc.Reactivate(ctx, im.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Update(ctx, im.ID, []PatchOp{{Op: "replace", Path: []string{"protected"}, Value: false}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, im.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Get(ctx, im.ID)
	wantKind(t, err, fault.NotFound)
	if files := f.blobFiles(t); len(files) != 0 {
		t.Fatalf("data left after delete: %v", files)
	}
}

func TestGlanceDirectImport(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := as("p1")
	im := f.create(t, ctx, nil)
	err := f.svc.Import(ctx, im.ID, ImportRequest{Method: MethodGlanceDirect})
	wantKind(t, err, fault.Conflict) // nothing staged
	staged, err := f.svc.Stage(ctx, im.ID, strings.NewReader("staged bytes"), -1)
	if err != nil {
		t.Fatal(err)
	}
	if staged.Status != StatusUploading {
		t.Fatalf("after stage: %s", staged.Status)
	}
	if err := f.svc.Import(ctx, im.ID, ImportRequest{Method: MethodGlanceDirect}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Get(ctx, im.ID)
	if got.Status != StatusActive || *got.Size != 12 || got.StagedKey != "" {
		t.Fatalf("after import: %+v", got)
	}
	tasks, err := f.svc.ListTasks(ctx, im.ID)
	if err != nil || len(tasks) != 1 || tasks[0].Status != TaskSuccess {
		t.Fatalf("tasks = %+v, %v", tasks, err)
	}
}

func TestWebDownloadImport(t *testing.T) {
	fetched := make(chan struct{})
	cfg := Config{Fetch: func(ctx context.Context, url string) (io.ReadCloser, error) {
		defer close(fetched)
		if url == "http://example.test/bad" {
			return nil, errors.New("no such host")
		}
		return io.NopCloser(strings.NewReader("downloaded")), nil
	}}
	f := newFixture(t, cfg)
	ctx := as("p1")
	im := f.create(t, ctx, nil)
	wantKind(t, f.svc.Import(ctx, im.ID, ImportRequest{Method: MethodWebDownload, URI: "ftp://x"}), fault.BadRequest)
	if err := f.svc.Import(ctx, im.ID, ImportRequest{Method: MethodWebDownload, URI: "http://example.test/bad"}); err != nil {
		t.Fatal(err)
	}
	<-fetched
	f.svc.imports.Wait()
	got, _ := f.svc.Get(ctx, im.ID)
	if got.Status != StatusQueued || got.Properties[propFailedImport] != StoreID {
		t.Fatalf("after failed import: %s %v", got.Status, got.Properties)
	}
}

func TestRecover_HalfDoneUploadsReturnToQueued(t *testing.T) {
	f := newFixture(t, Config{})
	s, ctx := f.svc, as("p1")
	saving := f.create(t, ctx, nil)
	importing := f.create(t, ctx, nil)
	// Simulate a crash in the middle: records left in transient states.
	for id, status := range map[string]string{saving.ID: StatusSaving, importing.ID: StatusImporting} {
		err := s.st.Write(ctx, func(tx store.Tx) error {
			im, err := store.Get[Image](tx, kindImage, id)
			if err != nil {
				return err
			}
			im.Status = status
			return putImage(tx, im)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Recover(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Recover = %d, %v; want 2 repaired", n, err)
	}
	for _, id := range []string{saving.ID, importing.ID} {
		im, err := s.Get(ctx, id)
		if err != nil || im.Status != StatusQueued {
			t.Fatalf("image %s after recover: %+v %v", id, im, err)
		}
	}
	if n, _ := s.Recover(ctx); n != 0 {
		t.Fatalf("second Recover repaired %d, want 0", n)
	}
}

// TestList_CreatedAtOrdersWithinASecond: created_at has one-second
// resolution, yet images created in the same second list in creation
// order (Tempest's test_create_backup relies on it).
func TestList_CreatedAtOrdersWithinASecond(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := as("p1")
	var ids []string
	for i := range 5 {
		im, err := f.svc.Create(ctx, map[string]any{"name": fmt.Sprintf("b%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, im.ID)
	}
	for _, dir := range []string{"asc", "desc"} {
		list, _, err := f.svc.List(ctx, ListOptions{SortKeys: []string{"created_at"}, SortDirs: []string{dir}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, im := range list {
			got = append(got, im.ID)
		}
		want := slices.Clone(ids)
		if dir == "desc" {
			slices.Reverse(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", dir, got, want)
		}
	}
}
