package compute

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
)

const kindBootstrap = "compute.bootstrap"

// DefaultFlavors are created on first start. The two smallest (m1.nano and
// m1.micro, DevStack's IDs 42 and 84) are what Tempest picks as flavor_ref
// and flavor_ref_alt; the m1.tiny…m1.xlarge set keeps Nova's historical IDs.
var DefaultFlavors = []Flavor{
	{ID: "42", Name: "m1.nano", VCPUs: 1, RAM: 128, Disk: 1},
	{ID: "84", Name: "m1.micro", VCPUs: 1, RAM: 192, Disk: 1},
	{ID: "1", Name: "m1.tiny", VCPUs: 1, RAM: 512, Disk: 1},
	{ID: "2", Name: "m1.small", VCPUs: 1, RAM: 2048, Disk: 20},
	{ID: "3", Name: "m1.medium", VCPUs: 2, RAM: 4096, Disk: 40},
	{ID: "4", Name: "m1.large", VCPUs: 4, RAM: 8192, Disk: 80},
	{ID: "5", Name: "m1.xlarge", VCPUs: 8, RAM: 16384, Disk: 160},
}

// BootstrapConfig says what Bootstrap sets up.
type BootstrapConfig struct {
	// ControlHost names this control-plane host (its scheduler and
	// conductor services); "" uses the machine's hostname.
	ControlHost string
	// FakeHost registers a simulated compute host on this machine (for API
	// tests and simulations; real hosts register through their agents).
	FakeHost bool
	// FakeHosts is how many simulated hosts FakeHost registers (0 means
	// 1): the first is named after ControlHost, the others ControlHost-2,
	// ControlHost-3, … (multi-node behaviour: migrations, affinity).
	FakeHosts int
}

// Bootstrap creates the default flavors (first start only: deleted ones stay
// deleted), the control services and, if asked, the fake compute host.
// It is idempotent.
func (s *Service) Bootstrap(ctx context.Context, cfg BootstrapConfig) error {
	if cfg.ControlHost == "" {
		cfg.ControlHost = Hostname()
	}
	err := s.write(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(kindBootstrap, "flavors"); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		for _, f := range DefaultFlavors {
			f.IsPublic, f.RxtxFactor, f.CreatedAt = true, 1, s.now()
			if err := createFlavor(tx, &f); err != nil && !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("create flavor %s: %w", f.Name, err)
			}
		}
		return tx.Create(store.Record{Kind: kindBootstrap, ID: "flavors", Value: map[string]bool{"done": true}})
	})
	if err != nil {
		return fmt.Errorf("default flavors: %w", err)
	}
	if err := s.EnsureControlServices(ctx, cfg.ControlHost); err != nil {
		return fmt.Errorf("control services: %w", err)
	}
	if cfg.FakeHost {
		for i := range max(cfg.FakeHosts, 1) {
			name := cfg.ControlHost
			if i > 0 {
				name = fmt.Sprintf("%s-%d", cfg.ControlHost, i+1)
			}
			if _, err := s.RegisterHost(ctx, FakeHostSpec(name)); err != nil {
				return fmt.Errorf("fake host %s: %w", name, err)
			}
		}
	}
	return nil
}

// Hostname returns the machine's short hostname ("localhost" if unknown).
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// FakeHostSpec describes a simulated compute host named name, sized from
// this machine (CPUs, RAM) with Nova's default allocation ratios (16× vCPU,
// 1.5× RAM, 1× disk). Its hypervisor_type is QEMU, what the real data plane
// will report; Driver "fake" and cpu_info say it is simulated.
func FakeHostSpec(name string) HostSpec {
	cpus := int64(runtime.NumCPU())
	ram := memTotalMB()
	return HostSpec{
		Name:               name,
		HypervisorHostname: name,
		HypervisorType:     "QEMU",
		HypervisorVersion:  8002000,
		HostIP:             "127.0.0.1",
		Driver:             "fake",
		CPUInfo:            map[string]any{"arch": runtime.GOARCH, "model": "nubo-fake", "vendor": "Nubo", "topology": map[string]int64{"sockets": 1, "cores": cpus, "threads": 1}, "features": []string{}},
		Inventory: map[string]scheduler.Inventory{
			scheduler.VCPU:     {Total: cpus, MinUnit: 1, MaxUnit: cpus, StepSize: 1, AllocationRatio: 16},
			scheduler.MemoryMB: {Total: ram, Reserved: 512, MinUnit: 1, MaxUnit: ram, StepSize: 1, AllocationRatio: 1.5},
			scheduler.DiskGB:   {Total: 1000, MinUnit: 1, MaxUnit: 1000, StepSize: 1, AllocationRatio: 1},
		},
	}
}

func memTotalMB() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 8192
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				return kb / 1024
			}
		}
	}
	return 8192
}
