package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu/qemuimg"
)

// Config configures a Driver.
type Config struct {
	// Root holds one state directory per guest (created 0700). Keep it
	// short: socket paths under it must fit in 107 bytes.
	Root string
	// QEMU is the emulator binary ("" = qemu-system-x86_64 from $PATH).
	QEMU string
	// QEMUImg is the qemu-img binary ("" = qemu-img from $PATH).
	QEMUImg string
	// Accel is "auto" (default: KVM if the probe passes, else TCG), "kvm"
	// or "tcg".
	Accel string
	// TBSizeMB is the TCG translation cache per guest (default 32).
	TBSizeMB int
	// NoSandbox disables QEMU's seccomp sandbox.
	NoSandbox bool
	// NetNS, if set, runs QEMU inside that named network namespace (via
	// `ip netns exec`, which execs QEMU in place), so NIC tap names refer
	// to taps in it. Tests use it; a host agent normally leaves it empty.
	NetNS string
	// KVMProbeTimeout bounds the KVM probe (default 5s).
	KVMProbeTimeout time.Duration
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Driver implements hypervisor.Driver and its optional interfaces with QEMU.
type Driver struct {
	cfg Config
	log *slog.Logger
	img qemuimg.Tool

	capsOnce sync.Once
	caps     hypervisor.Capabilities
	capsErr  error

	mu     sync.Mutex // guards guests
	guests map[string]*guest
	loadMu sync.Mutex // serializes loading (and adopting) guests from disk

	closed atomic.Bool
}

var (
	_ hypervisor.Driver        = (*Driver)(nil)
	_ hypervisor.Pauser        = (*Driver)(nil)
	_ hypervisor.Consoler      = (*Driver)(nil)
	_ hypervisor.BlockAttacher = (*Driver)(nil)
	_ hypervisor.NICAttacher   = (*Driver)(nil)
	_ hypervisor.Snapshotter   = (*Driver)(nil)
	_ hypervisor.StrayReaper   = (*Driver)(nil)
)

// New returns a driver keeping its state under cfg.Root. It starts nothing
// and adopts nothing until List or a per-guest call.
func New(cfg Config) (*Driver, error) {
	if cfg.Root == "" || !filepath.IsAbs(cfg.Root) {
		return nil, fmt.Errorf("qemu: root %q must be an absolute path", cfg.Root)
	}
	cfg.Root = filepath.Clean(cfg.Root)
	if cfg.QEMU == "" {
		cfg.QEMU = "qemu-system-x86_64"
	}
	switch cfg.Accel {
	case "":
		cfg.Accel = "auto"
	case "auto", "kvm", "tcg":
	default:
		return nil, fmt.Errorf("qemu: accel %q (want auto, kvm or tcg)", cfg.Accel)
	}
	if cfg.TBSizeMB == 0 {
		cfg.TBSizeMB = 32
	}
	if cfg.KVMProbeTimeout == 0 {
		cfg.KVMProbeTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Root, 0o700); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	return &Driver{
		cfg: cfg, log: cfg.Logger.With("component", "qemu"),
		img:    qemuimg.Tool{Path: cfg.QEMUImg},
		guests: map[string]*guest{},
	}, nil
}

// guest is one defined guest. mu serializes operations on it; smu guards
// the fields that the process watcher also writes.
type guest struct {
	id     string
	paths  Paths
	closed *atomic.Bool // the driver's: once closed, exits are not recorded

	mu      sync.Mutex
	spec    hypervisor.Spec
	deleted bool

	smu  sync.Mutex
	st   persisted
	proc *proc // nil when no process
}

// persisted is state.json.
type persisted struct {
	Suspended bool             `json:"suspended,omitempty"`
	Last      hypervisor.State `json:"last_state,omitempty"` // shutdown or crashed, after a process ended
	Reason    string           `json:"reason,omitempty"`
	StartedAt time.Time        `json:"started_at,omitzero"`
}

func (g *guest) saveStateLocked() error { return writeJSON(g.paths.State, g.st) }

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (d *Driver) dir(id string) string { return filepath.Join(d.cfg.Root, id) }

// Capabilities implements hypervisor.Driver.
func (d *Driver) Capabilities(ctx context.Context) (hypervisor.Capabilities, error) {
	d.capsOnce.Do(func() {
		c := hypervisor.Capabilities{HotplugDisk: true, HotplugNIC: true}
		c.Version, d.capsErr = qemuVersion(ctx, d.cfg.QEMU)
		if d.capsErr != nil {
			return
		}
		switch d.cfg.Accel {
		case "tcg":
			c.KVMReason = "disabled by configuration"
		case "kvm":
			c.KVM = true
		default:
			c.KVM, c.KVMReason = ProbeKVM(ctx, d.cfg.QEMU, "kvm", d.cfg.KVMProbeTimeout)
		}
		c.Accel = "tcg"
		if c.KVM {
			c.Accel = "kvm"
		}
		d.caps = c
		d.log.Info("hypervisor capabilities", "accel", c.Accel, "version", c.Version, "kvm_reason", c.KVMReason)
	})
	if d.capsErr != nil {
		// Retry next time: the binary may be installed later.
		err := d.capsErr
		d.capsOnce = sync.Once{}
		return hypervisor.Capabilities{}, err
	}
	return d.caps, nil
}

// Close lets go of the running guests without stopping them, as an agent
// does when it exits: it closes their QMP connections (QEMU serves one
// client at a time, so a new Driver could not re-adopt them otherwise) and
// stops recording their exits. The Driver must not be used afterwards.
func (d *Driver) Close() error {
	d.closed.Store(true)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, g := range d.guests {
		if p := g.running(); p != nil {
			p.mu.Lock()
			if p.qmp != nil {
				p.qmp.Close()
				p.qmp = nil
			}
			p.mu.Unlock()
		}
	}
	return nil
}

// Define implements hypervisor.Driver.
func (d *Driver) Define(ctx context.Context, spec hypervisor.Spec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	p := PathsFor(d.dir(spec.ID))
	if _, err := BuildArgs(spec, p, Options{Accel: "tcg"}); err != nil {
		return err // socket paths too long, …
	}
	g, err := d.lookup(ctx, spec.ID)
	if errors.Is(err, hypervisor.ErrNotFound) {
		d.loadMu.Lock()
		d.mu.Lock()
		_, raced := d.guests[spec.ID]
		d.mu.Unlock()
		if raced { // defined concurrently: redefine that one
			d.loadMu.Unlock()
			return d.Define(ctx, spec)
		}
		defer d.loadMu.Unlock()
		if err := os.MkdirAll(p.Dir, 0o700); err != nil {
			return fmt.Errorf("qemu: %w", err)
		}
		if err := writeJSON(p.Spec, spec); err != nil {
			return fmt.Errorf("qemu: %w", err)
		}
		d.mu.Lock()
		d.guests[spec.ID] = &guest{id: spec.ID, paths: p, closed: &d.closed, spec: spec, st: persisted{Last: hypervisor.StateShutdown}}
		d.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted {
		return d.Define(ctx, spec)
	}
	return d.saveSpec(g, spec)
}

// lookup returns the guest, loading (and re-adopting) it from its state
// directory if this driver has not seen it yet.
func (d *Driver) lookup(ctx context.Context, id string) (*guest, error) {
	if !hypervisor.ValidID(id) {
		return nil, fmt.Errorf("%w: %q", hypervisor.ErrNotFound, id)
	}
	d.mu.Lock()
	g, ok := d.guests[id]
	d.mu.Unlock()
	if ok {
		return g, nil
	}
	d.loadMu.Lock()
	defer d.loadMu.Unlock()
	d.mu.Lock()
	g, ok = d.guests[id]
	d.mu.Unlock()
	if ok {
		return g, nil
	}
	g, err := d.load(ctx, id)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.guests[id] = g
	d.mu.Unlock()
	return g, nil
}

func (d *Driver) load(ctx context.Context, id string) (*guest, error) {
	p := PathsFor(d.dir(id))
	b, err := os.ReadFile(p.Spec)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", hypervisor.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	g := &guest{id: id, paths: p, closed: &d.closed, st: persisted{Last: hypervisor.StateShutdown}}
	if err := json.Unmarshal(b, &g.spec); err != nil {
		return nil, fmt.Errorf("qemu: %s: %w", p.Spec, err)
	}
	if b, err := os.ReadFile(p.State); err == nil {
		json.Unmarshal(b, &g.st)
	}
	d.adopt(ctx, g)
	if g.proc == nil && !g.st.StartedAt.IsZero() {
		// It was running when the last agent let go and has exited since:
		// nobody saw why, so report a plain shutdown.
		g.st = persisted{Last: hypervisor.StateShutdown, Reason: "exited while no agent was watching"}
		g.saveStateLocked()
	}
	return g, nil
}

// guestOp looks the guest up and locks it for an operation.
func (d *Driver) guestOp(ctx context.Context, id string) (*guest, func(), error) {
	g, err := d.lookup(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	g.mu.Lock()
	if g.deleted {
		g.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: %s", hypervisor.ErrNotFound, id)
	}
	return g, g.mu.Unlock, nil
}

func (g *guest) running() *proc {
	g.smu.Lock()
	defer g.smu.Unlock()
	return g.proc
}

// Start implements hypervisor.Driver.
func (d *Driver) Start(ctx context.Context, id string) error {
	g, unlock, err := d.guestOp(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if g.running() != nil {
		return nil
	}
	caps, err := d.Capabilities(ctx)
	if err != nil {
		return err
	}
	args, err := BuildArgs(g.spec, g.paths, Options{Accel: caps.Accel, TBSizeMB: d.cfg.TBSizeMB, NoSandbox: d.cfg.NoSandbox})
	if err != nil {
		return err
	}
	return d.launch(ctx, g, args)
}

// Stop implements hypervisor.Driver.
func (d *Driver) Stop(ctx context.Context, id string, graceful time.Duration) error {
	g, unlock, err := d.guestOp(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	return d.stop(ctx, g, graceful)
}

// Reboot implements hypervisor.Driver.
func (d *Driver) Reboot(ctx context.Context, id string, graceful time.Duration) error {
	if err := d.Stop(ctx, id, graceful); err != nil {
		return err
	}
	return d.Start(ctx, id)
}

// Delete implements hypervisor.Driver.
func (d *Driver) Delete(ctx context.Context, id string) error {
	g, unlock, err := d.guestOp(ctx, id)
	if errors.Is(err, hypervisor.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unlock()
	if err := d.stop(ctx, g, 0); err != nil {
		return err
	}
	if err := os.RemoveAll(g.paths.Dir); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	g.deleted = true
	d.mu.Lock()
	delete(d.guests, id)
	d.mu.Unlock()
	return nil
}

// Status implements hypervisor.Driver. It does not wait for a running
// operation on the guest (a graceful Stop can take a while).
func (d *Driver) Status(ctx context.Context, id string) (hypervisor.Status, error) {
	g, err := d.lookup(ctx, id)
	if err != nil {
		return hypervisor.Status{}, err
	}
	return d.status(ctx, g), nil
}

func (d *Driver) status(ctx context.Context, g *guest) hypervisor.Status {
	g.smu.Lock()
	p, st, name := g.proc, g.st, g.spec.Name
	g.smu.Unlock()
	s := hypervisor.Status{ID: g.id, Name: name}
	if p == nil {
		s.State, s.Reason = st.Last, st.Reason
		if s.State == "" {
			s.State = hypervisor.StateShutdown
		}
	} else {
		s.PID, s.StartedAt = p.pid, p.started
		s.State = hypervisor.StateNoState
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		var qs struct {
			Status string `json:"status"`
		}
		if c, err := p.conn(qctx); err == nil && c.Execute(qctx, "query-status", nil, &qs) == nil {
			s.State = mapRunState(qs.Status, st.Suspended)
		} else if p.exited() {
			return d.status(ctx, g) // it ended while we asked
		}
	}
	s.PowerState = s.State.PowerState()
	return s
}

// mapRunState maps QMP's RunState to a guest state.
func mapRunState(rs string, suspended bool) hypervisor.State {
	switch rs {
	case "running":
		return hypervisor.StateRunning
	case "paused", "debug", "watchdog", "io-error":
		if suspended {
			return hypervisor.StateSuspended
		}
		return hypervisor.StatePaused
	case "suspended", "save-vm", "restore-vm":
		return hypervisor.StateSuspended
	case "shutdown":
		return hypervisor.StateShutdown
	case "internal-error", "guest-panicked":
		return hypervisor.StateCrashed
	}
	return hypervisor.StateNoState // prelaunch, inmigrate, finish-migrate, postmigrate, colo
}

// List implements hypervisor.Driver: every state directory under Root with
// a spec.json, loaded (and re-adopted) if needed, sorted by ID.
func (d *Driver) List(ctx context.Context) ([]hypervisor.Status, error) {
	entries, err := os.ReadDir(d.cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	var out []hypervisor.Status
	for _, e := range entries {
		if !e.IsDir() || !hypervisor.ValidID(e.Name()) {
			continue
		}
		g, err := d.lookup(ctx, e.Name())
		if errors.Is(err, hypervisor.ErrNotFound) {
			continue // a directory without spec.json: not ours, or half-deleted
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d.status(ctx, g))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// qmpDo runs one QMP command on the guest's running process.
func (g *guest) qmpDo(ctx context.Context, cmd string, args, out any) error {
	p := g.running()
	if p == nil {
		return fmt.Errorf("%w: %s", hypervisor.ErrNotRunning, g.id)
	}
	c, err := p.conn(ctx)
	if err != nil {
		return err
	}
	return c.Execute(ctx, cmd, args, out)
}

// Pause implements hypervisor.Pauser.
func (d *Driver) Pause(ctx context.Context, id string) error { return d.freeze(ctx, id, false) }

// Suspend implements hypervisor.Pauser: a pause recorded as "suspended"
// (see the package documentation for what this does not do).
func (d *Driver) Suspend(ctx context.Context, id string) error { return d.freeze(ctx, id, true) }

// Unpause implements hypervisor.Pauser.
func (d *Driver) Unpause(ctx context.Context, id string) error { return d.thaw(ctx, id) }

// Resume implements hypervisor.Pauser.
func (d *Driver) Resume(ctx context.Context, id string) error { return d.thaw(ctx, id) }

func (d *Driver) freeze(ctx context.Context, id string, suspend bool) error {
	g, unlock, err := d.guestOp(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := g.qmpDo(ctx, "stop", nil, nil); err != nil {
		return err
	}
	g.smu.Lock()
	defer g.smu.Unlock()
	g.st.Suspended = suspend
	return g.saveStateLocked()
}

func (d *Driver) thaw(ctx context.Context, id string) error {
	g, unlock, err := d.guestOp(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := g.qmpDo(ctx, "cont", nil, nil); err != nil {
		return err
	}
	g.smu.Lock()
	defer g.smu.Unlock()
	g.st.Suspended = false
	return g.saveStateLocked()
}

// ConsoleLog implements hypervisor.Consoler.
func (d *Driver) ConsoleLog(ctx context.Context, id string, lines int) (string, error) {
	g, err := d.lookup(ctx, id)
	if err != nil {
		return "", err
	}
	return tailFile(g.paths.ConsoleLog, lines, 4<<20)
}

// tailFile returns the last n lines (all if n <= 0) of at most limit bytes
// at the end of path; a missing file is empty.
func tailFile(path string, n int, limit int64) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	off := max(fi.Size()-limit, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return "", err
	}
	s := strings.ReplaceAll(string(buf), "\r\n", "\n")
	if n <= 0 {
		return s, nil
	}
	trimmed := strings.TrimSuffix(s, "\n")
	idx := len(trimmed)
	for i := 0; i < n; i++ {
		j := strings.LastIndexByte(trimmed[:idx], '\n')
		if j < 0 {
			return s, nil
		}
		idx = j
	}
	return s[idx+1:], nil
}

// VNCAddress implements hypervisor.Consoler.
func (d *Driver) VNCAddress(ctx context.Context, id string) (string, string, error) {
	g, err := d.lookup(ctx, id)
	if err != nil {
		return "", "", err
	}
	g.mu.Lock()
	vnc := g.spec.VNC
	g.mu.Unlock()
	if !vnc.Enabled && vnc.Display == 0 {
		return "", "", fmt.Errorf("%w: %s has no VNC", hypervisor.ErrUnsupported, id)
	}
	if g.running() == nil {
		return "", "", fmt.Errorf("%w: %s", hypervisor.ErrNotRunning, id)
	}
	if vnc.Display > 0 {
		return "tcp", fmt.Sprintf("127.0.0.1:%d", 5900+vnc.Display), nil
	}
	return "unix", g.paths.VNC, nil
}

// SnapshotDisk implements hypervisor.Snapshotter.
func (d *Driver) SnapshotDisk(ctx context.Context, id, diskID, dest, format string) error {
	g, unlock, err := d.guestOp(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	var disk *hypervisor.Disk
	if diskID == "" || diskID == g.spec.Root.ID && g.spec.Root.Path != "" {
		if g.spec.Root.Path != "" {
			disk = &g.spec.Root
		}
	} else {
		for i := range g.spec.Disks {
			if g.spec.Disks[i].ID == diskID {
				disk = &g.spec.Disks[i]
			}
		}
	}
	if disk == nil {
		return fmt.Errorf("%w: %s has no disk %q", hypervisor.ErrNotFound, id, diskID)
	}
	srcFormat := disk.Format
	if srcFormat == "" {
		srcFormat = "qcow2"
	}
	if p := g.running(); p != nil {
		// Pausing drains and flushes QEMU's block layer, so the image on
		// disk is consistent (crash-consistent for the guest's own caches).
		var qs struct {
			Status string `json:"status"`
		}
		if err := g.qmpDo(ctx, "query-status", nil, &qs); err != nil {
			return err
		}
		if qs.Status == "running" {
			if err := g.qmpDo(ctx, "stop", nil, nil); err != nil {
				return err
			}
			defer func() {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if err := g.qmpDo(cctx, "cont", nil, nil); err != nil {
					d.log.Error("continue after snapshot", "server_id", id, "err", err)
				}
			}()
		}
		return d.img.Convert(ctx, disk.Path, srcFormat, dest, format, true)
	}
	return d.img.Convert(ctx, disk.Path, srcFormat, dest, format, false)
}

// signalPID sends sig to QEMU (it runs in its own process group
// with itself as leader; it spawns no children, so the PID is enough).
func signalPID(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }
