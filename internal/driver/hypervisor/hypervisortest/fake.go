package hypervisortest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
)

// Fake is an in-memory hypervisor driver. The zero value is not ready; use New.
type Fake struct {
	// Function fields override the default behaviour of each method when
	// set. They are called without the Fake's lock held.
	CapabilitiesFunc func(ctx context.Context) (hypervisor.Capabilities, error)
	DefineFunc       func(ctx context.Context, spec hypervisor.Spec) error
	StartFunc        func(ctx context.Context, id string) error
	StopFunc         func(ctx context.Context, id string, graceful time.Duration) error
	RebootFunc       func(ctx context.Context, id string, graceful time.Duration) error
	DeleteFunc       func(ctx context.Context, id string) error
	StatusFunc       func(ctx context.Context, id string) (hypervisor.Status, error)
	ListFunc         func(ctx context.Context) ([]hypervisor.Status, error)
	AttachDiskFunc   func(ctx context.Context, id string, disk hypervisor.Disk) error
	DetachDiskFunc   func(ctx context.Context, id, diskID string) error
	AttachNICFunc    func(ctx context.Context, id string, nic hypervisor.NIC) error
	DetachNICFunc    func(ctx context.Context, id, nicID string) error
	SnapshotDiskFunc func(ctx context.Context, id, diskID, dest, format string) error
	BlockResizeFunc  func(ctx context.Context, id, diskID string, size int64) error

	mu      sync.Mutex
	guests  map[string]*fakeGuest
	calls   []string
	nextPID int
}

type fakeGuest struct {
	spec    hypervisor.Spec
	state   hypervisor.State
	reason  string
	pid     int
	started time.Time
	console strings.Builder
}

var (
	_ hypervisor.Driver        = (*Fake)(nil)
	_ hypervisor.Pauser        = (*Fake)(nil)
	_ hypervisor.Consoler      = (*Fake)(nil)
	_ hypervisor.BlockAttacher = (*Fake)(nil)
	_ hypervisor.NICAttacher   = (*Fake)(nil)
	_ hypervisor.Snapshotter   = (*Fake)(nil)
	_ hypervisor.Resizer       = (*Fake)(nil)
)

// New returns an empty Fake.
func New() *Fake { return &Fake{guests: map[string]*fakeGuest{}, nextPID: 1000} }

// Calls returns the methods called so far, as "Method id" strings.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *Fake) record(method, id string) {
	f.mu.Lock()
	f.calls = append(f.calls, strings.TrimSpace(method+" "+id))
	f.mu.Unlock()
}

// SetState forces a guest's state (e.g. StateCrashed to simulate QEMU dying).
func (f *Fake) SetState(id string, s hypervisor.State, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g, ok := f.guests[id]; ok {
		g.state, g.reason = s, reason
		if s == hypervisor.StateShutdown || s == hypervisor.StateCrashed {
			g.pid, g.started = 0, time.Time{}
		}
	}
}

// Spec returns the stored definition of id.
func (f *Fake) Spec(id string) (hypervisor.Spec, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.guests[id]
	if !ok {
		return hypervisor.Spec{}, false
	}
	return g.spec, true
}

// AppendConsole adds text to a guest's console log.
func (f *Fake) AppendConsole(id, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g, ok := f.guests[id]; ok {
		g.console.WriteString(text)
	}
}

// get returns the guest; f.mu is held.
func (f *Fake) get(id string) (*fakeGuest, error) {
	g, ok := f.guests[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", hypervisor.ErrNotFound, id)
	}
	return g, nil
}

func alive(s hypervisor.State) bool {
	return s == hypervisor.StateRunning || s == hypervisor.StatePaused || s == hypervisor.StateSuspended
}

// Capabilities implements hypervisor.Driver: TCG, hot-plug supported.
func (f *Fake) Capabilities(ctx context.Context) (hypervisor.Capabilities, error) {
	f.record("Capabilities", "")
	if f.CapabilitiesFunc != nil {
		return f.CapabilitiesFunc(ctx)
	}
	return hypervisor.Capabilities{Accel: "tcg", KVMReason: "fake", Version: "fake", HotplugDisk: true, HotplugNIC: true}, nil
}

