//go:build qemu

// Real-driver tests: they boot the test guest from scripts/build-test-guest.sh
// under QEMU (TCG here), directly (-kernel/-initrd) or from its disk.img.
// Run them with `make e2e-qemu`, as root, with what scripts/install-deps.sh
// installs (qemu-system-x86, qemu-utils, busybox-static, and for the guest's
// build kmod, cpio, dosfstools, mtools, syslinux, syslinux-common).
package qemu_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/configdrive"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu/qemuimg"
)

func guestDir() string {
	if dir := os.Getenv("NUBO_TEST_GUEST"); dir != "" {
		return dir
	}
	return "/var/cache/nubo/test-guest"
}

func guestFiles(t *testing.T) (kernel, initrd string) {
	t.Helper()
	dir := guestDir()
	kernel, initrd = filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "initramfs.cpio.gz")
	for _, f := range []string{kernel, initrd} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%v: run scripts/build-test-guest.sh first", err)
		}
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Fatal("apt-get install --no-install-recommends qemu-system-x86 qemu-utils")
	}
	return kernel, initrd
}

// newRoot returns a short state root (socket paths must fit in 107 bytes)
// and checks at cleanup that no QEMU process, socket or directory is left.
func newRoot(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "nq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Registered first, so it runs after the drivers' own cleanups.
		deadline := time.Now().Add(5 * time.Second)
		for {
			pids := qemuPIDs(root)
			if len(pids) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("QEMU processes left behind: %v", pids)
				for _, p := range pids {
					syscall.Kill(p, syscall.SIGKILL)
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			t.Errorf("left behind in the state root: %s", e.Name())
		}
		os.RemoveAll(root)
	})
	return root
}

