package agent

import (
	"context"
	"errors"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/logkey"
)

// Task states the agent performs (the values of internal/compute's Task*
// constants; the agent must not import the domain package).
const (
	taskSpawning         = "spawning"
	taskImageSnapshot    = "image_snapshot"
	taskUpdatingPassword = "updating_password"
	taskResizeMigrated   = "resize_migrated"
	taskResizeReverting  = "resize_reverting"
	taskRebooting        = "rebooting"
	taskRebootingHard    = "rebooting_hard"
	taskPausing          = "pausing"
	taskUnpausing        = "unpausing"
	taskSuspending       = "suspending"
	taskResuming         = "resuming"
	taskPoweringOff      = "powering-off"
	taskPoweringOn       = "powering-on"
	taskRescuing         = "rescuing"
	taskUnrescuing       = "unrescuing"
	taskRebuilding       = "rebuilding"
	taskMigrating        = "migrating"
	taskDeleting         = "deleting"
	taskShelving         = "shelving"
	taskUnshelving       = "unshelving"
	taskInterfaceAttach  = "interface_attaching"
	taskInterfaceDetach  = "interface_detaching"
)

// hostTasks mirrors compute.HostTasks.
var hostTasks = []string{
	taskSpawning, taskPoweringOff, taskPoweringOn, taskRebooting, taskRebootingHard,
	taskPausing, taskUnpausing, taskSuspending, taskResuming, taskRescuing, taskUnrescuing,
	taskRebuilding, taskResizeMigrated, taskResizeReverting, taskMigrating, taskShelving,
	taskUnshelving, taskImageSnapshot, taskUpdatingPassword, taskDeleting,
	taskInterfaceAttach, taskInterfaceDetach,
}

// vm_states (Nova's).
const (
	vmActive           = "active"
	vmBuilding         = "building"
	vmPaused           = "paused"
	vmSuspended        = "suspended"
	vmStopped          = "stopped"
	vmRescued          = "rescued"
	vmResized          = "resized"
	vmError            = "error"
	vmShelvedOffloaded = "shelved_offloaded"
)

// power_states (Nova's integers).
const (
	powerNoState   = 0
	powerRunning   = 1
	powerPaused    = 3
	powerShutdown  = 4
	powerSuspended = 7
)

// view is one State with its ports indexed.
type view struct {
	st    *hostapi.State
	ports map[string]*hostapi.Port
}

func newView(st *hostapi.State) *view {
	v := &view{st: st, ports: map[string]*hostapi.Port{}}
	for i := range st.Ports {
		v.ports[st.Ports[i].ID] = &st.Ports[i]
	}
	return v
}

// alive reports whether a guest state has a process.
func alive(s hypervisor.State) bool {
	switch s {
	case hypervisor.StateRunning, hypervisor.StatePaused, hypervisor.StateSuspended, hypervisor.StateNoState:
		return true
	}
	return false
}

// converge acts on one State: networking first, then a worker per server
// that needs work, then strays. It returns true when something failed and
// should be retried soon.
func (a *Agent) converge(ctx context.Context, st *hostapi.State, seq int64) (retry bool) {
	netOK := true
	wired := map[string]bool{} // ports whose taps are up
	if a.cfg.Net != nil {
		reps, err := a.cfg.Net.Converge(ctx, st)
		for _, r := range reps {
			wired[r.PortID] = r.Status == "ACTIVE"
		}
		if err != nil {
			a.log.ErrorContext(ctx, "converge networking", logkey.Err, err)
			netOK, retry = false, true
		}
		if err := a.reportPorts(ctx, reps); err != nil {
			a.log.WarnContext(ctx, "report ports", logkey.Err, err)
			retry = true
		}
	}
	list, err := a.hv.List(ctx)
	if err != nil {
		a.log.ErrorContext(ctx, "list guests", logkey.Err, err)
		return true
	}
	guests := map[string]hypervisor.Status{}
	for _, g := range list {
		guests[g.ID] = g
	}
	v := newView(st)
	want := map[string]bool{}
	for i := range st.Servers {
		srv := &st.Servers[i]
		want[srv.ID] = true
		if a.flushPending(ctx, srv) {
			retry = true
			continue
		}
		g, exists := guests[srv.ID]
		need := a.needsWork(srv, g, exists)
		if isSource(st, srv) {
			need = exists && alive(g.State) // only to stop it
		}
		if !need {
			continue
		}
		a.mu.Lock()
		w, busy := a.busy[srv.ID]
		stale := seq <= a.doneSeq[srv.ID]
		a.mu.Unlock()
		if busy {
			if (srv.TaskState == taskDeleting || srv.Deleted) && w.task != taskDeleting {
				w.cancel() // stop a long spawn, download or stop: the server goes anyway
			}
			continue
		}
		if stale {
			continue // a worker finished after this State was read: read it again
		}
		if a.postponed(srv.ID) {
			retry = true
			continue
		}
		if !netOK && needsNet(srv) && !isSource(st, srv) && !allWired(srv, wired) {
			continue // its taps may be missing: QEMU would not start
		}
		a.start(ctx, v, *srv)
	}
	a.mu.Lock()
	for id, w := range a.busy {
		if !want[id] {
			w.cancel()
		}
	}
	a.mu.Unlock()
	if a.removeStrays(ctx, list, want) {
		a.pruneImages(ctx, st)
	}
	return retry
}