// Define implements hypervisor.Driver.
func (f *Fake) Define(ctx context.Context, spec hypervisor.Spec) error {
	f.record("Define", spec.ID)
	if f.DefineFunc != nil {
		return f.DefineFunc(ctx, spec)
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if g, ok := f.guests[spec.ID]; ok {
		g.spec = spec
		return nil
	}
	f.guests[spec.ID] = &fakeGuest{spec: spec, state: hypervisor.StateShutdown}
	return nil
}

// Start implements hypervisor.Driver.
func (f *Fake) Start(ctx context.Context, id string) error {
	f.record("Start", id)
	if f.StartFunc != nil {
		return f.StartFunc(ctx, id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil || alive(g.state) {
		return err
	}
	f.nextPID++
	g.state, g.reason, g.pid, g.started = hypervisor.StateRunning, "", f.nextPID, time.Now()
	return nil
}

// Stop implements hypervisor.Driver.
func (f *Fake) Stop(ctx context.Context, id string, graceful time.Duration) error {
	f.record("Stop", id)
	if f.StopFunc != nil {
		return f.StopFunc(ctx, id, graceful)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil || !alive(g.state) {
		return err
	}
	g.state, g.reason, g.pid, g.started = hypervisor.StateShutdown, "stopped", 0, time.Time{}
	return nil
}

// Reboot implements hypervisor.Driver.
func (f *Fake) Reboot(ctx context.Context, id string, graceful time.Duration) error {
	f.record("Reboot", id)
	if f.RebootFunc != nil {
		return f.RebootFunc(ctx, id, graceful)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil {
		return err
	}
	f.nextPID++
	g.state, g.reason, g.pid, g.started = hypervisor.StateRunning, "", f.nextPID, time.Now()
	return nil
}

// Delete implements hypervisor.Driver.
func (f *Fake) Delete(ctx context.Context, id string) error {
	f.record("Delete", id)
	if f.DeleteFunc != nil {
		return f.DeleteFunc(ctx, id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.guests, id)
	return nil
}

func (g *fakeGuest) status() hypervisor.Status {
	return hypervisor.Status{
		ID: g.spec.ID, Name: g.spec.Name, State: g.state, PowerState: g.state.PowerState(),
		PID: g.pid, StartedAt: g.started, Reason: g.reason,
	}
}

// Status implements hypervisor.Driver.
func (f *Fake) Status(ctx context.Context, id string) (hypervisor.Status, error) {
	if f.StatusFunc != nil {
		return f.StatusFunc(ctx, id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil {
		return hypervisor.Status{}, err
	}
	return g.status(), nil
}

// List implements hypervisor.Driver.
func (f *Fake) List(ctx context.Context) ([]hypervisor.Status, error) {
	f.record("List", "")
	if f.ListFunc != nil {
		return f.ListFunc(ctx)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]hypervisor.Status, 0, len(f.guests))
	for _, g := range f.guests {
		out = append(out, g.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *Fake) transition(method, id string, from []hypervisor.State, to hypervisor.State) error {
	f.record(method, id)
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil {
		return err
	}
	if !slices.Contains(from, g.state) {
		return fmt.Errorf("%w: %s is %s", hypervisor.ErrNotRunning, id, g.state)
	}
	g.state = to
	return nil
}

var running = []hypervisor.State{hypervisor.StateRunning, hypervisor.StatePaused, hypervisor.StateSuspended}

// Pause implements hypervisor.Pauser.
func (f *Fake) Pause(ctx context.Context, id string) error {
	return f.transition("Pause", id, running, hypervisor.StatePaused)
}

// Unpause implements hypervisor.Pauser.
func (f *Fake) Unpause(ctx context.Context, id string) error {
	return f.transition("Unpause", id, running, hypervisor.StateRunning)
}

// Suspend implements hypervisor.Pauser.
func (f *Fake) Suspend(ctx context.Context, id string) error {
	return f.transition("Suspend", id, running, hypervisor.StateSuspended)
}

// Resume implements hypervisor.Pauser.
func (f *Fake) Resume(ctx context.Context, id string) error {
	return f.transition("Resume", id, running, hypervisor.StateRunning)
}

// ConsoleLog implements hypervisor.Consoler.
func (f *Fake) ConsoleLog(ctx context.Context, id string, lines int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil {
		return "", err
	}
	s := g.console.String()
	if lines > 0 {
		parts := strings.SplitAfter(s, "\n")
		if parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		if len(parts) > lines {
			parts = parts[len(parts)-lines:]
		}
		s = strings.Join(parts, "")
	}
	return s, nil
}

// VNCAddress implements hypervisor.Consoler: a unix socket path that does not exist.
func (f *Fake) VNCAddress(ctx context.Context, id string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil {
		return "", "", err
	}
	if !g.spec.VNC.Enabled && g.spec.VNC.Display == 0 {
		return "", "", hypervisor.ErrUnsupported
	}
	if !alive(g.state) {
		return "", "", hypervisor.ErrNotRunning
	}
	return "unix", "/nonexistent/fake/" + id + "/vnc.sock", nil
}

// AttachDisk implements hypervisor.BlockAttacher.
func (f *Fake) AttachDisk(ctx context.Context, id string, disk hypervisor.Disk) error {
	f.record("AttachDisk", id+" "+disk.ID)
	if f.AttachDiskFunc != nil {
		return f.AttachDiskFunc(ctx, id, disk)
	}
	if err := disk.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(g.spec.Disks, func(d hypervisor.Disk) bool { return d.ID == disk.ID }) {
		return nil
	}
	if !alive(g.state) {
		return fmt.Errorf("%w: %s", hypervisor.ErrNotRunning, id)
	}
	g.spec.Disks = append(slices.Clone(g.spec.Disks), disk)
	return nil
}

// DetachDisk implements hypervisor.BlockAttacher.
func (f *Fake) DetachDisk(ctx context.Context, id, diskID string) error {
	f.record("DetachDisk", id+" "+diskID)
	if f.DetachDiskFunc != nil {
		return f.DetachDiskFunc(ctx, id, diskID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil {
		return err
	}
	g.spec.Disks = slices.DeleteFunc(slices.Clone(g.spec.Disks), func(d hypervisor.Disk) bool { return d.ID == diskID })
	return nil
}

// AttachNIC implements hypervisor.NICAttacher.
func (f *Fake) AttachNIC(ctx context.Context, id string, nic hypervisor.NIC) error {
	f.record("AttachNIC", id+" "+nic.ID)
	if f.AttachNICFunc != nil {
		return f.AttachNICFunc(ctx, id, nic)
	}
	if err := nic.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(g.spec.NICs, func(n hypervisor.NIC) bool { return n.ID == nic.ID }) {
		return nil
	}
	if !alive(g.state) {
		return fmt.Errorf("%w: %s", hypervisor.ErrNotRunning, id)
	}
	g.spec.NICs = append(slices.Clone(g.spec.NICs), nic)
	return nil
}

// DetachNIC implements hypervisor.NICAttacher.
func (f *Fake) DetachNIC(ctx context.Context, id, nicID string) error {
	f.record("DetachNIC", id+" "+nicID)
	if f.DetachNICFunc != nil {
		return f.DetachNICFunc(ctx, id, nicID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil {
		return err
	}
	g.spec.NICs = slices.DeleteFunc(slices.Clone(g.spec.NICs), func(n hypervisor.NIC) bool { return n.ID == nicID })
	return nil
}

// SnapshotDisk implements hypervisor.Snapshotter (records the call only).
func (f *Fake) SnapshotDisk(ctx context.Context, id, diskID, dest, format string) error {
	f.record("SnapshotDisk", id+" "+diskID)
	if f.SnapshotDiskFunc != nil {
		return f.SnapshotDiskFunc(ctx, id, diskID, dest, format)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.get(id)
	return err
}

// BlockResize implements hypervisor.Resizer (records the call; the guest
// must be running and have the disk).
func (f *Fake) BlockResize(ctx context.Context, id, diskID string, size int64) error {
	f.record("BlockResize", fmt.Sprintf("%s %s %d", id, diskID, size))
	if f.BlockResizeFunc != nil {
		return f.BlockResizeFunc(ctx, id, diskID, size)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.get(id)
	if err != nil {
		return err
	}
	if !alive(g.state) {
		return fmt.Errorf("%w: %s", hypervisor.ErrNotRunning, id)
	}
	if g.spec.Root.ID == diskID && g.spec.Root.Path != "" ||
		slices.ContainsFunc(g.spec.Disks, func(d hypervisor.Disk) bool { return d.ID == diskID }) {
		return nil
	}
	return fmt.Errorf("%w: %s has no disk %q", hypervisor.ErrNotFound, id, diskID)
}
