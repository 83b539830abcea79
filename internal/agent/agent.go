package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu/qemuimg"
	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/logkey"
)

// NetConverger wires the host's networks and ports (package netagent).
type NetConverger interface {
	// Converge makes the host's data plane match st and returns the status
	// of the ports it wires.
	Converge(ctx context.Context, st *hostapi.State) ([]hostapi.PortReport, error)
	// TapName is the tap device a server's port is plugged into.
	TapName(portID string) string
}

// DiskTool creates and converts disk images; qemuimg.Tool implements it.
type DiskTool interface {
	Info(ctx context.Context, path, format string, shared bool) (qemuimg.Info, error)
	Create(ctx context.Context, path, format string, size int64) error
	CreateOverlay(ctx context.Context, base, baseFormat, path string, size int64) error
	Convert(ctx context.Context, src, srcFormat, dst, dstFormat string, shared bool) error
	Resize(ctx context.Context, path, format string, size int64) error
}

// Config configures an Agent.
type Config struct {
	// Host is what the agent registers (see DetectHost).
	Host hostapi.Host
	// Control is the control plane.
	Control hostapi.Control
	// DataDir holds the image cache and the servers' disks (see the
	// package documentation for the layout).
	DataDir string
	// Hypervisor runs the guests.
	Hypervisor hypervisor.Driver
	// Net wires networks and ports; nil means no networking (taps are then
	// expected to exist, named netdev.TapName).
	Net NetConverger
	// Disks defaults to qemuimg.Tool{} (qemu-img from $PATH).
	Disks DiskTool
	// Log defaults to slog.Default().
	Log *slog.Logger

	// GracefulStop is how long a stop waits for the guest to power off
	// after the ACPI button before it is stopped hard (default 60 s).
	GracefulStop time.Duration
	// Resync is the longest time between two convergences (default 30 s).
	Resync time.Duration
	// Parallel bounds the server tasks run at once (default 4).
	Parallel int
	// DetachTimeout bounds one wait for a guest to release a hot-unplugged
	// disk or NIC; the detach is retried at the next convergence (default
	// 30 s).
	DetachTimeout time.Duration

	// ImageCacheTTL is how long a cached image no server on the host uses
	// is kept (default 24 h, Nova's remove_unused_original_minimum_age).
	ImageCacheTTL time.Duration

	// Kernel, Initrd and Cmdline, when Kernel is set, boot every guest
	// with this kernel (the root disk still attached as vda): for test
	// hosts whose images are the busybox test guest, which has no boot
	// loader. Production hosts leave them empty.
	Kernel, Initrd, Cmdline string
}

// Agent converges one host.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	hv    hypervisor.Driver
	disks DiskTool

	hostID   string
	fetchSeq atomic.Int64
	kick     chan struct{}
	sem      chan struct{}
	wg       sync.WaitGroup

	mu       sync.Mutex
	busy     map[string]*work                // server ID → running worker
	doneSeq  map[string]int64                // server ID → fetch seq when its last worker ended
	pending  map[string]hostapi.ServerReport // reports that failed to send
	synced   map[string]bool                 // power sync reported (server ID)
	ports    map[string]string               // port ID → last reported status
	records  map[string]*record              // server ID → agent.json cache
	volDone  map[string]bool                 // server/volume detaches reported
	later    map[string]delay                // server ID → postponed after a retryable failure
	lastReap time.Time

	imgMu    sync.Mutex
	imgLocks map[string]*sync.Mutex
	imgUsed  map[string]time.Time // image ID → last seen in use (GC)

	consoleMu sync.Mutex
	consoles  map[string]bool // console request IDs being or already answered
	tunnels   map[string]bool // tunnel request IDs being or already opened
}

// work is a running server worker.
type work struct {
	task   string
	cancel context.CancelFunc
}

// New checks cfg and returns an Agent.
func New(cfg Config) (*Agent, error) {
	if cfg.Control == nil || cfg.Hypervisor == nil {
		return nil, errors.New("agent: Control and Hypervisor are required")
	}
	if cfg.Host.Name == "" {
		return nil, errors.New("agent: Host.Name is required")
	}
	if cfg.DataDir == "" || !filepath.IsAbs(cfg.DataDir) {
		return nil, fmt.Errorf("agent: data dir %q must be an absolute path", cfg.DataDir)
	}
	if cfg.Disks == nil {
		cfg.Disks = qemuimg.Tool{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.GracefulStop == 0 {
		cfg.GracefulStop = 60 * time.Second
	}
	if cfg.Resync == 0 {
		cfg.Resync = 30 * time.Second
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.ImageCacheTTL == 0 {
		cfg.ImageCacheTTL = 24 * time.Hour
	}
	if cfg.DetachTimeout == 0 {
		cfg.DetachTimeout = 30 * time.Second
	}
	for _, d := range []string{cfg.DataDir, filepath.Join(cfg.DataDir, "images"), filepath.Join(cfg.DataDir, "instances")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
	}
	a := &Agent{
		cfg: cfg, log: cfg.Log.With(logkey.Component, "agent", "host", cfg.Host.Name),
		hv: cfg.Hypervisor, disks: cfg.Disks,
		kick:    make(chan struct{}, 1),
		sem:     make(chan struct{}, cfg.Parallel),
		busy:    map[string]*work{},
		doneSeq: map[string]int64{},
		pending: map[string]hostapi.ServerReport{},
		synced:  map[string]bool{},
		ports:   map[string]string{},
		records: map[string]*record{},
		volDone: map[string]bool{},
		later:   map[string]delay{},

		imgLocks: map[string]*sync.Mutex{},
		imgUsed:  map[string]time.Time{},
	}
	a.cleanPartials()
	return a, nil
}

// HostID is the ID the control plane gave this host ("" before Run
// registered it).
func (a *Agent) HostID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hostID
}

func (a *Agent) imageDir() string             { return filepath.Join(a.cfg.DataDir, "images") }
func (a *Agent) instancesDir() string         { return filepath.Join(a.cfg.DataDir, "instances") }
func (a *Agent) instanceDir(id string) string { return filepath.Join(a.instancesDir(), id) }

func (a *Agent) tapName(portID string) string {
	if a.cfg.Net != nil {
		return a.cfg.Net.TapName(portID)
	}
	return netdev.TapName(portID)
}

// cleanPartials removes downloads a previous agent did not finish.
func (a *Agent) cleanPartials() {
	entries, _ := os.ReadDir(a.imageDir())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), ".part") {
			os.Remove(filepath.Join(a.imageDir(), e.Name()))
		}
	}
}

