//go:build qemu

// Real-driver test: the agent boots the test guest from
// scripts/build-test-guest.sh under QEMU (TCG) through the qemu driver and
// real qemu-img. Run it with `go test -tags qemu ./internal/agent/`, as
// root, with qemu-system-x86 and qemu-utils installed (make e2e-qemu
// builds the guest).
package agent

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu/qemuimg"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// testGuest returns the test guest's bootable raw disk image.
func testGuest(t *testing.T) (diskImg string) {
	t.Helper()
	dir := os.Getenv("NUBO_TEST_GUEST")
	if dir == "" {
		dir = "/var/cache/nubo/test-guest"
	}
	diskImg = filepath.Join(dir, "disk.img")
	for _, f := range []string{diskImg} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%v: run scripts/build-test-guest.sh first", err)
		}
	}
	for _, bin := range []string{"qemu-system-x86_64", "qemu-img"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatal("apt-get install --no-install-recommends qemu-system-x86 qemu-utils")
		}
	}
	return diskImg
}

// qemuProcs lists live QEMU processes whose command line mentions root.
func qemuProcs(root string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		if strings.HasPrefix(string(cmd), "qemu-system") && strings.Contains(string(cmd), root+"/") &&
			!strings.Contains(string(stat), ") Z ") {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestRealGuestThroughAgent(t *testing.T) {
	diskImg := testGuest(t)
	ctx := t.Context()
	root, err := os.MkdirTemp("", "na") // short: socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	dataDir := t.TempDir()

	// The image is the guest's raw disk (MBR, syslinux): the agent
	// converts it to qcow2 in its cache and boots an overlay on it.
	raw, err := os.ReadFile(diskImg)
	if err != nil {
		t.Fatal(err)
	}
	c := newFakeControl()
	c.images["img-1"], c.formats["img-1"] = raw, "raw"
	c.apply = true

	newAgent := func(d *qemu.Driver) *Agent {
		a, err := New(Config{
			Host: hostapi.Host{Name: "compute-1"}, Control: c, DataDir: dataDir, Hypervisor: d,
			Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
			GracefulStop: 30 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		a.hostID = "host-1"
		return a
	}
	converge := func(a *Agent) {
		seq := a.fetchSeq.Add(1)
		a.converge(ctx, c.state(), seq)
		a.wait()
	}
	newDriver := func() *qemu.Driver {
		d, err := qemu.New(qemu.Config{Root: root, Accel: "tcg"})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	waitConsole := func(d *qemu.Driver, want string, skip int) string {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			log, _ := d.ConsoleLog(ctx, srvID, 0)
			if len(log) >= skip && strings.Contains(log[skip:], want) {
				return log
			}
			if time.Now().After(deadline) {
				t.Fatalf("console lacks %q:\n%s", want, log)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	d1 := newDriver()
	c.set(func(st *hostapi.State) {
		st.Servers = append(st.Servers, hostapi.Server{
			ID: srvID, Name: "vm", TaskState: taskSpawning, VMState: vmBuilding,
			VCPUs: 1, MemoryMB: 64, RootGB: 1, ImageID: "img-1", ConfigDrive: true,
		})
	})
	// The first agent boots the guest but its report never arrives
	// (killed right after Start).
	c.reportErr = io.ErrUnexpectedEOF
	a1 := newAgent(d1)
	start := time.Now()
	converge(a1)
	log := waitConsole(d1, "FZ-READY", 0)
	t.Logf("spawn → FZ-READY in %v", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{"FZ-CD-BEGIN", `"uuid":"` + srvID + `"`} {
		if !strings.Contains(log, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if info, err := (qemuimg.Tool{}).Info(ctx, filepath.Join(dataDir, "images", "img-1"), "qcow2", true); err != nil || info.BackingFilename != "" {
		t.Fatalf("cached image: %+v %v", info, err)
	}
	if info, err := (qemuimg.Tool{}).Info(ctx, filepath.Join(dataDir, "instances", srvID, "disk"), "qcow2", true); err != nil || info.VirtualSize != 1<<30 {
		t.Fatalf("root disk: %+v %v", info, err)
	}
	pids := qemuProcs(root)
	if len(pids) != 1 {
		t.Fatalf("QEMU processes %v", pids)
	}

	// A new agent (and driver) re-adopts the guest and finishes the
	// spawn: ACTIVE once, still one QEMU, the same one.
	d1.Close()
	c.reportErr = nil
	d2 := newDriver()
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		list, _ := d2.List(cctx)
		for _, s := range list {
			d2.Delete(cctx, s.ID)
		}
	})
	a2 := newAgent(d2)
	converge(a2)
	reps := c.serverReports()
	if len(reps) != 1 {
		t.Fatalf("reports %+v", reps)
	}
	wantReport(t, reps[0], taskSpawning, vmActive, powerRunning)
	if now := qemuProcs(root); len(now) != 1 || now[0] != pids[0] {
		t.Fatalf("QEMU processes %v, want only %v", now, pids)
	}
	converge(a2) // idempotent
	if len(c.serverReports()) != 1 || len(qemuProcs(root)) != 1 {
		t.Fatalf("second convergence: %+v %v", c.serverReports(), qemuProcs(root))
	}

	task := func(task string) hostapi.ServerReport {
		t.Helper()
		c.set(func(st *hostapi.State) {
			sv := &st.Servers[0]
			sv.PrevVMState, sv.TaskState = sv.VMState, task
		})
		n := len(c.serverReports())
		converge(a2)
		reps := c.serverReports()
		if len(reps) != n+1 {
			t.Fatalf("%s: reports %+v", task, reps[n:])
		}
		return reps[n]
	}

	// Graceful power-off through ACPI, then on again.
	start = time.Now()
	wantReport(t, task(taskPoweringOff), taskPoweringOff, vmStopped, powerShutdown)
	t.Logf("powering-off took %v", time.Since(start).Round(time.Millisecond))
	if p := qemuProcs(root); len(p) != 0 {
		t.Fatalf("QEMU still running after stop: %v", p)
	}
	mark := len(waitConsole(d2, "FZ-POWEROFF", 0))
	wantReport(t, task(taskPoweringOn), taskPoweringOn, vmActive, powerRunning)
	waitConsole(d2, "FZ-READY", mark)

	// A volume: hot-plugged (the guest sees its ID as serial), extended
	// live, detached.
	volPath := filepath.Join(t.TempDir(), "vol.qcow2")
	if err := (qemuimg.Tool{}).Create(ctx, volPath, "qcow2", 1<<30); err != nil {
		t.Fatal(err)
	}
	mark = len(waitConsole(d2, "FZ-READY", mark))
	c.set(func(st *hostapi.State) {
		st.Servers[0].Volumes = []hostapi.Volume{{VolumeID: volID, Path: volPath, Format: "qcow2", SizeGB: 1}}
	})
	converge(a2)
	if vr := c.volumeReports(); len(vr) != 1 || !vr[0].Attached || vr[0].Error != "" {
		t.Fatalf("volume reports %+v", vr)
	}
	waitConsole(d2, "vdb:"+volID[:20], mark)
	c.set(func(st *hostapi.State) { st.Servers[0].Volumes[0].SizeGB = 2 })
	converge(a2)
	if info, err := (qemuimg.Tool{}).Info(ctx, volPath, "qcow2", true); err != nil || info.VirtualSize != 2<<30 {
		t.Fatalf("after extend: %+v %v", info, err)
	}
	c.set(func(st *hostapi.State) { st.Servers[0].Volumes[0].Detaching = true })
	converge(a2)
	if vr := c.volumeReports(); len(vr) != 2 || vr[1].Attached || vr[1].Error != "" {
		t.Fatalf("volume reports %+v", vr)
	}
	c.set(func(st *hostapi.State) { st.Servers[0].Volumes = nil })

	// A snapshot is a flattened qcow2.
	c.set(func(st *hostapi.State) { st.Servers[0].SnapshotImageID = "snap-1" })
	wantReport(t, task(taskImageSnapshot), taskImageSnapshot, vmActive, powerRunning)
	if snap := c.uploads["snap-1"]; !bytes.HasPrefix(snap, []byte("QFI\xfb")) {
		t.Fatalf("snapshot is not qcow2 (%d bytes)", len(snap))
	}
	if st, _ := d2.Status(ctx, srvID); st.State != hypervisor.StateRunning {
		t.Fatalf("guest %s after snapshot", st.State)
	}

	r := task(taskDeleting)
	if !r.Gone || r.Error != "" {
		t.Fatalf("delete report %+v", r)
	}
	if p := qemuProcs(root); len(p) != 0 {
		t.Fatalf("QEMU left: %v", p)
	}
	for _, dir := range []string{root, filepath.Join(dataDir, "instances")} {
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("left in %s: %v", dir, entries)
		}
	}
}
