package qemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu/qmp"
)

// proc is one running QEMU process: a child of this driver (cmd != nil) or
// one adopted from a previous agent.
type proc struct {
	g       *guest
	pid     int
	started time.Time
	done    chan struct{} // closed once the process is gone and g.st updated

	mu       sync.Mutex
	qmp      *qmp.Conn
	stopping bool   // we asked it to stop
	shutdown string // reason of the last QMP SHUTDOWN event
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// conn returns the QMP connection, re-dialing if it was lost while the
// process lives on (QEMU accepts one QMP client at a time).
func (p *proc) conn(ctx context.Context) (*qmp.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.qmp != nil {
		select {
		case <-p.qmp.Done():
			p.qmp = nil
		default:
			return p.qmp, nil
		}
	}
	if p.exited() || p.g.closed.Load() {
		return nil, fmt.Errorf("%w: %s", hypervisor.ErrNotRunning, p.g.id)
	}
	c, err := qmp.Dial(ctx, p.g.paths.QMP)
	if err != nil {
		return nil, fmt.Errorf("qemu: qmp %s: %w", p.g.id, err)
	}
	p.qmp = c
	go p.watchEvents(c)
	return c, nil
}

// watchEvents records why QEMU shut down, to tell a guest power-off from a crash.
func (p *proc) watchEvents(c *qmp.Conn) {
	sub := c.Subscribe(nil, "SHUTDOWN")
	for ev := range sub.C() {
		var data struct {
			Guest  bool   `json:"guest"`
			Reason string `json:"reason"`
		}
		json.Unmarshal(ev.Data, &data)
		p.mu.Lock()
		p.shutdown = data.Reason
		p.mu.Unlock()
	}
}

func (p *proc) setStopping() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
}

// finish records how the process ended and marks it gone.
func (p *proc) finish(exit string) {
	p.mu.Lock()
	stopping, reason := p.stopping, p.shutdown
	if p.qmp != nil {
		p.qmp.Close()
	}
	p.mu.Unlock()
	state, why := hypervisor.StateCrashed, exit
	switch {
	case stopping:
		state, why = hypervisor.StateShutdown, "stopped"
	case reason == "guest-shutdown" || reason == "host-qmp-quit" || reason == "host-signal" || reason == "host-ui":
		state, why = hypervisor.StateShutdown, reason
	case reason == "guest-panic":
		why = reason
	}
	g := p.g
	if g.closed.Load() {
		close(p.done) // a newer driver owns the state directory now
		return
	}
	g.smu.Lock()
	if g.proc == p {
		g.proc = nil
	}
	g.st.Last, g.st.Reason, g.st.Suspended, g.st.StartedAt = state, why, false, time.Time{}
	g.saveStateLocked() // fails harmlessly once Delete removed the directory
	g.smu.Unlock()
	for _, s := range []string{g.paths.QMP, g.paths.Console, g.paths.VNC, g.paths.PID} {
		os.Remove(s)
	}
	close(p.done)
}

