package hypervisor

import (
	"errors"
	"testing"
)

func TestSpecValidate(t *testing.T) {
	ok := Spec{ID: "6f1c3a52-9a7e-4c55-8d1e-2b3c4d5e6f70", VCPUs: 1, MemoryMB: 128, Kernel: "/k"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Spec){
		"empty id":      func(s *Spec) { s.ID = "" },
		"path id":       func(s *Spec) { s.ID = "a/b" },
		"dotdot id":     func(s *Spec) { s.ID = "a..b" },
		"no vcpus":      func(s *Spec) { s.VCPUs = 0 },
		"64M":           func(s *Spec) { s.MemoryMB = 64 },
		"nothing boots": func(s *Spec) { s.Kernel = "" },
		"initrd only":   func(s *Spec) { s.Kernel, s.Root = "", Disk{ID: "root", Path: "/r"}; s.Initrd = "/i" },
		"relative disk": func(s *Spec) { s.Disks = []Disk{{ID: "d", Path: "d.qcow2"}} },
		"vmdk":          func(s *Spec) { s.Disks = []Disk{{ID: "d", Path: "/d", Format: "vmdk"}} },
		"dup disk":      func(s *Spec) { s.Disks = []Disk{{ID: "d", Path: "/d"}, {ID: "d", Path: "/e"}} },
		"root dup":      func(s *Spec) { s.Root = Disk{ID: "d", Path: "/r"}; s.Disks = []Disk{{ID: "d", Path: "/d"}} },
		"bad mac":       func(s *Spec) { s.NICs = []NIC{{ID: "n", Tap: "tap0", MAC: "zz"}} },
		"multicast mac": func(s *Spec) { s.NICs = []NIC{{ID: "n", Tap: "tap0", MAC: "01:00:5e:00:00:01"}} },
		"long tap":      func(s *Spec) { s.NICs = []NIC{{ID: "n", Tap: "tap0123456789abcdef", MAC: "fa:16:3e:00:00:01"}} },
		"comma tap":     func(s *Spec) { s.NICs = []NIC{{ID: "n", Tap: "t,x", MAC: "fa:16:3e:00:00:01"}} },
		"ws no display": func(s *Spec) { s.VNC = VNC{Enabled: true, Websocket: 6080} },
		"relative cd":   func(s *Spec) { s.ConfigDrive = "cd.iso" },
	} {
		s := ok
		mut(&s)
		if err := s.Validate(); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPowerStateNumbers(t *testing.T) {
	want := map[State]PowerState{
		StateNoState: 0, StateRunning: 1, StatePaused: 3, StateShutdown: 4, StateCrashed: 6, StateSuspended: 7,
	}
	for s, n := range want {
		if s.PowerState() != n {
			t.Errorf("%s → %d, want %d", s, s.PowerState(), n)
		}
	}
}
