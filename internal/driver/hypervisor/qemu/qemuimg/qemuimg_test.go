package qemuimg

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// These run only where qemu-img is installed (they are fast: ~10 ms each).
func tool(t *testing.T) Tool {
	t.Helper()
	p, err := exec.LookPath("qemu-img")
	if err != nil {
		t.Skip("qemu-img not installed (apt-get install qemu-utils)")
	}
	return Tool{Path: p}
}

func TestOverlayConvertResize(t *testing.T) {
	q := tool(t)
	ctx := t.Context()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.qcow2")
	if err := q.Create(ctx, base, "qcow2", 64<<20); err != nil {
		t.Fatal(err)
	}
	ov := filepath.Join(dir, "disk.qcow2")
	if err := q.CreateOverlay(ctx, base, "qcow2", ov, 128<<20); err != nil {
		t.Fatal(err)
	}
	info, err := q.Info(ctx, ov, "qcow2", false)
	if err != nil {
		t.Fatal(err)
	}
	if info.VirtualSize != 128<<20 || info.BackingFilename != base || info.BackingFormat != "qcow2" {
		t.Errorf("overlay info %+v", info)
	}
	if err := q.Resize(ctx, ov, "qcow2", 256<<20); err != nil {
		t.Fatal(err)
	}
	if err := q.Resize(ctx, ov, "qcow2", 64<<20); err == nil {
		t.Error("shrink was not refused")
	}
	flat := filepath.Join(dir, "flat.raw")
	if err := q.Convert(ctx, ov, "qcow2", flat, "raw", true); err != nil {
		t.Fatal(err)
	}
	info, err = q.Info(ctx, flat, "raw", false)
	if err != nil {
		t.Fatal(err)
	}
	if info.VirtualSize != 256<<20 || info.BackingFilename != "" {
		t.Errorf("flat info %+v", info)
	}
	if err := q.Convert(ctx, filepath.Join(dir, "missing"), "qcow2", flat+"2", "qcow2", false); err == nil {
		t.Error("convert of a missing file succeeded")
	}
	if err := q.Create(ctx, base, "vmdk", 1); err == nil {
		t.Error("vmdk accepted")
	}
}
