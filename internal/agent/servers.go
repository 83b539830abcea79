package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/logkey"
)

// retryable marks a failure the agent retries instead of reporting (the
// State is not complete yet, the image service is unreachable, …).
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

func retryLater(format string, a ...any) error { return retryable{fmt.Errorf(format, a...)} }

// observed is a report's vm_state and power_state.
type observed struct {
	vm    string
	power int
	gone  bool
}

// outcome mirrors compute.Outcome: what a successful task leaves srv in.
func outcome(srv *hostapi.Server) observed {
	running := observed{vm: vmActive, power: powerRunning}
	back := func() observed {
		switch srv.PrevVMState {
		case vmStopped:
			return observed{vm: vmStopped, power: powerShutdown}
		case vmPaused:
			return observed{vm: vmPaused, power: powerPaused}
		case vmSuspended:
			return observed{vm: vmSuspended, power: powerSuspended}
		}
		return running
	}
	switch srv.TaskState {
	case taskPoweringOff:
		return observed{vm: vmStopped, power: powerShutdown}
	case taskPausing:
		return observed{vm: vmPaused, power: powerPaused}
	case taskSuspending:
		return observed{vm: vmSuspended, power: powerSuspended}
	case taskRescuing:
		return observed{vm: vmRescued, power: powerRunning}
	case taskResizeMigrated:
		o := back()
		o.vm = vmResized
		return o
	case taskUnrescuing:
		return running
	case taskRebuilding:
		if srv.PrevVMState == vmError {
			return running
		}
		return back()
	case taskResizeReverting, taskImageSnapshot, taskUpdatingPassword, taskMigrating,
		taskInterfaceAttach, taskInterfaceDetach:
		return back()
	case taskShelving:
		return observed{vm: vmShelvedOffloaded, power: powerShutdown, gone: true}
	case taskDeleting:
		return observed{vm: srv.VMState, power: powerNoState, gone: true}
	}
	return running // spawning, powering-on, rebooting, unpausing, resuming, unshelving
}

// target is the guest state an observation means.
func (o observed) target() hypervisor.State {
	switch o.power {
	case powerPaused:
		return hypervisor.StatePaused
	case powerSuspended:
		return hypervisor.StateSuspended
	case powerShutdown, powerNoState:
		return hypervisor.StateShutdown
	}
	return hypervisor.StateRunning
}

// serve does what srv needs: its task, then volumes and power sync.
func (a *Agent) serve(ctx context.Context, v *view, srv *hostapi.Server) {
	log := a.log.With("server_id", srv.ID, "task", srv.TaskState)
	if srv.Deleted || srv.TaskState == taskDeleting {
		err := a.destroy(ctx, srv.ID)
		if ctx.Err() != nil {
			return
		}
		r := hostapi.ServerReport{ServerID: srv.ID, Task: srv.TaskState, VMState: srv.VMState, PowerState: powerNoState, Gone: true}
		if err != nil {
			log.ErrorContext(ctx, "delete guest", logkey.Err, err)
			r = hostapi.ServerReport{ServerID: srv.ID, Task: srv.TaskState, VMState: srv.VMState, Error: err.Error()}
		}
		a.report(ctx, r)
		return
	}
	if isSource(v.st, srv) {
		log.InfoContext(ctx, "stopping the guest on the source host of a move")
		if err := a.stop(ctx, srv.ID, true); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "stop guest", logkey.Err, err)
		}
		return
	}
	if srv.TaskState == "" {
		if err := a.idle(ctx, v, srv); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "converge server", logkey.Err, err)
			a.postpone(srv.ID) // do not retry at once, forever
		} else {
			a.succeeded(srv.ID)
		}
		return
	}
	start := time.Now()
	err := a.task(ctx, v, srv)
	if ctx.Err() != nil {
		return // shutting down, or the server is being deleted: redo later
	}
	if rerr := (retryable{}); errors.As(err, &rerr) {
		log.WarnContext(ctx, "task postponed", logkey.Err, err)
		a.postpone(srv.ID)
		return
	}
	a.succeeded(srv.ID)
	o := outcome(srv)
	r := hostapi.ServerReport{ServerID: srv.ID, Task: srv.TaskState, VMState: o.vm, PowerState: o.power, Gone: o.gone}
	if err != nil {
		log.ErrorContext(ctx, "task failed", logkey.Err, err)
		r = hostapi.ServerReport{ServerID: srv.ID, Task: srv.TaskState, VMState: srv.VMState, PowerState: a.power(ctx, srv.ID), Error: err.Error()}
	} else {
		log.InfoContext(ctx, "task done", "took", time.Since(start).Round(time.Millisecond))
	}
	a.report(ctx, r)
	if err == nil && !o.gone {
		if err := a.syncVolumes(ctx, v, srv); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "converge volumes", logkey.Err, err)
		}
	}
}

