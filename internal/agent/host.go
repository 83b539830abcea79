package agent

import (
	"bufio"
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// DetectHost describes this machine for Register: VCPUs from
// runtime.NumCPU, memory from /proc/meminfo, disk from statfs of dataDir,
// the hypervisor version from hv's Capabilities (hv may be nil), and
// HostIP from the first global unicast IPv4 address of an interface that
// is up (the caller should override it when the host has several). Values
// it cannot read stay zero.
func DetectHost(ctx context.Context, name, dataDir string, hv hypervisor.Driver) hostapi.Host {
	h := hostapi.Host{
		Name: name, HypervisorHostname: name, HypervisorType: "QEMU",
		VCPUs:    runtime.NumCPU(),
		MemoryMB: memTotalMB("/proc/meminfo"),
		CPUInfo:  map[string]any{"arch": runtime.GOARCH},
	}
	var fs syscall.Statfs_t
	if dataDir != "" && syscall.Statfs(dataDir, &fs) == nil {
		h.DiskGB = int64(fs.Blocks) * int64(fs.Bsize) >> 30
	}
	if hv != nil {
		if c, err := hv.Capabilities(ctx); err == nil {
			h.HypervisorVersion = versionNumber(c.Version)
			h.CPUInfo["accel"] = c.Accel
		}
	}
	h.HostIP = firstIPv4()
	return h
}

// memTotalMB reads MemTotal (kB) from a meminfo file.
func memTotalMB(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb / 1024
		}
	}
	return 0
}

// versionNumber turns "7.2.22" into Nova's 7002022.
func versionNumber(v string) int64 {
	parts := strings.SplitN(v, ".", 3)
	var n int64
	for i := range 3 {
		n *= 1000
		if i < len(parts) {
			digits := strings.TrimLeftFunc(parts[i], func(r rune) bool { return r < '0' || r > '9' })
			if end := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); end >= 0 {
				digits = digits[:end]
			}
			x, _ := strconv.ParseInt(digits, 10, 64)
			n += x % 1000
		}
	}
	return n
}

func firstIPv4() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
				return ipn.IP.String()
			}
		}
	}
	return ""
}