// launch starts QEMU for g with args and connects to its QMP socket.
// g.mu is held.
func (d *Driver) launch(ctx context.Context, g *guest, args []string) error {
	for _, s := range []string{g.paths.QMP, g.paths.Console, g.paths.VNC, g.paths.PID} {
		os.Remove(s) // left over from a crash
	}
	rotateLog(g.paths.Log, 1<<20)
	rotateLog(g.paths.ConsoleLog, 8<<20) // checked at each start only: a chatty guest can exceed it
	logf, err := os.OpenFile(g.paths.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	defer logf.Close() // the child keeps its own descriptor
	cmd := exec.Command(d.cfg.QEMU, args...)
	if d.cfg.NetNS != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", d.cfg.NetNS, d.cfg.QEMU}, args...)...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = g.paths.Dir
	// Own process group: a ^C or SIGTERM to the agent's group must not
	// take the guests with it; they are re-adopted after a restart.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("qemu: start %s: %w", g.id, err)
	}
	p := &proc{g: g, pid: cmd.Process.Pid, started: time.Now(), done: make(chan struct{})}
	g.smu.Lock()
	g.proc = p
	g.st = persisted{StartedAt: p.started}
	g.saveStateLocked()
	g.smu.Unlock()
	go func() {
		err := cmd.Wait()
		p.finish(describeExit(cmd.ProcessState, err))
	}()
	d.log.Info("qemu started", "server_id", g.id, "pid", p.pid)

	// QEMU creates the QMP socket before it starts the guest; wait for it.
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		dctx, dcancel := context.WithTimeout(wctx, 2*time.Second)
		_, err := p.conn(dctx)
		dcancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			g.smu.Lock()
			why := g.st.Reason
			g.smu.Unlock()
			tail, _ := tailFile(g.paths.Log, 5, 64<<10)
			return fmt.Errorf("qemu: %s exited at start (%s): %s", g.id, why, strings.TrimSpace(tail))
		case <-wctx.Done():
			p.setStopping()
			signalPID(p.pid, syscall.SIGKILL)
			<-p.done
			return fmt.Errorf("qemu: %s: no QMP socket: %w", g.id, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func describeExit(ps *os.ProcessState, err error) string {
	if ps == nil {
		return fmt.Sprintf("wait: %v", err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + strconv.Itoa(int(ws.Signal()))
	}
	return "exit status " + strconv.Itoa(ps.ExitCode())
}

func rotateLog(path string, max int64) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > max {
		os.Rename(path, path+".1")
	}
}

// adopt attaches g to a QEMU process left running by a previous driver
// instance: the pidfile's PID must be alive and its command line must name
// g's QMP socket (which rules out PID reuse).
func (d *Driver) adopt(ctx context.Context, g *guest) {
	b, err := os.ReadFile(g.paths.PID)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !processAlive(pid, g.paths.QMP) {
		return
	}
	p := &proc{g: g, pid: pid, started: g.st.StartedAt, done: make(chan struct{})}
	if p.started.IsZero() {
		p.started = processStart(pid)
	}
	g.proc = p
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = p.conn(cctx)
	cancel()
	if err != nil {
		d.log.Warn("adopted guest without QMP; will retry", "server_id", g.id, "pid", pid, "err", err)
	}
	d.log.Info("qemu re-adopted", "server_id", g.id, "pid", pid)
	go func() {
		// Not our child: wait(2) is impossible. The QMP socket closes when
		// QEMU exits; then poll /proc until the PID is gone (or a zombie
		// waiting for init to reap it).
		for processAlive(pid, g.paths.QMP) {
			var qdone <-chan struct{}
			p.mu.Lock()
			if p.qmp != nil {
				qdone = p.qmp.Done()
			}
			p.mu.Unlock()
			select {
			case <-qdone:
			case <-time.After(time.Second):
			}
			time.Sleep(50 * time.Millisecond)
		}
		p.finish("exited while adopted")
	}()
}

// processAlive reports whether pid runs (not a zombie) with needle in its
// command line.
func processAlive(pid int, needle string) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X' {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.Contains(cmdline, []byte(needle))
}

// processStart approximates a process's start time from its /proc entry.
func processStart(pid int) time.Time {
	if fi, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		return fi.ModTime()
	}
	return time.Time{}
}

// stop powers g off; g.mu is held. See hypervisor.Driver.Stop.
func (d *Driver) stop(ctx context.Context, g *guest, graceful time.Duration) error {
	p := g.running()
	if p == nil {
		return nil
	}
	p.setStopping()
	wait := func(timeout time.Duration) (bool, error) {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-p.done:
			return true, nil
		case <-t.C:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	if graceful > 0 {
		var qs struct {
			Status string `json:"status"`
		}
		// A paused guest cannot see the power button.
		if err := g.qmpDo(ctx, "query-status", nil, &qs); err == nil && qs.Status == "running" {
			if err := g.qmpDo(ctx, "system_powerdown", nil, nil); err == nil {
				if ok, err := wait(graceful); ok || err != nil {
					return err
				}
				d.log.Info("guest ignored the power button; stopping it hard", "server_id", g.id, "after", graceful)
			}
		}
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := g.qmpDo(qctx, "quit", nil, nil)
	cancel()
	if err == nil || errors.Is(err, qmp.ErrClosed) {
		if ok, err := wait(3 * time.Second); ok || err != nil {
			return err
		}
	}
	signalPID(p.pid, syscall.SIGKILL)
	if ok, err := wait(10 * time.Second); !ok {
		if err != nil {
			return err
		}
		return fmt.Errorf("qemu: %s (pid %d) did not exit after SIGKILL", g.id, p.pid)
	}
	return nil
}
