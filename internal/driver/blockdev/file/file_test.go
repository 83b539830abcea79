package file

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nubo-cloud/nubo/internal/driver/blockdev"
)

func newDriver(t *testing.T) *Driver {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img not installed (apt-get install qemu-utils)")
	}
	d, err := New(filepath.Join(t.TempDir(), "volumes"), "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const mib = int64(1) << 20

func TestVolumeLifecycle(t *testing.T) {
	d := newDriver(t)
	ctx := t.Context()
	if err := d.Create(ctx, "v1", 8*mib, ""); err != nil {
		t.Fatal(err)
	}
	in, err := d.Info(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if in.Format != "qcow2" || in.VirtualSize != 8*mib {
		t.Fatalf("info %+v", in)
	}
	// Write recognisable bytes through a raw copy, then read them back
	// after snapshot, clone and extend.
	payload := bytes.Repeat([]byte("nubo"), 1024)
	if err := d.CopyFromImage(ctx, "v1", bytes.NewReader(payload), "raw", 8*mib, "raw"); err != nil {
		t.Fatal(err)
	}
	if in, _ := d.Info(ctx, "v1"); in.Format != "raw" || in.VirtualSize != 8*mib {
		t.Fatalf("after import %+v", in)
	}
	if err := d.Snapshot(ctx, "v1", "s1"); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateFromSnapshot(ctx, "s1", "v2", 16*mib, ""); err != nil {
		t.Fatal(err)
	}
	if err := d.Clone(ctx, "v2", "v3", 0, "raw"); err != nil {
		t.Fatal(err)
	}
	if err := d.Extend(ctx, "v3", 32*mib); err != nil {
		t.Fatal(err)
	}
	if err := d.Extend(ctx, "v3", 4*mib); err == nil {
		t.Fatal("shrink accepted")
	}
	in, err = d.Info(ctx, "v3")
	if err != nil || in.VirtualSize != 32*mib {
		t.Fatalf("v3 %+v %v", in, err)
	}
	var out bytes.Buffer
	if err := d.CopyToImage(ctx, "v3", &out, "raw"); err != nil {
		t.Fatal(err)
	}
	if int64(out.Len()) != 32*mib || !bytes.HasPrefix(out.Bytes(), payload) {
		t.Fatalf("exported %d bytes, prefix ok=%v", out.Len(), bytes.HasPrefix(out.Bytes(), payload))
	}
	// Round trip through gzip, as backups do.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if err := d.CopyToImage(ctx, "v2", zw, "raw"); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	zr, err := gzip.NewReader(&gz)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CopyFromImage(ctx, "v4", zr, "raw", 16*mib, "qcow2"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := d.CopyToImage(ctx, "v4", &out, "raw"); err != nil || !bytes.HasPrefix(out.Bytes(), payload) {
		t.Fatalf("restored copy differs: %v", err)
	}
	conn, err := d.Connect("v4")
	if err != nil || conn.Format != "qcow2" || conn.DriverVolumeType != "file" {
		t.Fatalf("connect %+v %v", conn, err)
	}
	if _, err := os.Stat(conn.Path); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"v1", "v2", "v3", "v4", "missing"} {
		if err := d.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.DeleteSnapshot(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Info(ctx, "v1"); !errors.Is(err, blockdev.ErrNotFound) {
		t.Fatalf("info of deleted volume: %v", err)
	}
	left, _ := os.ReadDir(d.Dir())
	if len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
	if err := d.Create(ctx, "../escape", mib, ""); err == nil {
		t.Fatal("path traversal accepted")
	}
}
