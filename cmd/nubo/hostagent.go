package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/nubo-cloud/nubo/internal/agent"
	"github.com/nubo-cloud/nubo/internal/agent/netagent"
	"github.com/nubo-cloud/nubo/internal/cloud"
	"github.com/nubo-cloud/nubo/internal/driver/firewall/nftables"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/linux"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// hostAgent is a host agent with the real drivers: QEMU for servers and the
// Linux network data plane (bridges, VXLAN, taps, namespaces, nftables).
type hostAgent struct {
	*agent.Agent
	hv  *qemu.Driver
	net *netagent.Agent
}

// newHostAgent builds the agent of this machine. dataDir holds the QEMU
// state (qemu/), the image cache and the servers' disks.
func newHostAgent(ctx context.Context, host hostapi.Host, ctl hostapi.Control, dataDir string, log *slog.Logger) (*hostAgent, error) {
	if err := hostPrerequisites(); err != nil {
		return nil, err
	}
	hv, err := qemu.New(qemu.Config{Root: filepath.Join(dataDir, "qemu"), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("qemu driver: %w", err)
	}
	if host.HypervisorVersion == 0 {
		if d := agent.DetectHost(ctx, host.Name, "", hv); d.HypervisorVersion != 0 {
			host.HypervisorVersion, host.CPUInfo = d.HypervisorVersion, d.CPUInfo
		}
	}
	var local netip.Addr
	if host.HostIP != "" {
		if local, err = netip.ParseAddr(host.HostIP); err != nil {
			hv.Close()
			return nil, fmt.Errorf("host IP %q: %w", host.HostIP, err)
		}
	}
	na, err := netagent.New(netagent.Config{
		Net: linux.New(linux.Config{}, log), Firewall: nftables.New("", log),
		LocalIP: local, Metadata: ctl.Metadata, Log: log,
	})
	if err != nil {
		hv.Close()
		return nil, err
	}
	a, err := agent.New(agent.Config{Host: host, Control: ctl, DataDir: dataDir, Hypervisor: hv, Net: na, Log: log})
	if err != nil {
		na.Close()
		hv.Close()
		return nil, err
	}
	return &hostAgent{Agent: a, hv: hv, net: na}, nil
}

// Close releases the drivers; guests keep running (a restarted agent
// re-adopts them).
func (h *hostAgent) Close() {
	h.net.Close()
	h.hv.Close()
}

// hostPrerequisites checks what a real host needs before anything is
// touched: root, QEMU and nft.
func hostPrerequisites() error {
	if os.Geteuid() != 0 {
		return errors.New("a host agent runs as root (it creates bridges, taps and namespaces)")
	}
	for _, bin := range []string{"qemu-system-x86_64", "qemu-img", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found (apt-get install qemu-system-x86 qemu-utils nftables)", bin)
		}
	}
	return nil
}

// chooseComputeDriver resolves --compute-driver: auto is qemu when this
// machine can run a host agent, fake otherwise.
func chooseComputeDriver(flag string, log *slog.Logger) (string, error) {
	switch flag {
	case "qemu", "fake":
		return flag, nil
	case "auto":
		if err := hostPrerequisites(); err != nil {
			log.Warn("servers run on a simulated host (--compute-driver fake): this machine cannot run a host agent", "reason", err.Error())
			return "fake", nil
		}
		return "qemu", nil
	}
	return "", fmt.Errorf("--compute-driver must be qemu, fake or auto, not %q", flag)
}

// upHostAgent starts the agent of `nubo up`'s own machine: the network node
// of the cloud, with its data under DATA_DIR/agent.
func upHostAgent(ctx context.Context, c *cloud.Cloud, f upFlags, log *slog.Logger) (*hostAgent, error) {
	dir := filepath.Join(f.dataDir, "agent")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	host := agent.DetectHost(ctx, name, dir, nil)
	host.NetworkNode = true
	if f.hostIP != "" {
		host.HostIP = f.hostIP
	}
	a, err := newHostAgent(ctx, host, c.Host, dir, log)
	if err != nil {
		return nil, err
	}
	c.AddConsoleReader(a)
	return a, nil
}
