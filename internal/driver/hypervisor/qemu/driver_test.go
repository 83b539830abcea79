package qemu

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
)

// These tests need no QEMU: they cover definitions and state on disk.

func newTestDriver(t *testing.T) *Driver {
	t.Helper()
	d, err := New(Config{Root: t.TempDir(), QEMU: "/nonexistent/qemu", Accel: "tcg"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDefineListDelete(t *testing.T) {
	ctx := t.Context()
	d := newTestDriver(t)
	spec := hypervisor.Spec{ID: "g1", Name: "one", VCPUs: 1, MemoryMB: 128, Kernel: "/k"}
	if err := d.Define(ctx, spec); err != nil {
		t.Fatal(err)
	}
	spec.Name = "renamed"
	if err := d.Define(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := d.Define(ctx, hypervisor.Spec{ID: "../x", VCPUs: 1, MemoryMB: 128, Kernel: "/k"}); !errors.Is(err, hypervisor.ErrInvalidSpec) {
		t.Fatalf("bad id: %v", err)
	}
	// A fresh driver on the same root sees the definition.
	d2, _ := New(Config{Root: d.cfg.Root, QEMU: "/nonexistent/qemu", Accel: "tcg"})
	list, err := d2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "renamed" || list[0].State != hypervisor.StateShutdown || list[0].PowerState != 4 {
		t.Fatalf("list %+v", list)
	}
	if err := d2.Start(ctx, "g1"); err == nil {
		t.Fatal("start with a missing qemu binary succeeded")
	}
	if err := d2.Pause(ctx, "g1"); !errors.Is(err, hypervisor.ErrNotRunning) {
		t.Fatalf("pause: %v", err)
	}
	if err := d2.Stop(ctx, "g1", time.Second); err != nil {
		t.Fatalf("stop of a stopped guest: %v", err)
	}
	if _, err := d2.Status(ctx, "nope"); !errors.Is(err, hypervisor.ErrNotFound) {
		t.Fatalf("status unknown: %v", err)
	}
	if err := d2.Delete(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	if err := d2.Delete(ctx, "g1"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.cfg.Root, "g1")); !os.IsNotExist(err) {
		t.Fatalf("state dir: %v", err)
	}
}

func TestExitedWhileNoAgent(t *testing.T) {
	ctx := t.Context()
	d := newTestDriver(t)
	if err := d.Define(ctx, hypervisor.Spec{ID: "g2", VCPUs: 1, MemoryMB: 128, Kernel: "/k"}); err != nil {
		t.Fatal(err)
	}
	p := PathsFor(filepath.Join(d.cfg.Root, "g2"))
	// The last agent saw it start; its QEMU (pid 1 is never ours) is gone.
	writeJSON(p.State, persisted{StartedAt: time.Now()})
	os.WriteFile(p.PID, []byte("1\n"), 0o600)
	d2, _ := New(Config{Root: d.cfg.Root, QEMU: "/nonexistent/qemu", Accel: "tcg"})
	st, err := d2.Status(ctx, "g2")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != hypervisor.StateShutdown || st.PID != 0 || st.Reason == "" {
		t.Fatalf("status %+v", st)
	}
}