// qemuPIDs lists live (non-zombie) qemu processes whose command line mentions root.
func qemuPIDs(root string) []int {
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

func newDriver(t *testing.T, root string) *qemu.Driver {
	t.Helper()
	d, err := qemu.New(qemu.Config{Root: root, Accel: "tcg"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// cleanupGuests deletes every guest d knows at the end of the test.
func cleanupGuests(t *testing.T, d *qemu.Driver) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		list, _ := d.List(ctx)
		for _, s := range list {
			if err := d.Delete(ctx, s.ID); err != nil {
				t.Errorf("cleanup delete %s: %v", s.ID, err)
			}
		}
	})
}

func testSpec(t *testing.T, id string) hypervisor.Spec {
	kernel, initrd := guestFiles(t)
	return hypervisor.Spec{
		ID: id, Name: "test-" + id, VCPUs: 1, MemoryMB: 128,
		Kernel: kernel, Initrd: initrd, Cmdline: "console=ttyS0 quiet clocksource=hpet panic=-1",
	}
}

// waitConsole waits until the console log contains want (after skip bytes).
func waitConsole(t *testing.T, d *qemu.Driver, id, want string, skip int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		log, err := d.ConsoleLog(t.Context(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) >= skip && strings.Contains(log[skip:], want) {
			return log
		}
		if time.Now().After(deadline) {
			t.Fatalf("console of %s: no %q within %v; tail:\n%s", id, want, timeout, lastLines(log, 15))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func consoleLen(t *testing.T, d *qemu.Driver, id string) int {
	log, err := d.ConsoleLog(t.Context(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(log)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func wantState(t *testing.T, d hypervisor.Driver, id string, want hypervisor.State) hypervisor.Status {
	t.Helper()
	st, err := d.Status(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != want || st.PowerState != want.PowerState() {
		t.Fatalf("%s: state %s (%d, %q), want %s", id, st.State, st.PowerState, st.Reason, want)
	}
	return st
}

func cpuSeconds(pid int) float64 {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return float64(ut+st) / 100 // USER_HZ
}

func TestProbeAndCapabilities(t *testing.T) {
	guestFiles(t)
	start := time.Now()
	if ok, why := qemu.ProbeKVM(t.Context(), "qemu-system-x86_64", "tcg", 20*time.Second); !ok {
		t.Fatalf("the probe guest does not even run under TCG: %s", why)
	}
	t.Logf("TCG probe guest ran in %v", time.Since(start).Round(time.Millisecond))
	d, err := qemu.New(qemu.Config{Root: newRoot(t)}) // Accel auto
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	caps, err := d.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capabilities %+v (in %v)", caps, time.Since(start).Round(time.Millisecond))
	if caps.Accel != "kvm" && caps.Accel != "tcg" || caps.Version == "" {
		t.Fatalf("caps %+v", caps)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	root := newRoot(t)
	d := newDriver(t, root)
	cleanupGuests(t, d)
	const id = "0d7e5a3c-1111-4a2b-9c3d-000000000001"
	img := qemuimg.Tool{}
	disks := t.TempDir()

	spec := testSpec(t, id)
	spec.Root = hypervisor.Disk{ID: "root", Path: filepath.Join(disks, "root.qcow2")}
	base := filepath.Join(disks, "base.qcow2")
	if err := img.Create(ctx, base, "qcow2", 32<<20); err != nil {
		t.Fatal(err)
	}
	if err := img.CreateOverlay(ctx, base, "qcow2", spec.Root.Path, 64<<20); err != nil {
		t.Fatal(err)
	}
	spec.ConfigDrive = filepath.Join(disks, "config.iso")
	err := configdrive.WriteFile(spec.ConfigDrive, configdrive.Content{
		MetaData: configdrive.MetaData{UUID: id, Name: "cd-test", Hostname: "cd-test"},
		UserData: []byte("#!/bin/sh\necho FZ-USERDATA-RAN\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	spec.VNC.Enabled = true

	if err := d.Define(ctx, spec); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, id, hypervisor.StateShutdown)

	start := time.Now()
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	st := wantState(t, d, id, hypervisor.StateRunning)
	log := waitConsole(t, d, id, "FZ-READY", 0, 60*time.Second)
	t.Logf("boot: Start→FZ-READY %v, QEMU CPU %.2fs", time.Since(start).Round(time.Millisecond), cpuSeconds(st.PID))
	// The config drive was found and its user_data ran.
	// The device watcher runs in the background and may print its first
	// line just after FZ-READY, so wait for it rather than expect it.
	log = waitConsole(t, d, id, "vda:root", 0, 10*time.Second)
	for _, want := range []string{"FZ-CD-BEGIN /dev/sr0", `"uuid":"` + id + `"`, "FZ-USERDATA-RAN"} {
		if !strings.Contains(log, want) {
			t.Errorf("console lacks %q:\n%s", want, lastLines(log, 20))
		}
	}
	if err := d.Start(ctx, id); err != nil { // idempotent
		t.Fatal(err)
	}
	if network, addr, err := d.VNCAddress(ctx, id); err != nil || network != "unix" {
		t.Errorf("vnc %s %s %v", network, addr, err)
	} else if _, err := os.Stat(addr); err != nil {
		t.Errorf("vnc socket: %v", err)
	}

	// Power states.
	for _, step := range []struct {
		name string
		do   func(context.Context, string) error
		want hypervisor.State
	}{
		{"pause", d.Pause, hypervisor.StatePaused},
		{"unpause", d.Unpause, hypervisor.StateRunning},
		{"suspend", d.Suspend, hypervisor.StateSuspended},
		{"resume", d.Resume, hypervisor.StateRunning},
	} {
		if err := step.do(ctx, id); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		wantState(t, d, id, step.want)
	}

	// Hot-plug a disk: the guest sees vdb with the volume's serial.
	// A volume UUID as disk ID: virtio-blk shows the guest its first 20 bytes.
	vol := hypervisor.Disk{ID: "5b0e7c1a-3333-4a2b-9c3d-000000000003", Path: filepath.Join(disks, "vol.qcow2")}
	if err := img.Create(ctx, vol.Path, "qcow2", 16<<20); err != nil {
		t.Fatal(err)
	}
	mark := consoleLen(t, d, id)
	start = time.Now()
	if err := d.AttachDisk(ctx, id, vol); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, d, id, "vdb:"+vol.ID[:20]+" ]", mark, 20*time.Second)
	t.Logf("attach: device_add→/dev/vdb in guest %v", time.Since(start).Round(time.Millisecond))
	if err := d.AttachDisk(ctx, id, vol); err != nil { // idempotent
		t.Fatal(err)
	}
	mark = consoleLen(t, d, id)
	start = time.Now()
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err = d.DetachDisk(dctx, id, vol.ID)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("detach: device_del→DEVICE_DELETED %v", time.Since(start).Round(time.Millisecond))
	waitConsole(t, d, id, "FZ-BLK [ vda:root ]", mark, 10*time.Second)
	// The volume is free again: a second writer can open it.
	if _, err := img.Info(ctx, vol.Path, "qcow2", false); err != nil {
		t.Fatalf("volume still locked after detach: %v", err)
	}
	if err := d.DetachDisk(ctx, id, vol.ID); err != nil { // idempotent
		t.Fatal(err)
	}

	// Snapshot the root disk of the running guest (paused for the copy).
	snap := filepath.Join(disks, "snap.qcow2")
	if err := d.SnapshotDisk(ctx, id, "", snap, "qcow2"); err != nil {
		t.Fatal(err)
	}
	if info, err := img.Info(ctx, snap, "qcow2", false); err != nil || info.BackingFilename != "" || info.VirtualSize != 64<<20 {
		t.Fatalf("snapshot %+v %v", info, err)
	}
	wantState(t, d, id, hypervisor.StateRunning)

	// Graceful stop: the guest's acpid powers it off.
	start = time.Now()
	if err := d.Stop(ctx, id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("ACPI stop took %v", time.Since(start).Round(time.Millisecond))
	if time.Since(start) > 20*time.Second {
		t.Errorf("graceful stop fell back to a hard stop")
	}
	wantState(t, d, id, hypervisor.StateShutdown)
	if tail, _ := d.ConsoleLog(ctx, id, 5); !strings.Contains(tail, "FZ-POWEROFF") {
		t.Errorf("no FZ-POWEROFF in the last console lines:\n%s", tail)
	}
	if _, _, err := d.VNCAddress(ctx, id); !errors.Is(err, hypervisor.ErrNotRunning) {
		t.Errorf("vnc of a stopped guest: %v", err)
	}
	if err := d.Pause(ctx, id); !errors.Is(err, hypervisor.ErrNotRunning) {
		t.Errorf("pause of a stopped guest: %v", err)
	}

	// Start again, then a crash: QEMU killed behind the driver's back.
	mark = consoleLen(t, d, id)
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	st = wantState(t, d, id, hypervisor.StateRunning)
	waitConsole(t, d, id, "FZ-USERSPACE", mark, 60*time.Second)
	syscall.Kill(st.PID, syscall.SIGKILL)
	waitFor(t, 5*time.Second, func() bool {
		s, _ := d.Status(ctx, id)
		return s.State == hypervisor.StateCrashed
	})
	if s, _ := d.Status(ctx, id); !strings.Contains(s.Reason, "signal 9") {
		t.Errorf("crash reason %q", s.Reason)
	}

	// Hard reboot from crashed, then a hard stop.
	if err := d.Reboot(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, id, hypervisor.StateRunning)
	if err := d.Stop(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, id, hypervisor.StateShutdown)

	if err := d.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Status(ctx, id); !errors.Is(err, hypervisor.ErrNotFound) {
		t.Fatalf("status after delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, id)); !os.IsNotExist(err) {
		t.Fatalf("state dir after delete: %v", err)
	}
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReadoptAfterAgentRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	root := newRoot(t)
	const id = "0d7e5a3c-2222-4a2b-9c3d-000000000002"

	d1 := newDriver(t, root)
	if err := d1.Define(ctx, testSpec(t, id)); err != nil {
		t.Fatal(err)
	}
	if err := d1.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	st1 := wantState(t, d1, id, hypervisor.StateRunning)
	waitConsole(t, d1, id, "FZ-READY", 0, 60*time.Second)
	if err := d1.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}

	// A stray: a QEMU under this root that no definition owns (it never
	// runs a guest: -S, no kernel).
	ghost := filepath.Join(root, "ghost")
	os.MkdirAll(ghost, 0o700)
	stray := exec.Command("qemu-system-x86_64", "-S", "-nodefaults", "-display", "none", "-machine", "none",
		"-pidfile", filepath.Join(ghost, "qemu.pid"))
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	strayDone := make(chan struct{})
	go func() { stray.Wait(); close(strayDone) }()
	t.Cleanup(func() { stray.Process.Kill(); <-strayDone; os.RemoveAll(ghost) })

	// "Agent restart": the old driver lets go, a new one adopts.
	d1.Close()
	d2 := newDriver(t, root)
	cleanupGuests(t, d2)
	list, err := d2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].PID != st1.PID || list[0].State != hypervisor.StatePaused {
		t.Fatalf("List after restart: %+v (want %s paused, pid %d)", list, id, st1.PID)
	}
	if err := d2.Unpause(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantState(t, d2, id, hypervisor.StateRunning)

	killed, err := d2.KillStrays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) != 1 || killed[0] != stray.Process.Pid {
		t.Fatalf("KillStrays killed %v, want [%d] (the stray) and not %d (the guest)", killed, stray.Process.Pid, st1.PID)
	}
	select {
	case <-strayDone:
	case <-time.After(5 * time.Second):
		t.Fatal("stray still running")
	}
	os.RemoveAll(ghost)

	// The adopted guest still answers the power button.
	start := time.Now()
	if err := d2.Stop(ctx, id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("adopted guest: ACPI stop took %v", time.Since(start).Round(time.Millisecond))
	wantState(t, d2, id, hypervisor.StateShutdown)
	if len(qemuPIDs(root)) != 0 {
		t.Fatalf("QEMU still running after Stop: %v", qemuPIDs(root))
	}
}

func TestNICHotplug(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := "nubotest-" + strconv.Itoa(os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for _, tap := range []string{"ntap0", "ntap1"} {
		ip("-n", ns, "tuntap", "add", "dev", tap, "mode", "tap")
		ip("-n", ns, "link", "set", tap, "up")
	}
	root := newRoot(t)
	d, err := qemu.New(qemu.Config{Root: root, Accel: "tcg", NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	cleanupGuests(t, d)
	const id = "0d7e5a3c-4444-4a2b-9c3d-000000000004"
	spec := testSpec(t, id)
	spec.NICs = []hypervisor.NIC{{ID: "port-0", Tap: "ntap0", MAC: "fa:16:3e:00:00:10"}}
	if err := d.Define(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, d, id, "FZ-NET [ eth0:fa:16:3e:00:00:10 ]", 0, 60*time.Second)
	mark := consoleLen(t, d, id)
	start := time.Now()
	if err := d.AttachNIC(ctx, id, hypervisor.NIC{ID: "port-1", Tap: "ntap1", MAC: "fa:16:3e:00:00:11"}); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, d, id, "eth1:fa:16:3e:00:00:11 ]", mark, 20*time.Second)
	t.Logf("NIC attach→eth1 in guest %v", time.Since(start).Round(time.Millisecond))
	mark = consoleLen(t, d, id)
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := d.DetachNIC(dctx, id, "port-1"); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, d, id, "FZ-NET [ eth0:fa:16:3e:00:00:10 ]", mark, 10*time.Second)

	// A paused guest cannot see the power button: a graceful Stop must not
	// wait out its timeout.
	if err := d.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := d.Stop(ctx, id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("graceful stop of a paused guest took %v", el)
	}
	wantState(t, d, id, hypervisor.StateShutdown)
	if err := d.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// TestBootFromDisk boots the test guest the way users' images boot: from a
// qcow2 overlay on disk.img (SeaBIOS → MBR → syslinux → kernel, no
// -kernel). On a NIC in a private netns, busybox udhcpd hands out a lease with
// classless static routes (option 121: the default route and
// 169.254.169.254/32, as Nubo's DHCP server does) and busybox httpd plays the
// metadata service; the guest must get its metadata and user data through
// those routes, run the user data and answer on its echo (7) and HTTP (80) ports.
func TestBootFromDisk(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	guestFiles(t)
	diskImg := filepath.Join(guestDir(), "disk.img")
	if _, err := os.Stat(diskImg); err != nil {
		t.Fatalf("%v: run scripts/build-test-guest.sh again", err)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal("apt-get install busybox-static")
	}
	ns := "nubodisk-" + strconv.Itoa(os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "set", "lo", "up")
	ip("-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo")
	ip("-n", ns, "tuntap", "add", "dev", "dtap0", "mode", "tap")
	ip("-n", ns, "addr", "add", "10.99.0.1/24", "dev", "dtap0")
	ip("-n", ns, "link", "set", "dtap0", "up")

	const id = "0d7e5a3c-5555-4a2b-9c3d-000000000005"
	const guestIP = "10.99.0.50"
	srv := t.TempDir()
	files := map[string]string{
		// Not in 10.99.0.0/24: the guest reaches it only through the
		// 169.254.169.254/32 route of option 121.
		"md/openstack/latest/meta_data.json": `{"uuid":"` + id + `","name":"disk-test"}`,
		"md/openstack/latest/user_data":      "#!/bin/sh\nip route\necho FZ-USERDATA-RAN\n",
		"udhcpd.conf": "interface dtap0\nstart " + guestIP + "\nend " + guestIP + "\n" +
			"lease_file " + filepath.Join(srv, "leases") + "\npidfile " + filepath.Join(srv, "udhcpd.pid") + "\n" +
			"option subnet 255.255.255.0\noption router 10.99.0.254\n" + // a wrong router: option 121 must win
			"option staticroutes 0.0.0.0/0 10.99.0.1, 169.254.169.254/32 10.99.0.1\n",
	}
	for name, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(srv, name)), 0o755)
		if err := os.WriteFile(filepath.Join(srv, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{busybox, "udhcpd", "-f", filepath.Join(srv, "udhcpd.conf")},
		{busybox, "httpd", "-f", "-p", "169.254.169.254:80", "-h", filepath.Join(srv, "md")},
	} {
		cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}

	root := newRoot(t)
	d, err := qemu.New(qemu.Config{Root: root, Accel: "tcg", NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	cleanupGuests(t, d)
	disks := t.TempDir()
	spec := hypervisor.Spec{
		ID: id, Name: "test-disk", VCPUs: 1, MemoryMB: 128,
		Root: hypervisor.Disk{ID: "root", Path: filepath.Join(disks, "root.qcow2")},
		NICs: []hypervisor.NIC{{ID: "port-0", Tap: "dtap0", MAC: "fa:16:3e:00:00:50"}},
	}
	if err := (qemuimg.Tool{}).CreateOverlay(ctx, diskImg, "raw", spec.Root.Path, 64<<20); err != nil {
		t.Fatal(err)
	}
	if err := d.Define(ctx, spec); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	st := wantState(t, d, id, hypervisor.StateRunning)
	log := waitConsole(t, d, id, "FZ-READY", 0, 90*time.Second)
	t.Logf("boot from disk: Start→FZ-READY %v, QEMU CPU %.2fs", time.Since(start).Round(time.Millisecond), cpuSeconds(st.PID))
	log = waitConsole(t, d, id, "FZ-BLK [ vda:root ]", 0, 10*time.Second)
	for _, want := range []string{
		"SYSLINUX ", "FZ-LEASE " + guestIP, `"uuid":"` + id + `"`, "FZ-UD-BEGIN metadata",
		"default via 10.99.0.1 dev eth0", "169.254.169.254 via 10.99.0.1 dev eth0", "FZ-USERDATA-RAN",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("console lacks %q:\n%s", want, lastLines(log, 30))
		}
	}
	if strings.Contains(log, "FZ-CD-BEGIN") {
		t.Errorf("the root disk was taken for a config drive:\n%s", lastLines(log, 30))
	}

	// The echo and HTTP ports, from the host side of the tap.
	run := func(script string) string {
		t.Helper()
		out, err := exec.Command("ip", "netns", "exec", ns, busybox, "sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", script, err, out)
		}
		return string(out)
	}
	if out := run("echo nubo-echo | " + busybox + " timeout 10 " + busybox + " nc " + guestIP + " 7"); out != "nubo-echo\n" {
		t.Errorf("echo port answered %q", out)
	}
	// (nc, not wget: Debian 12's busybox wget segfaults with -T)
	if out := run(`printf 'GET / HTTP/1.0\r\n\r\n' | ` + busybox + " timeout 10 " + busybox + " nc " + guestIP + " 80"); !strings.HasPrefix(out, "HTTP/1.") {
		t.Errorf("HTTP port answered %q", out)
	}

	if err := d.Stop(ctx, id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, id, hypervisor.StateShutdown)
	if err := d.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
}
