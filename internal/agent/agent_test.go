package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/hypervisortest"
	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

const (
	srvID  = "6f1c3a52-9a7e-4c55-8d1e-2b3c4d5e6f70"
	portID = "0b6a1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
	volID  = "a1b2c3d4-e5f6-4789-8abc-def012345678"
)

type env struct {
	t     *testing.T
	c     *fakeControl
	hv    *hypervisortest.Fake
	disks *fakeDisks
	dir   string
	a     *Agent
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, c: newFakeControl(), hv: hypervisortest.New(), disks: &fakeDisks{}, dir: t.TempDir()}
	e.c.apply = true
	e.a = e.newAgent()
	return e
}

func (e *env) newAgent() *Agent {
	e.t.Helper()
	a, err := New(Config{
		Host: hostapi.Host{Name: "compute-1"}, Control: e.c, DataDir: e.dir, Hypervisor: e.hv, Disks: e.disks,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), GracefulStop: time.Second,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	a.hostID = "host-1"
	return a
}

// converge runs one convergence of the current State and waits for the
// workers it started.
func (e *env) converge() {
	e.t.Helper()
	st := e.c.state()
	seq := e.a.fetchSeq.Add(1)
	e.a.converge(e.t.Context(), st, seq)
	e.a.wait()
}

// task sets a task on the server and converges.
func (e *env) task(task string) hostapi.ServerReport {
	e.t.Helper()
	e.c.set(func(st *hostapi.State) {
		sv := &st.Servers[0]
		if sv.TaskState == "" {
			sv.PrevVMState = sv.VMState
		}
		sv.TaskState = task
	})
	n := len(e.c.serverReports())
	e.converge()
	reps := e.c.serverReports()
	if len(reps) != n+1 {
		e.t.Fatalf("%s: %d reports, want 1: %+v", task, len(reps)-n, reps[n:])
	}
	return reps[n]
}

func (e *env) addServer(mut func(sv *hostapi.Server)) {
	e.c.set(func(st *hostapi.State) {
		sv := hostapi.Server{
			ID: srvID, Name: "vm", ProjectID: "p", TaskState: taskSpawning, VMState: vmBuilding,
			VCPUs: 1, MemoryMB: 64, RootGB: 2, ImageID: "img-1", ConfigDrive: true, Ports: []string{portID},
		}
		if mut != nil {
			mut(&sv)
		}
		st.Servers = append(st.Servers, sv)
		st.Ports = append(st.Ports, hostapi.Port{ID: portID, NetworkID: "net-1", MAC: "fa:16:3e:00:00:01", AdminStateUp: true})
	})
}

func wantReport(t *testing.T, r hostapi.ServerReport, task, vm string, power int) {
	t.Helper()
	if r.Task != task || r.VMState != vm || r.PowerState != power || r.Error != "" {
		t.Fatalf("report %+v, want task %s vm_state %s power_state %d", r, task, vm, power)
	}
}

func (e *env) guestState() hypervisor.State {
	e.t.Helper()
	st, err := e.hv.Status(e.t.Context(), srvID)
	if err != nil {
		e.t.Fatal(err)
	}
	return st.State
}

func count(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func TestSpawn(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()

	reps := e.c.serverReports()
	if len(reps) != 1 {
		t.Fatalf("reports %+v", reps)
	}
	wantReport(t, reps[0], taskSpawning, vmActive, powerRunning)
	if e.guestState() != hypervisor.StateRunning {
		t.Fatalf("guest %s", e.guestState())
	}
	spec, _ := e.hv.Spec(srvID)
	inst := filepath.Join(e.dir, "instances", srvID)
	if spec.Root.Path != filepath.Join(inst, "disk") || spec.ConfigDrive != filepath.Join(inst, "disk.config") {
		t.Fatalf("spec disks: %+v", spec)
	}
	if spec.MemoryMB != minMemoryMB || spec.VCPUs != 1 || !spec.VNC.Enabled {
		t.Fatalf("spec: %+v", spec)
	}
	if len(spec.NICs) != 1 || spec.NICs[0].Tap != netdev.TapName(portID) || spec.NICs[0].MAC != "fa:16:3e:00:00:01" {
		t.Fatalf("nics: %+v", spec.NICs)
	}
	for _, f := range []string{spec.Root.Path, spec.ConfigDrive, filepath.Join(e.dir, "images", "img-1")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	disk, _ := os.ReadFile(spec.Root.Path)
	if !strings.Contains(string(disk), "images/img-1 size 2147483648") {
		t.Fatalf("root disk: %s", disk)
	}
	if iso, _ := os.ReadFile(spec.ConfigDrive); !strings.Contains(string(iso), "config-2") {
		t.Fatal("config drive has no config-2 label")
	}

	// Converging the same State again does nothing.
	before := e.hv.Calls()
	disks := len(e.disks.calls)
	e.converge()
	e.converge()
	after := e.hv.Calls()[len(before):]
	if slices.ContainsFunc(after, func(c string) bool { return c != "List" }) {
		t.Fatalf("second convergence called %v", after)
	}
	if len(e.c.serverReports()) != 1 || len(e.disks.calls) != disks {
		t.Fatalf("second convergence reported %+v / made disks %v", e.c.serverReports(), e.disks.calls)
	}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()

	steps := []struct {
		task  string
		vm    string
		power int
		state hypervisor.State
	}{
		{taskPoweringOff, vmStopped, powerShutdown, hypervisor.StateShutdown},
		{taskPoweringOn, vmActive, powerRunning, hypervisor.StateRunning},
		{taskRebooting, vmActive, powerRunning, hypervisor.StateRunning},
		{taskRebootingHard, vmActive, powerRunning, hypervisor.StateRunning},
		{taskPausing, vmPaused, powerPaused, hypervisor.StatePaused},
		{taskUnpausing, vmActive, powerRunning, hypervisor.StateRunning},
		{taskSuspending, vmSuspended, powerSuspended, hypervisor.StateSuspended},
		{taskResuming, vmActive, powerRunning, hypervisor.StateRunning},
		{taskUpdatingPassword, vmActive, powerRunning, hypervisor.StateRunning},
		{taskRescuing, vmRescued, powerRunning, hypervisor.StateRunning},
		{taskUnrescuing, vmActive, powerRunning, hypervisor.StateRunning},
		{taskRebuilding, vmActive, powerRunning, hypervisor.StateRunning},
		{taskPoweringOff, vmStopped, powerShutdown, hypervisor.StateShutdown},
		{taskRebuilding, vmStopped, powerShutdown, hypervisor.StateShutdown},
		{taskPoweringOn, vmActive, powerRunning, hypervisor.StateRunning},
	}
	for _, s := range steps {
		r := e.task(s.task)
		wantReport(t, r, s.task, s.vm, s.power)
		if got := e.guestState(); got != s.state {
			t.Fatalf("%s: guest %s, want %s", s.task, got, s.state)
		}
		if s.task == taskRescuing {
			spec, _ := e.hv.Spec(srvID)
			if spec.Root.ID != "rescue" || len(spec.Disks) != 1 || spec.Disks[0].ID != "root" {
				t.Fatalf("rescue spec: %+v", spec)
			}
		}
		if s.task == taskUnrescuing {
			spec, _ := e.hv.Spec(srvID)
			if spec.Root.ID != "root" || len(spec.Disks) != 0 {
				t.Fatalf("unrescue spec: %+v", spec)
			}
			if _, err := os.Stat(filepath.Join(e.dir, "instances", srvID, "disk.rescue")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("rescue disk left: %v", err)
			}
		}
	}
	calls := e.hv.Calls()
	if count(calls, "Reboot") != 2 || count(calls, "Pause") != 1 || count(calls, "Suspend") != 1 || count(calls, "Resume") != 1 {
		t.Fatalf("calls %v", calls)
	}

	r := e.task(taskDeleting)
	if !r.Gone || r.Task != taskDeleting || r.Error != "" {
		t.Fatalf("delete report %+v", r)
	}
	if list, _ := e.hv.List(t.Context()); len(list) != 0 {
		t.Fatalf("guests left: %+v", list)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "instances")); len(entries) != 0 {
		t.Fatalf("instance files left: %v", entries)
	}
	if len(e.c.state().Servers) != 0 {
		t.Fatal("server still in the state")
	}
}

func TestResizeSameHost(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()
	e.c.set(func(st *hostapi.State) {
		st.Servers[0].VCPUs, st.Servers[0].RootGB, st.Servers[0].OldHostID = 2, 4, "host-1"
	})
	r := e.task(taskResizeMigrated)
	wantReport(t, r, taskResizeMigrated, vmResized, powerRunning)
	spec, _ := e.hv.Spec(srvID)
	if spec.VCPUs != 2 || e.guestState() != hypervisor.StateRunning {
		t.Fatalf("after resize: %+v %s", spec, e.guestState())
	}
	if !slices.ContainsFunc(e.disks.calls, func(c string) bool { return strings.HasPrefix(c, "resize ") && strings.HasSuffix(c, " 4294967296") }) {
		t.Fatalf("root disk not grown: %v", e.disks.calls)
	}
}

func TestRestartReadoptsAndFinishesSpawn(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	// The first agent defines and starts the guest but dies before its
	// report reaches the control plane.
	e.c.reportErr = errors.New("connection refused")
	e.converge()
	if e.guestState() != hypervisor.StateRunning {
		t.Fatal("guest not started")
	}
	e.c.reportErr = nil

	e.a = e.newAgent()
	e.converge()
	reps := e.c.serverReports()
	if len(reps) != 1 {
		t.Fatalf("reports %+v", reps)
	}
	wantReport(t, reps[0], taskSpawning, vmActive, powerRunning)
	if n := count(e.hv.Calls(), "Start"); n != 1 {
		t.Fatalf("Start called %d times: %v", n, e.hv.Calls())
	}

	// And a third agent over an ACTIVE server does nothing to it.
	e.a = e.newAgent()
	before := len(e.hv.Calls())
	e.converge()
	if after := e.hv.Calls()[before:]; slices.ContainsFunc(after, func(c string) bool { return c != "List" }) {
		t.Fatalf("restart called %v", after)
	}
}

func TestStrays(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	stray := hypervisor.Spec{ID: "0d7e5a3c-2222-4a2b-9c3d-000000000002", VCPUs: 1, MemoryMB: 128, Kernel: "/k"}
	if err := e.hv.Define(ctx, stray); err != nil {
		t.Fatal(err)
	}
	e.hv.Start(ctx, stray.ID)
	orphan := filepath.Join(e.dir, "instances", "0d7e5a3c-3333-4a2b-9c3d-000000000003")
	os.MkdirAll(orphan, 0o700)
	os.WriteFile(filepath.Join(orphan, "disk"), []byte("x"), 0o600)
	e.addServer(nil)
	e.converge()
	if _, err := e.hv.Status(ctx, stray.ID); !errors.Is(err, hypervisor.ErrNotFound) {
		t.Fatalf("stray guest still there: %v", err)
	}
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("orphan instance dir still there: %v", err)
	}
	if _, err := e.hv.Status(ctx, srvID); err != nil {
		t.Fatalf("the real server's guest: %v", err)
	}
}

func TestSnapshotAndShelve(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()
	e.hv.SnapshotDiskFunc = func(ctx context.Context, id, diskID, dest, format string) error {
		return os.WriteFile(dest, []byte("SNAPSHOT of "+id), 0o600)
	}
	e.c.set(func(st *hostapi.State) { st.Servers[0].SnapshotImageID = "snap-1" })
	r := e.task(taskImageSnapshot)
	wantReport(t, r, taskImageSnapshot, vmActive, powerRunning)
	if got := string(e.c.uploads["snap-1"]); got != "SNAPSHOT of "+srvID {
		t.Fatalf("uploaded %q", got)
	}

	e.c.set(func(st *hostapi.State) { st.Servers[0].SnapshotImageID = "shelved-1" })
	r = e.task(taskShelving)
	if !r.Gone || r.VMState != vmShelvedOffloaded || r.Error != "" {
		t.Fatalf("shelve report %+v", r)
	}
	if len(e.c.uploads["shelved-1"]) == 0 {
		t.Fatal("shelve uploaded nothing")
	}
	if _, err := e.hv.Status(t.Context(), srvID); !errors.Is(err, hypervisor.ErrNotFound) {
		t.Fatalf("guest after shelve: %v", err)
	}
}

func TestDefineFailureReportsError(t *testing.T) {
	e := newEnv(t)
	e.hv.DefineFunc = func(ctx context.Context, spec hypervisor.Spec) error {
		return errors.New("no room for this guest")
	}
	e.addServer(nil)
	e.converge()
	reps := e.c.serverReports()
	if len(reps) != 1 || reps[0].Task != taskSpawning || !strings.Contains(reps[0].Error, "no room") {
		t.Fatalf("reports %+v", reps)
	}
	// The server is in error now: the agent leaves it alone.
	e.converge()
	if len(e.c.serverReports()) != 1 {
		t.Fatalf("reports %+v", e.c.serverReports())
	}
}

func TestMissingImageReportsError(t *testing.T) {
	e := newEnv(t)
	e.addServer(func(sv *hostapi.Server) { sv.ImageID = "no-such-image" })
	e.converge()
	reps := e.c.serverReports()
	if len(reps) != 1 || !strings.Contains(reps[0].Error, "not found") {
		t.Fatalf("reports %+v", reps)
	}
}

func TestVolumes(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()
	vol := hostapi.Volume{VolumeID: volID, Path: "/var/lib/nubo/volumes/volume-" + volID + ".qcow2", Format: "qcow2", SizeGB: 1}
	e.c.set(func(st *hostapi.State) { st.Servers[0].Volumes = []hostapi.Volume{vol} })
	e.converge()
	vr := e.c.volumeReports()
	if len(vr) != 1 || !vr[0].Attached || vr[0].VolumeID != volID || vr[0].Error != "" {
		t.Fatalf("volume reports %+v", vr)
	}
	spec, _ := e.hv.Spec(srvID)
	if len(spec.Disks) != 1 || spec.Disks[0].ID != volID {
		t.Fatalf("disks %+v", spec.Disks)
	}
	e.converge() // nothing more
	if len(e.c.volumeReports()) != 1 || count(e.hv.Calls(), "AttachDisk") != 1 {
		t.Fatalf("second convergence: %+v %v", e.c.volumeReports(), e.hv.Calls())
	}

	// Live extend.
	e.c.set(func(st *hostapi.State) { st.Servers[0].Volumes[0].SizeGB = 2 })
	e.converge()
	if count(e.hv.Calls(), "BlockResize "+srvID+" "+volID+" 2147483648") != 1 {
		t.Fatalf("no BlockResize: %v", e.hv.Calls())
	}

	// A new agent does not re-report it.
	e.a = e.newAgent()
	e.converge()
	if len(e.c.volumeReports()) != 1 {
		t.Fatalf("after restart: %+v", e.c.volumeReports())
	}

	e.c.set(func(st *hostapi.State) { st.Servers[0].Volumes[0].Detaching = true })
	e.converge()
	vr = e.c.volumeReports()
	if len(vr) != 2 || vr[1].Attached || vr[1].Error != "" {
		t.Fatalf("volume reports %+v", vr)
	}
	if spec, _ := e.hv.Spec(srvID); len(spec.Disks) != 0 {
		t.Fatalf("disks after detach %+v", spec.Disks)
	}
	e.converge()
	if len(e.c.volumeReports()) != 2 {
		t.Fatalf("detach reported twice: %+v", e.c.volumeReports())
	}
}

func TestVolumeOnStoppedGuest(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()
	e.task(taskPoweringOff)
	vol := hostapi.Volume{VolumeID: volID, Path: "/v/" + volID, Format: "raw"}
	e.c.set(func(st *hostapi.State) { st.Servers[0].Volumes = []hostapi.Volume{vol} })
	e.converge()
	if vr := e.c.volumeReports(); len(vr) != 1 || !vr[0].Attached {
		t.Fatalf("volume reports %+v", vr)
	}
	spec, _ := e.hv.Spec(srvID)
	if len(spec.Disks) != 1 || spec.Disks[0].Format != "raw" || e.guestState() != hypervisor.StateShutdown {
		t.Fatalf("spec %+v state %s", spec, e.guestState())
	}
}

func TestInterfaceAttachDetach(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()
	const port2 = "1c7b2e3f-4051-4b6c-9d7e-8f90a1b2c3d4"
	e.c.set(func(st *hostapi.State) {
		st.Servers[0].Ports = append(st.Servers[0].Ports, port2)
		st.Ports = append(st.Ports, hostapi.Port{ID: port2, MAC: "fa:16:3e:00:00:02"})
	})
	wantReport(t, e.task(taskInterfaceAttach), taskInterfaceAttach, vmActive, powerRunning)
	if spec, _ := e.hv.Spec(srvID); len(spec.NICs) != 2 {
		t.Fatalf("nics %+v", spec.NICs)
	}
	e.c.set(func(st *hostapi.State) { st.Servers[0].Ports = []string{port2} })
	wantReport(t, e.task(taskInterfaceDetach), taskInterfaceDetach, vmActive, powerRunning)
	if spec, _ := e.hv.Spec(srvID); len(spec.NICs) != 1 || spec.NICs[0].ID != port2 {
		t.Fatalf("nics %+v", spec.NICs)
	}
}

func TestGuestPoweredOffIsReportedOnce(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()
	e.hv.SetState(srvID, hypervisor.StateShutdown, "guest-shutdown")
	e.c.apply = false
	e.converge()
	e.converge()
	reps := e.c.serverReports()
	if len(reps) != 2 {
		t.Fatalf("reports %+v", reps)
	}
	wantReport(t, reps[1], "", vmStopped, powerShutdown)
	if count(e.hv.Calls(), "Start") != 1 {
		t.Fatalf("the agent restarted the guest: %v", e.hv.Calls())
	}
}

func TestMissingGuestIsRecreated(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()
	e.hv.Delete(t.Context(), srvID)
	e.converge()
	if e.guestState() != hypervisor.StateRunning || len(e.c.serverReports()) != 1 {
		t.Fatalf("guest %s, reports %+v", e.guestState(), e.c.serverReports())
	}
}

// fakeNet records the States it converged.
type fakeNet struct{ calls int }

func (n *fakeNet) Converge(ctx context.Context, st *hostapi.State) ([]hostapi.PortReport, error) {
	n.calls++
	var out []hostapi.PortReport
	for _, p := range st.Ports {
		out = append(out, hostapi.PortReport{PortID: p.ID, Status: "ACTIVE"})
	}
	return out, nil
}

func (n *fakeNet) TapName(portID string) string { return "tp" + portID[:8] }

func TestRun(t *testing.T) {
	e := newEnv(t)
	e.c.registerErr = 1
	net := &fakeNet{}
	a, err := New(Config{
		Host: hostapi.Host{Name: "compute-1"}, Control: e.c, DataDir: e.dir, Hypervisor: e.hv, Disks: e.disks,
		Net: net, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), GracefulStop: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	e.addServer(nil)
	waitFor(t, func() bool {
		st := e.c.state()
		return len(st.Servers) == 1 && st.Servers[0].VMState == vmActive
	})
	spec, _ := e.hv.Spec(srvID)
	if spec.NICs[0].Tap != "tp"+portID[:8] {
		t.Fatalf("tap %q", spec.NICs[0].Tap)
	}
	e.c.set(func(st *hostapi.State) {
		st.Servers[0].TaskState, st.Servers[0].PrevVMState = taskPoweringOff, vmActive
	})
	waitFor(t, func() bool { return e.c.state().Servers[0].VMState == vmStopped })
	e.c.set(func(st *hostapi.State) { st.Servers[0].TaskState = taskDeleting })
	waitFor(t, func() bool { return len(e.c.state().Servers) == 0 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	e.c.mu.Lock()
	ports := e.c.ports
	e.c.mu.Unlock()
	if len(ports) != 1 || ports[0].Status != "ACTIVE" {
		t.Fatalf("port reports %+v", ports)
	}
	if count(e.hv.Calls(), "Start") != 1 {
		t.Fatalf("calls %v", e.hv.Calls())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestVersionNumber(t *testing.T) {
	for in, want := range map[string]int64{"7.2.22": 7002022, "8.2.0": 8002000, "9.1": 9001000, "": 0, "7.2.22 (Debian 1:7.2+dfsg-7)": 7002022} {
		if got := versionNumber(in); got != want {
			t.Errorf("%q → %d, want %d", in, got, want)
		}
	}
}

func TestDetectHost(t *testing.T) {
	h := DetectHost(t.Context(), "compute-1", t.TempDir(), hypervisortest.New())
	if h.Name != "compute-1" || h.VCPUs < 1 || h.MemoryMB <= 0 || h.DiskGB < 0 || h.HypervisorType != "QEMU" {
		t.Fatalf("%+v", h)
	}
}

func TestMoveBetweenHosts(t *testing.T) {
	e := newEnv(t)
	e.addServer(func(sv *hostapi.Server) { sv.HostID = "host-1" })
	e.converge()

	// Resized to another host: this host is the source; it stops the
	// guest, keeps the disk and leaves the report to the destination.
	e.c.set(func(st *hostapi.State) {
		sv := &st.Servers[0]
		sv.HostID, sv.OldHostID, sv.PrevVMState, sv.TaskState = "host-2", "host-1", sv.VMState, taskResizeMigrated
	})
	e.converge()
	e.converge()
	if len(e.c.serverReports()) != 1 || e.guestState() != hypervisor.StateShutdown {
		t.Fatalf("source: reports %+v, guest %s", e.c.serverReports(), e.guestState())
	}
	if _, err := os.Stat(filepath.Join(e.dir, "instances", srvID, "disk")); err != nil {
		t.Fatal(err)
	}
	// Reverted: back here with the old disk.
	e.c.set(func(st *hostapi.State) {
		sv := &st.Servers[0]
		sv.HostID, sv.OldHostID, sv.VMState, sv.TaskState = "host-1", "", vmResized, taskResizeReverting
	})
	e.converge()
	reps := e.c.serverReports()
	if len(reps) != 2 {
		t.Fatalf("reports %+v", reps)
	}
	wantReport(t, reps[1], taskResizeReverting, vmActive, powerRunning)
	if e.guestState() != hypervisor.StateRunning || count(e.disks.calls, "overlay") != 1 {
		t.Fatalf("guest %s, disks %v", e.guestState(), e.disks.calls)
	}

	// Migrated here from another host: the disk is made from the image.
	e2 := newEnv(t)
	e2.addServer(func(sv *hostapi.Server) {
		sv.HostID, sv.OldHostID, sv.VMState, sv.PrevVMState, sv.TaskState = "host-1", "host-0", vmActive, vmActive, taskResizeMigrated
	})
	e2.converge()
	reps = e2.c.serverReports()
	if len(reps) != 1 {
		t.Fatalf("reports %+v", reps)
	}
	wantReport(t, reps[0], taskResizeMigrated, vmResized, powerRunning)
	if e2.guestState() != hypervisor.StateRunning {
		t.Fatal("destination guest not running")
	}
}

func TestStaleStateIsNotActedOnTwice(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()
	e.c.set(func(st *hostapi.State) { st.Servers[0].PrevVMState, st.Servers[0].TaskState = vmActive, taskRebooting })
	old := e.c.state()
	seq := e.a.fetchSeq.Add(1)
	e.a.converge(t.Context(), old, seq)
	e.a.wait()
	// A State read before the report landed still shows the task.
	e.a.converge(t.Context(), old, seq)
	e.a.wait()
	if n := count(e.hv.Calls(), "Reboot"); n != 1 || len(e.c.serverReports()) != 2 {
		t.Fatalf("Reboot called %d times, reports %+v", n, e.c.serverReports())
	}
}

func TestBootFromVolume(t *testing.T) {
	e := newEnv(t)
	e.addServer(func(sv *hostapi.Server) {
		sv.ImageID, sv.ConfigDrive, sv.EphemeralGB, sv.SwapMB = "", false, 1, 512
		sv.Volumes = []hostapi.Volume{{VolumeID: volID, Path: "/v/volume-" + volID + ".qcow2", Format: "qcow2", Boot: true, SizeGB: 1}}
	})
	e.converge()
	wantReport(t, e.c.serverReports()[0], taskSpawning, vmActive, powerRunning)
	spec, _ := e.hv.Spec(srvID)
	if spec.Root.ID != volID || spec.Root.Path != "/v/volume-"+volID+".qcow2" || spec.ConfigDrive != "" {
		t.Fatalf("spec %+v", spec)
	}
	if len(spec.Disks) != 2 || spec.Disks[0].ID != "ephemeral0" || spec.Disks[1].ID != "swap" {
		t.Fatalf("disks %+v", spec.Disks)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "images")); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "images")); len(entries) != 0 {
		t.Fatalf("an image was downloaded: %v", entries)
	}
	if vr := e.c.volumeReports(); len(vr) != 1 || !vr[0].Attached || vr[0].VolumeID != volID {
		t.Fatalf("volume reports %+v", vr)
	}
}

func TestDeleteCancelsSlowSpawn(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	e.c.imageHook = func(ctx context.Context) { close(started); <-ctx.Done() }
	e.addServer(nil)
	e.a.converge(t.Context(), e.c.state(), e.a.fetchSeq.Add(1))
	<-started
	e.c.set(func(st *hostapi.State) { st.Servers[0].TaskState, st.Servers[0].Deleted = taskDeleting, true })
	e.a.converge(t.Context(), e.c.state(), e.a.fetchSeq.Add(1)) // cancels the spawn
	e.a.wait()
	e.converge()
	reps := e.c.serverReports()
	if len(reps) != 1 || !reps[0].Gone || reps[0].Task != taskDeleting {
		t.Fatalf("reports %+v", reps)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "instances")); len(entries) != 0 {
		t.Fatalf("left: %v", entries)
	}
}

func TestUnusedImagesArePruned(t *testing.T) {
	e := newEnv(t)
	e.a.cfg.ImageCacheTTL = time.Nanosecond
	e.addServer(nil)
	e.converge()
	cached := filepath.Join(e.dir, "images", "img-1")
	e.a.lastReap = time.Time{}
	e.converge()
	if _, err := os.Stat(cached); err != nil {
		t.Fatalf("image in use was pruned: %v", err)
	}
	e.task(taskDeleting)
	e.a.lastReap = time.Time{}
	e.converge()
	if _, err := os.Stat(cached); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unused image kept: %v", err)
	}
}

// TestAnswersConsoleRequests: the agent answers the State's console
// requests once each, with the console's tail or NotFound, in the
// background of its loop (and not as a change to converge).
func TestAnswersConsoleRequests(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()
	e.hv.AppendConsole(srvID, "line 1\nline 2\nline 3\n")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	before := len(e.hv.Calls())
	e.c.set(func(st *hostapi.State) {
		st.Consoles = []hostapi.ConsoleRequest{{ID: "req-1", ServerID: srvID, Lines: 2}, {ID: "req-2", ServerID: "no-such-server"}}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.c.mu.Lock()
		reps := slices.Clone(e.c.consoles)
		e.c.mu.Unlock()
		if len(reps) >= 2 {
			slices.SortFunc(reps, func(a, b hostapi.ConsoleReport) int { return strings.Compare(a.ID, b.ID) })
			if len(reps) != 2 || reps[0] != (hostapi.ConsoleReport{ID: "req-1", Output: "line 2\nline 3\n"}) ||
				reps[1] != (hostapi.ConsoleReport{ID: "req-2", NotFound: true}) {
				t.Fatalf("console reports %+v", reps)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("console reports %+v after 10 s", reps)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // answered once only
	e.c.mu.Lock()
	n := len(e.c.consoles)
	e.c.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d console reports, want 2", n)
	}
	for _, c := range e.hv.Calls()[before:] {
		if c != "List" && c != "ConsoleLog" {
			t.Fatalf("a console request made the agent call %s", c)
		}
	}
}
