package qemu

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testUUID = "6f1c3a52-9a7e-4c55-8d1e-2b3c4d5e6f70"

func TestBuildArgsGolden(t *testing.T) {
	p := PathsFor("/var/lib/nubo/guests/" + testUUID)
	cases := []struct {
		name string
		spec hypervisor.Spec
		opts Options
	}{
		{
			name: "kernel-tcg",
			spec: hypervisor.Spec{
				ID: testUUID, Name: "test", VCPUs: 1, MemoryMB: 128,
				Kernel: "/cache/vmlinuz", Initrd: "/cache/initramfs.cpio.gz", Cmdline: "console=ttyS0 quiet",
			},
			opts: Options{Accel: "tcg", TBSizeMB: 32},
		},
		{
			name: "full-kvm",
			spec: hypervisor.Spec{
				ID: testUUID, Name: "web-1", VCPUs: 2, MemoryMB: 2048,
				Root: hypervisor.Disk{ID: "root", Path: "/var/lib/nubo/disks/" + testUUID + ".qcow2"},
				Disks: []hypervisor.Disk{
					{ID: "0b9e1c2d-aaaa-bbbb-cccc-000000000001", Path: "/var/lib/nubo/volumes/v,1.raw", Format: "raw"},
					{ID: "ro-disk", Path: "/var/lib/nubo/volumes/ro.qcow2", ReadOnly: true},
				},
				NICs:        []hypervisor.NIC{{ID: "port-1", Tap: "tap0b9e1c2d-aa", MAC: "FA:16:3E:00:00:01"}},
				ConfigDrive: "/var/lib/nubo/guests/" + testUUID + "/disk.config",
				VNC:         hypervisor.VNC{Display: 3, Websocket: 15003},
			},
			opts: Options{Accel: "kvm"},
		},
		{
			name: "q35-vnc-unix-nosandbox",
			spec: hypervisor.Spec{
				ID: "plain-id", VCPUs: 1, MemoryMB: 96, Machine: "q35", CPUModel: "qemu64",
				Root: hypervisor.Disk{ID: "root", Path: "/d/root.qcow2"},
				VNC:  hypervisor.VNC{Enabled: true},
			},
			opts: Options{Accel: "tcg", NoSandbox: true},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pp := p
			if tc.spec.ID != testUUID {
				pp = PathsFor("/var/lib/nubo/guests/" + tc.spec.ID)
			}
			args, err := BuildArgs(tc.spec, pp, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(args, "\n") + "\n"
			golden := filepath.Join("testdata", tc.name+".args")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("args differ from %s (go test -update to accept):\n%s", golden, got)
			}
		})
	}
}

func TestBuildArgsErrors(t *testing.T) {
	ok := hypervisor.Spec{ID: "a", VCPUs: 1, MemoryMB: 128, Kernel: "/k"}
	if _, err := BuildArgs(ok, PathsFor("/r/a"), Options{Accel: "xen"}); err == nil {
		t.Error("accel xen accepted")
	}
	long := PathsFor("/" + strings.Repeat("x", 100) + "/a")
	if _, err := BuildArgs(ok, long, Options{Accel: "tcg"}); !errors.Is(err, hypervisor.ErrInvalidSpec) {
		t.Errorf("long socket path: %v", err)
	}
	bad := ok
	bad.MemoryMB = 64
	if _, err := BuildArgs(bad, PathsFor("/r/a"), Options{Accel: "tcg"}); !errors.Is(err, hypervisor.ErrInvalidSpec) {
		t.Errorf("64 MiB: %v", err)
	}
}

func TestNodeName(t *testing.T) {
	n := NodeName(testUUID)
	if len(n) > 31 || n != NodeName(testUUID) || n == NodeName("other") {
		t.Errorf("node name %q", n)
	}
}

func TestMapRunState(t *testing.T) {
	for _, tc := range []struct {
		rs        string
		suspended bool
		want      hypervisor.State
		power     hypervisor.PowerState
	}{
		{"running", false, hypervisor.StateRunning, 1},
		{"paused", false, hypervisor.StatePaused, 3},
		{"paused", true, hypervisor.StateSuspended, 7},
		{"shutdown", false, hypervisor.StateShutdown, 4},
		{"guest-panicked", false, hypervisor.StateCrashed, 6},
		{"prelaunch", false, hypervisor.StateNoState, 0},
	} {
		got := mapRunState(tc.rs, tc.suspended)
		if got != tc.want || got.PowerState() != tc.power {
			t.Errorf("%s/%v = %s (%d), want %s (%d)", tc.rs, tc.suspended, got, got.PowerState(), tc.want, tc.power)
		}
	}
}

func TestTailFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if s, err := tailFile(path, 3, 1<<20); err != nil || s != "" {
		t.Fatalf("missing file: %q %v", s, err)
	}
	os.WriteFile(path, []byte("a\r\nb\nc\nd\n"), 0o600)
	for n, want := range map[int]string{0: "a\nb\nc\nd\n", 2: "c\nd\n", 10: "a\nb\nc\nd\n"} {
		if got, _ := tailFile(path, n, 1<<20); got != want {
			t.Errorf("tail %d = %q, want %q", n, got, want)
		}
	}
	if got, _ := tailFile(path, 0, 4); got != "c\nd\n" {
		t.Errorf("byte limit: %q", got)
	}
}

func TestProbeBootSector(t *testing.T) {
	b := probeBootSector()
	if len(b) != 512 || b[510] != 0x55 || b[511] != 0xAA {
		t.Fatal("not a boot sector")
	}
}