// isSource reports whether this host is only the source of srv's move:
// the destination does the task; the source stops the guest and keeps its
// disk until the server leaves its State (confirmed: deleted as a stray) or
// comes back (reverted).
func isSource(st *hostapi.State, srv *hostapi.Server) bool {
	return srv.HostID != "" && srv.HostID != st.HostID && !srv.Deleted
}

// needsNet: tasks that start a guest need its taps.
func needsNet(srv *hostapi.Server) bool {
	switch srv.TaskState {
	case taskPoweringOff, taskPausing, taskSuspending, taskDeleting, taskShelving, taskImageSnapshot, taskUpdatingPassword:
		return false
	}
	return !srv.Deleted
}

// start runs a worker for srv.
func (a *Agent) start(ctx context.Context, v *view, srv hostapi.Server) {
	wctx, cancel := context.WithCancel(ctx)
	a.mu.Lock()
	a.busy[srv.ID] = &work{task: srv.TaskState, cancel: cancel}
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer cancel()
		select {
		case a.sem <- struct{}{}:
		case <-wctx.Done():
			a.finish(srv.ID)
			return
		}
		a.serve(wctx, v, &srv)
		<-a.sem
		a.finish(srv.ID)
	}()
}

// finish marks a worker done and wakes the loop.
func (a *Agent) finish(id string) {
	a.mu.Lock()
	delete(a.busy, id)
	a.doneSeq[id] = a.fetchSeq.Load()
	a.mu.Unlock()
	a.poke()
}

// wait blocks until every worker returned (tests).
func (a *Agent) wait() { a.wg.Wait() }

// needsWork decides cheaply whether srv needs a worker.
func (a *Agent) needsWork(srv *hostapi.Server, g hypervisor.Status, exists bool) bool {
	if srv.Deleted {
		return true
	}
	if srv.TaskState != "" {
		if !slices.Contains(hostTasks, srv.TaskState) {
			return false // a control-plane task (scheduling, resize_prep, …)
		}
		if srv.TaskState == taskMigrating && srv.OldHostID != "" {
			return false // the destination is not chosen yet
		}
		return true
	}
	switch srv.VMState {
	case vmShelvedOffloaded:
		return exists
	case vmActive, vmPaused, vmSuspended, vmRescued, vmResized:
		if !exists {
			return true
		}
		if !alive(g.State) {
			a.mu.Lock()
			done := a.synced[srv.ID]
			a.mu.Unlock()
			return !done
		}
	case vmStopped:
		if !exists || alive(g.State) {
			return true
		}
	default: // building, error, …: leave alone
		return false
	}
	a.mu.Lock()
	delete(a.synced, srv.ID)
	a.mu.Unlock()
	return a.volumesNeedWork(srv)
}

// reportPorts sends the statuses that changed since the last report.
func (a *Agent) reportPorts(ctx context.Context, reps []hostapi.PortReport) error {
	a.mu.Lock()
	var changed []hostapi.PortReport
	for _, r := range reps {
		if a.ports[r.PortID] != r.Status {
			changed = append(changed, r)
		}
	}
	a.mu.Unlock()
	if len(changed) == 0 {
		return nil
	}
	if err := a.cfg.Control.ReportPorts(ctx, a.HostID(), changed); err != nil {
		return err
	}
	a.mu.Lock()
	for _, r := range changed {
		a.ports[r.PortID] = r.Status
	}
	a.mu.Unlock()
	return nil
}

// report sends a server report, retrying a little; a report that still
// fails is kept and sent before the server is looked at again.
func (a *Agent) report(ctx context.Context, r hostapi.ServerReport) {
	var err error
	for i := range 3 {
		if err = a.cfg.Control.ReportServer(ctx, a.HostID(), r); err == nil {
			a.log.InfoContext(ctx, "reported", "server_id", r.ServerID, "task", r.Task,
				"vm_state", r.VMState, "power_state", r.PowerState, "gone", r.Gone, "error", r.Error)
			return
		}
		if ctx.Err() != nil || !sleep(ctx, time.Duration(i+1)*500*time.Millisecond) {
			break
		}
	}
	a.log.WarnContext(ctx, "report server", "server_id", r.ServerID, "task", r.Task, logkey.Err, err)
	a.mu.Lock()
	a.pending[r.ServerID] = r
	a.mu.Unlock()
}