// Run registers the host (retrying until it works), then converges until
// ctx ends: State → converge → reports → Wait for the next revision (or a
// worker finishing, or Resync). It returns nil when ctx ends, after the
// running workers returned. Guests keep running.
func (a *Agent) Run(ctx context.Context) error {
	defer a.wg.Wait()
	if err := a.register(ctx); err != nil {
		return nil // ctx ended
	}
	bo := backoff{}
	var (
		last     []byte    // the last converged State, revision left out
		lastFull time.Time // when it was converged
		force    = true
	)
	for ctx.Err() == nil {
		st, seq, err := a.fetch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			a.log.WarnContext(ctx, "read desired state", logkey.Err, err)
			if errors.Is(err, hostapi.ErrNotFound) { // the host record is gone: register again
				if a.register(ctx) != nil {
					break
				}
			}
			sleep(ctx, bo.next())
			continue
		}
		a.answerConsoles(ctx, st.Consoles)
		a.openTunnels(ctx, st.Tunnels)
		// The revision is the store's: it moves for changes elsewhere in
		// the cloud too. An unchanged State is converged again only after
		// a worker ended, a failure, or Resync.
		key := stateKey(st)
		retry := false
		if force || !bytes.Equal(key, last) || time.Since(lastFull) >= a.cfg.Resync {
			retry = a.converge(ctx, st, seq)
			last, lastFull = key, time.Now()
		}
		wait := a.cfg.Resync
		if retry {
			wait = min(bo.next(), a.cfg.Resync)
		} else {
			bo.reset()
		}
		kicked, err := a.waitChange(ctx, st.Revision, wait)
		if err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "wait for changes", logkey.Err, err)
			sleep(ctx, bo.next())
		}
		force = kicked || retry || err != nil
		sleep(ctx, minInterval) // let bursts of changes settle
	}
	return nil
}

// minInterval separates two reads of the State.
const minInterval = 100 * time.Millisecond

// stateKey identifies a State's content (its revision left out).
func stateKey(st *hostapi.State) []byte {
	c := *st
	c.Revision, c.Consoles, c.Tunnels = 0, nil, nil
	b, err := json.Marshal(c)
	if err != nil {
		return nil
	}
	return b
}

// register calls Control.Register until it works or ctx ends.
func (a *Agent) register(ctx context.Context) error {
	bo := backoff{}
	for {
		id, err := a.cfg.Control.Register(ctx, a.cfg.Host)
		if err == nil {
			a.mu.Lock()
			a.hostID = id
			a.mu.Unlock()
			a.log.InfoContext(ctx, "registered", "host_id", id)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log.WarnContext(ctx, "register host", logkey.Err, err)
		if !sleep(ctx, bo.next()) {
			return ctx.Err()
		}
	}
}

// fetch reads the State; seq numbers fetches so that a State read before a
// worker reported is not acted on for that worker's server (stale).
func (a *Agent) fetch(ctx context.Context) (*hostapi.State, int64, error) {
	seq := a.fetchSeq.Add(1)
	st, err := a.cfg.Control.State(ctx, a.HostID())
	if err != nil {
		return nil, 0, err
	}
	if st == nil {
		return nil, 0, errors.New("empty state")
	}
	return st, seq, nil
}

// waitChange returns when the revision moves past rev, a worker ends
// (kicked), d passes (kicked too: time to resync) or ctx ends.
func (a *Agent) waitChange(ctx context.Context, rev int64, d time.Duration) (kicked bool, err error) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// A bounded long-poll (the HTTP client's) may come back with
		// nothing new: wait again.
		for {
			got, err := a.cfg.Control.Wait(wctx, rev)
			if err != nil || got > rev || wctx.Err() != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if wctx.Err() != nil {
			return true, nil // timed out (resync) or ctx ended
		}
		return false, err
	case <-a.kick:
		cancel()
		<-done
		return true, nil
	}
}

// poke makes the loop fetch the State again.
func (a *Agent) poke() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// backoff is exponential with jitter, 1 s to 30 s.
type backoff struct{ n int }

func (b *backoff) next() time.Duration {
	d := time.Second << min(b.n, 5)
	b.n++
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.n = 0 }

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