// power is the guest's current power_state (0 if unknown).
func (a *Agent) power(ctx context.Context, id string) int {
	st, err := a.hv.Status(ctx, id)
	if err != nil {
		return powerNoState
	}
	return int(st.PowerState)
}

// task performs srv's task.
func (a *Agent) task(ctx context.Context, v *view, srv *hostapi.Server) error {
	target := outcome(srv).target()
	switch srv.TaskState {
	case taskSpawning, taskUnshelving, taskPoweringOn, taskPoweringOff,
		taskPausing, taskUnpausing, taskSuspending, taskResuming, taskMigrating:
		return a.ensure(ctx, v, srv, target)

	case taskRebooting, taskRebootingHard:
		st, err := a.status(ctx, srv.ID)
		if err != nil || st == nil || !alive(st.State) {
			if err != nil {
				return err
			}
			return a.ensure(ctx, v, srv, target)
		}
		spec, err := a.prepare(ctx, v, srv)
		if err != nil {
			return err
		}
		if err := a.define(ctx, spec); err != nil {
			return err
		}
		graceful := a.cfg.GracefulStop
		if srv.TaskState == taskRebootingHard {
			graceful = 0
		}
		return a.hv.Reboot(ctx, srv.ID, graceful)

	case taskRebuilding:
		if err := a.hv.Delete(ctx, srv.ID); err != nil {
			return err
		}
		if err := a.removeDisks(srv.ID); err != nil {
			return err
		}
		return a.ensure(ctx, v, srv, target)

	case taskRescuing, taskUnrescuing, taskResizeMigrated, taskResizeReverting:
		// The guest's disks or flavor change: stop it, then bring it back
		// with the new definition.
		if err := a.stop(ctx, srv.ID, srv.TaskState != taskUnrescuing); err != nil {
			return err
		}
		switch srv.TaskState {
		case taskUnrescuing:
			if err := os.Remove(a.path(srv.ID, fileRescue)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		case taskResizeMigrated, taskResizeReverting:
			if err := a.growRoot(ctx, srv); err != nil {
				return err
			}
		}
		return a.ensure(ctx, v, srv, target)

	case taskImageSnapshot:
		return a.snapshot(ctx, srv)

	case taskShelving:
		if err := a.stop(ctx, srv.ID, true); err != nil {
			return err
		}
		if err := a.snapshot(ctx, srv); err != nil {
			return err
		}
		return a.destroy(ctx, srv.ID)

	case taskUpdatingPassword:
		return nil // no guest agent to set it: Nova reports success too when the driver cannot

	case taskInterfaceAttach, taskInterfaceDetach:
		return a.syncNICs(ctx, v, srv)
	}
	return fmt.Errorf("unknown task %q", srv.TaskState)
}

// idle converges a server without a pending task: recreate a missing
// guest, stop one that should be stopped, report one that powered off by
// itself, attach and detach volumes.
func (a *Agent) idle(ctx context.Context, v *view, srv *hostapi.Server) error {
	log := a.log.With("server_id", srv.ID)
	st, err := a.status(ctx, srv.ID)
	if err != nil {
		return err
	}
	switch srv.VMState {
	case vmShelvedOffloaded:
		if st != nil {
			log.InfoContext(ctx, "deleting the guest of a shelved server")
			return a.destroy(ctx, srv.ID)
		}
		return nil
	case vmStopped:
		if st == nil {
			log.InfoContext(ctx, "defining missing guest")
			if err := a.ensure(ctx, v, srv, hypervisor.StateShutdown); err != nil {
				return err
			}
		} else if alive(st.State) {
			log.InfoContext(ctx, "stopping a guest that should be stopped")
			if err := a.stop(ctx, srv.ID, true); err != nil {
				return err
			}
		}
	case vmActive, vmPaused, vmSuspended, vmRescued, vmResized:
		if st == nil {
			// Lost (or never made by an agent that died before it
			// reported): make it again.
			log.InfoContext(ctx, "recreating missing guest", "vm_state", srv.VMState)
			target := hypervisor.StateRunning
			switch srv.VMState {
			case vmPaused:
				target = hypervisor.StatePaused
			case vmSuspended:
				target = hypervisor.StateSuspended
			case vmResized:
				if srv.PrevVMState == vmStopped {
					target = hypervisor.StateShutdown
				}
			}
			if err := a.ensure(ctx, v, srv, target); err != nil {
				return err
			}
		} else if !alive(st.State) {
			// The guest powered itself off (or crashed): tell the control
			// plane, as Nova's power-state sync does, once.
			if srv.VMState == vmResized && srv.PrevVMState == vmStopped {
				break
			}
			log.WarnContext(ctx, "guest is not running", "state", st.State, "reason", st.Reason)
			err := a.cfg.Control.ReportServer(ctx, a.HostID(), hostapi.ServerReport{
				ServerID: srv.ID, VMState: vmStopped, PowerState: powerShutdown,
			})
			if err != nil {
				return err
			}
			a.mu.Lock()
			a.synced[srv.ID] = true
			a.mu.Unlock()
			return nil
		}
	default:
		return nil
	}
	return a.syncVolumes(ctx, v, srv)
}

// status returns the guest's status, or nil when it does not exist.
func (a *Agent) status(ctx context.Context, id string) (*hypervisor.Status, error) {
	st, err := a.hv.Status(ctx, id)
	if errors.Is(err, hypervisor.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// stop powers the guest off (gracefully or not); a missing guest is fine.
func (a *Agent) stop(ctx context.Context, id string, graceful bool) error {
	st, err := a.status(ctx, id)
	if err != nil || st == nil || !alive(st.State) {
		return err
	}
	d := time.Duration(0)
	if graceful {
		d = a.cfg.GracefulStop
	}
	return a.hv.Stop(ctx, id, d)
}

// ensure brings the guest to target: if it has no process it is
// (re)defined from srv (disks prepared as needed) and started unless
// target is shutdown; then it is paused, suspended or continued to match.
// A guest that already runs is not started again.
func (a *Agent) ensure(ctx context.Context, v *view, srv *hostapi.Server, target hypervisor.State) error {
	st, err := a.status(ctx, srv.ID)
	if err != nil {
		return err
	}
	cur := hypervisor.StateShutdown
	if st != nil {
		cur = st.State
	}
	if !alive(cur) {
		spec, err := a.prepare(ctx, v, srv)
		if err != nil {
			return err
		}
		if err := a.define(ctx, spec); err != nil {
			return err
		}
		if target == hypervisor.StateShutdown {
			return nil
		}
		if err := a.hv.Start(ctx, srv.ID); err != nil {
			return err
		}
		cur = hypervisor.StateRunning
	}
	if cur == target || cur == hypervisor.StateNoState && target == hypervisor.StateRunning {
		return nil
	}
	if target == hypervisor.StateShutdown {
		return a.hv.Stop(ctx, srv.ID, a.cfg.GracefulStop)
	}
	p, ok := a.hv.(hypervisor.Pauser)
	if !ok {
		return fmt.Errorf("%w: pause and suspend", hypervisor.ErrUnsupported)
	}
	switch target {
	case hypervisor.StatePaused:
		return p.Pause(ctx, srv.ID)
	case hypervisor.StateSuspended:
		return p.Suspend(ctx, srv.ID)
	}
	if cur == hypervisor.StateSuspended {
		return p.Resume(ctx, srv.ID)
	}
	return p.Unpause(ctx, srv.ID)
}

// define stores spec and remembers its NICs (for interface detach).
func (a *Agent) define(ctx context.Context, spec hypervisor.Spec) error {
	if err := a.hv.Define(ctx, spec); err != nil {
		return err
	}
	return a.updateRecord(spec.ID, func(r *record) { r.NICs = slices.Clone(spec.NICs) })
}

// syncNICs hot-plugs the NICs of srv.Ports the guest lacks and unplugs
// those it has but srv no longer lists; a guest without a process is
// simply redefined.
func (a *Agent) syncNICs(ctx context.Context, v *view, srv *hostapi.Server) error {
	st, err := a.status(ctx, srv.ID)
	if err != nil {
		return err
	}
	want, err := a.nics(v, srv)
	if err != nil {
		return err
	}
	if st == nil || !alive(st.State) {
		target := hypervisor.StateShutdown
		if st == nil && srv.PrevVMState != vmStopped {
			target = outcome(srv).target()
		}
		return a.ensure(ctx, v, srv, target)
	}
	na, ok := a.hv.(hypervisor.NICAttacher)
	if !ok {
		return fmt.Errorf("%w: NIC hot-plug", hypervisor.ErrUnsupported)
	}
	rec := a.record(srv.ID)
	for _, have := range rec.NICs {
		if slices.ContainsFunc(want, func(n hypervisor.NIC) bool { return n.ID == have.ID }) {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, a.cfg.DetachTimeout)
		err := na.DetachNIC(dctx, srv.ID, have.ID)
		cancel()
		if err != nil {
			return err
		}
		if err := a.updateRecord(srv.ID, func(r *record) {
			r.NICs = slices.DeleteFunc(r.NICs, func(n hypervisor.NIC) bool { return n.ID == have.ID })
		}); err != nil {
			return err
		}
	}
	for _, n := range want {
		if err := na.AttachNIC(ctx, srv.ID, n); err != nil {
			return err
		}
		if err := a.updateRecord(srv.ID, func(r *record) {
			if !slices.ContainsFunc(r.NICs, func(x hypervisor.NIC) bool { return x.ID == n.ID }) {
				r.NICs = append(r.NICs, n)
			}
		}); err != nil {
			return err
		}
	}
	return nil
}