// flushPending re-sends a report that failed for srv; it returns true when
// srv must be left alone this time (the report still failed).
func (a *Agent) flushPending(ctx context.Context, srv *hostapi.Server) bool {
	a.mu.Lock()
	r, ok := a.pending[srv.ID]
	a.mu.Unlock()
	if !ok {
		return false
	}
	if r.Task != srv.TaskState {
		a.mu.Lock()
		delete(a.pending, srv.ID)
		a.mu.Unlock()
		return false // the control plane moved on
	}
	if err := a.cfg.Control.ReportServer(ctx, a.HostID(), r); err != nil {
		a.log.WarnContext(ctx, "report server", "server_id", r.ServerID, "task", r.Task, logkey.Err, err)
		return true
	}
	a.mu.Lock()
	delete(a.pending, srv.ID)
	a.doneSeq[srv.ID] = a.fetchSeq.Load() // this State predates the report
	a.mu.Unlock()
	return true
}

// removeStrays deletes guests and instance directories of servers the
// State does not hold, and (at most every Resync) hypervisor processes the
// driver does not own; it returns true when it did the latter.
func (a *Agent) removeStrays(ctx context.Context, list []hypervisor.Status, want map[string]bool) (reaped bool) {
	a.mu.Lock()
	busy := maps.Clone(a.busy)
	a.mu.Unlock()
	for _, g := range list {
		if want[g.ID] || busy[g.ID] != nil {
			continue
		}
		a.log.InfoContext(ctx, "deleting stray guest", "server_id", g.ID, "state", g.State)
		if err := a.destroy(ctx, g.ID); err != nil {
			a.log.ErrorContext(ctx, "delete stray guest", "server_id", g.ID, logkey.Err, err)
		}
	}
	entries, err := os.ReadDir(a.instancesDir())
	if err != nil {
		a.log.ErrorContext(ctx, "read instances", logkey.Err, err)
	}
	for _, e := range entries {
		if want[e.Name()] || busy[e.Name()] != nil {
			continue
		}
		a.log.InfoContext(ctx, "removing stray instance directory", "server_id", e.Name())
		if err := a.destroy(ctx, e.Name()); err != nil {
			a.log.ErrorContext(ctx, "remove stray instance directory", "server_id", e.Name(), logkey.Err, err)
		}
	}
	a.mu.Lock()
	for id := range a.doneSeq {
		if !want[id] && busy[id] == nil {
			delete(a.doneSeq, id)
			delete(a.later, id)
			delete(a.synced, id)
			delete(a.pending, id)
		}
	}
	reap := time.Since(a.lastReap) >= a.cfg.Resync
	if reap {
		a.lastReap = time.Now()
	}
	a.mu.Unlock()
	if r, ok := a.hv.(hypervisor.StrayReaper); ok && reap {
		pids, err := r.KillStrays(ctx)
		if err != nil {
			a.log.ErrorContext(ctx, "kill stray hypervisor processes", logkey.Err, err)
		} else if len(pids) > 0 {
			a.log.WarnContext(ctx, "killed stray hypervisor processes", "pids", pids)
		}
	}
	return reap
}

// destroy deletes a guest and everything the agent keeps for it.
func (a *Agent) destroy(ctx context.Context, id string) error {
	if err := a.hv.Delete(ctx, id); err != nil && !errors.Is(err, hypervisor.ErrNotFound) {
		return err
	}
	a.mu.Lock()
	delete(a.records, id)
	for k := range a.volDone {
		if len(k) > len(id) && k[:len(id)+1] == id+"/" {
			delete(a.volDone, k)
		}
	}
	a.mu.Unlock()
	if !hypervisorValidDir(id) {
		return nil
	}
	return os.RemoveAll(a.instanceDir(id))
}

// hypervisorValidDir guards RemoveAll against odd names.
func hypervisorValidDir(id string) bool { return hypervisor.ValidID(id) }

// delay is a server's retry backoff after retryable failures.
type delay struct {
	until    time.Time
	failures int
}

// postpone delays srv's next attempt (1 s, 2 s, … 1 min).
func (a *Agent) postpone(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	d := a.later[id]
	d.until = time.Now().Add(min(time.Second<<min(d.failures, 6), time.Minute))
	d.failures++
	a.later[id] = d
}

// postponed reports whether srv waits for its next attempt.
func (a *Agent) postponed(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Now().Before(a.later[id].until)
}

// succeeded clears srv's backoff.
func (a *Agent) succeeded(id string) {
	a.mu.Lock()
	delete(a.later, id)
	a.mu.Unlock()
}

// allWired says whether every port of srv has its tap up, so that a
// networking error elsewhere on the host does not hold srv back.
func allWired(srv *hostapi.Server, wired map[string]bool) bool {
	for _, p := range srv.Ports {
		if !wired[p] {
			return false
		}
	}
	return true
}
