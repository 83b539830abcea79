package hypervisortest

import (
	"context"
	"errors"
	"testing"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
)

func TestFakeLifecycle(t *testing.T) {
	ctx := t.Context()
	f := New()
	spec := hypervisor.Spec{ID: "s1", VCPUs: 1, MemoryMB: 128, Kernel: "/k"}
	if err := f.Start(ctx, "s1"); !errors.Is(err, hypervisor.ErrNotFound) {
		t.Fatalf("start undefined: %v", err)
	}
	if err := f.Define(ctx, spec); err != nil {
		t.Fatal(err)
	}
	step := func(name string, err error, want hypervisor.PowerState) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st, _ := f.Status(ctx, "s1")
		if st.PowerState != want {
			t.Fatalf("after %s: power state %d, want %d", name, st.PowerState, want)
		}
	}
	step("define", nil, hypervisor.PowerShutdown)
	step("start", f.Start(ctx, "s1"), hypervisor.PowerRunning)
	step("pause", f.Pause(ctx, "s1"), hypervisor.PowerPaused)
	step("unpause", f.Unpause(ctx, "s1"), hypervisor.PowerRunning)
	step("suspend", f.Suspend(ctx, "s1"), hypervisor.PowerSuspended)
	step("resume", f.Resume(ctx, "s1"), hypervisor.PowerRunning)
	step("attach", f.AttachDisk(ctx, "s1", hypervisor.Disk{ID: "v1", Path: "/v1"}), hypervisor.PowerRunning)
	if s, _ := f.Spec("s1"); len(s.Disks) != 1 {
		t.Fatalf("disks %v", s.Disks)
	}
	step("detach", f.DetachDisk(ctx, "s1", "v1"), hypervisor.PowerRunning)
	f.SetState("s1", hypervisor.StateCrashed, "killed")
	step("crash", nil, hypervisor.PowerCrashed)
	step("start again", f.Start(ctx, "s1"), hypervisor.PowerRunning)
	step("stop", f.Stop(ctx, "s1", 0), hypervisor.PowerShutdown)
	if err := f.Pause(ctx, "s1"); !errors.Is(err, hypervisor.ErrNotRunning) {
		t.Fatalf("pause stopped: %v", err)
	}
	if err := f.Delete(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if l, _ := f.List(ctx); len(l) != 0 {
		t.Fatalf("list after delete: %v", l)
	}
	f.StartFunc = func(ctx context.Context, id string) error { return errors.New("boom") }
	if err := f.Start(ctx, "x"); err == nil || err.Error() != "boom" {
		t.Fatalf("override: %v", err)
	}
	if len(f.Calls()) == 0 {
		t.Fatal("no calls recorded")
	}
}
