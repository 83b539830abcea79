package qemu

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// KillStrays implements hypervisor.StrayReaper. A QEMU process belongs to
// this driver when an argument names a path under Root; it is a stray when
// the guest directory it names has no definition, or when it is not the
// process the driver tracks for that guest (a duplicate). QEMU processes
// of other tools (other roots) are never touched.
func (d *Driver) KillStrays(ctx context.Context) ([]int, error) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	prefix := d.cfg.Root + string(filepath.Separator)
	var killed []int
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(cmdline) == 0 {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
		if !strings.HasPrefix(filepath.Base(args[0]), "qemu-system") {
			continue
		}
		id := ""
		for _, a := range args[1:] {
			if i := strings.Index(a, prefix); i >= 0 {
				rest := a[i+len(prefix):]
				if j := strings.IndexByte(rest, '/'); j > 0 {
					id = rest[:j]
					break
				}
			}
		}
		if id == "" {
			continue
		}
		if g, err := d.lookup(ctx, id); err == nil {
			if p := g.running(); p != nil && p.pid == pid {
				continue
			}
		}
		if !processAlive(pid, prefix+id+"/") {
			continue // gone or a zombie meanwhile
		}
		d.log.Warn("killing stray qemu", "pid", pid, "server_id", id)
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			killed = append(killed, pid)
		}
	}
	return killed, nil
}
