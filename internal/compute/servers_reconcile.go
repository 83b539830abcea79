package compute

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
)

// resyncEvery bounds how long a failed reconcile waits for its retry: the
// followers re-list every server this often even without changes.
const resyncEvery = 15 * time.Second

// FollowServers calls fn with the IDs of every server at start, then with
// the IDs of servers changed in each batch of the change feed, until ctx
// ends. It is level-triggered: it re-lists on start, after a compaction and
// every resyncEvery, so a missed or failed reconcile is retried.
func (s *Service) FollowServers(ctx context.Context, fn func(ctx context.Context, ids []string)) error {
	for {
		rev, err := s.st.Revision(ctx)
		if err != nil {
			return err
		}
		var ids []string
		err = s.read(ctx, func(tx store.ReadTx) error {
			items, err := tx.List(KindServer, store.ListOptions{})
			for _, it := range items {
				ids = append(ids, it.ID)
			}
			return err
		})
		if err != nil {
			return err
		}
		fn(ctx, ids)
		resync := time.Now().Add(resyncEvery)
		for time.Now().Before(resync) {
			changes, err := s.st.Changes(ctx, rev, 1000)
			if errors.Is(err, store.ErrCompacted) {
				break
			}
			if err != nil {
				return err
			}
			var changed []string
			for _, ch := range changes {
				rev = ch.Rev
				if ch.Kind == KindServer && !slices.Contains(changed, ch.ID) {
					changed = append(changed, ch.ID)
				}
			}
			if len(changed) > 0 {
				fn(ctx, changed)
			}
			if len(changes) == 1000 {
				continue
			}
			wctx, cancel := context.WithDeadline(ctx, resync)
			_, err = s.st.Wait(wctx, rev)
			cancel()
			if ctx.Err() != nil {
				return nil
			}
		}
	}
}

// serviceContext carries the compute service's own credentials for calls
// it makes on behalf of a server's project (ports, images).
func serviceContext(ctx context.Context, project string) context.Context {
	return policy.NewContext(ctx, &policy.Credentials{UserID: "nubo-compute", UserName: "nova", ProjectID: project,
		Roles: []string{policy.RoleAdmin, policy.RoleMember, policy.RoleReader}})
}

// ServiceContext is serviceContext for host-side code (the fake host).
func ServiceContext(ctx context.Context, project string) context.Context {
	return serviceContext(ctx, project)
}

// ServerReconciler is the control-plane side of servers: it schedules new,
// resized, migrated and unshelved servers (claims re-check capacity) and
// cleans up the ports of deleted ones. Host work is the host side's.
type ServerReconciler struct {
	c *Service
}

// NewServerReconciler returns the reconciler of c's servers.
func NewServerReconciler(c *Service) *ServerReconciler { return &ServerReconciler{c: c} }

// Run follows the change feed until ctx ends.
func (r *ServerReconciler) Run(ctx context.Context) error {
	return r.c.FollowServers(ctx, func(ctx context.Context, ids []string) {
		for _, id := range ids {
			if err := r.Reconcile(ctx, id); err != nil && ctx.Err() == nil {
				r.c.log.ErrorContext(ctx, "reconcile server", "server_id", id, logkey.Err, err)
			}
		}
	})
}

// Reconcile does the control-plane work one server needs now, if any.
func (r *ServerReconciler) Reconcile(ctx context.Context, id string) error {
	s := r.c
	var sv *Server
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		sv, err = store.Get[Server](tx, KindServer, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case sv.Deleted:
		if len(sv.Ports) > 0 {
			return r.releasePorts(ctx, sv)
		}
	case sv.TaskState == TaskScheduling && sv.HostID == "",
		sv.TaskState == TaskUnshelving && sv.HostID == "":
		return r.place(ctx, sv, TaskScheduling)
	case sv.TaskState == TaskResizePrep:
		return r.place(ctx, sv, TaskResizePrep)
	case sv.TaskState == TaskMigrating && sv.OldHostID != "":
		return r.place(ctx, sv, TaskMigrating)
	}
	return nil
}

func (r *ServerReconciler) releasePorts(ctx context.Context, sv *Server) error {
	s := r.c
	if s.ports != nil {
		sctx := serviceContext(ctx, sv.ProjectID)
		for _, p := range sv.Ports {
			var err error
			if p.Preexisting {
				err = s.ports.BindPort(sctx, p.ID, "", "", "")
			} else {
				err = s.ports.DeletePort(sctx, p.ID)
			}
			if err != nil {
				return err
			}
		}
	}
	return s.write(ctx, func(tx store.Tx) error {
		cur, err := store.Get[Server](tx, KindServer, sv.ID)
		if err != nil {
			return err
		}
		cur.Ports = nil
		return putServer(tx, cur, false)
	})
}

// place schedules sv for the task it is in and moves it to its next task.
func (r *ServerReconciler) place(ctx context.Context, sv *Server, task string) error {
	s := r.c
	var ignore []string
	if task == TaskMigrating || (task == TaskResizePrep && sv.OldFlavor != nil && sv.OldFlavor.ID == sv.Flavor.ID) {
		ignore = []string{sv.HostID} // a migration must change host
	}
	p, err := s.schedule(ctx, sv, ignore)
	now := s.now()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.placementFailed(ctx, sv.ID, task, err)
	}
	h := new(Host)
	var placed *Server
	err = s.write(ctx, func(tx store.Tx) error {
		cur, err := store.Get[Server](tx, KindServer, sv.ID)
		if err != nil {
			return err
		}
		if cur.TaskState != task && !(task == TaskScheduling && cur.TaskState == TaskUnshelving) || cur.Deleted {
			// Deleted or reset meanwhile: give back what was claimed.
			if cur.Deleted || cur.HostID != p.HostID {
				if err := tx.Delete(KindAllocation, sv.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			return nil
		}
		if h, err = store.Get[Host](tx, KindHost, p.HostID); err != nil {
			return err
		}
		cur.HostID, cur.HostName, cur.NodeName = h.ID, h.Name, h.HypervisorHostname
		cur.ForcedHost = ""
		switch task {
		case TaskScheduling:
			if cur.TaskState == TaskScheduling {
				cur.TaskState = TaskSpawning
				if err := addEvent(tx, cur, "compute__do_build_and_run_instance", now); err != nil {
					return err
				}
			}
			if cur.AvailabilityZone == "" {
				zones, _, err := hostZones(tx)
				if err != nil {
					return err
				}
				cur.AvailabilityZone = zones[h.Name]
				if cur.AvailabilityZone == "" {
					cur.AvailabilityZone = DefaultZone
				}
			}
		case TaskResizePrep:
			cur.TaskState = TaskResizeMigrated
			if err := addEvent(tx, cur, "compute_finish_resize", now); err != nil {
				return err
			}
			if err := setMigrationStatus(tx, cur.MigrationID, "post-migrating", now, h); err != nil {
				return err
			}
		case TaskMigrating:
			cur.OldHostID = ""
			if err := setMigrationStatus(tx, cur.MigrationID, "running", now, h); err != nil {
				return err
			}
		}
		cur.UpdatedAt = now
		placed = cur
		return putServer(tx, cur, false)
	})
	if err == nil && placed != nil && len(placed.Ports) > 0 {
		s.bindHost(ctx, placed)
	}
	return err
}

// schedule places sv (fresh snapshot; the claim re-checks capacity).
func (s *Service) schedule(ctx context.Context, sv *Server, ignore []string) (scheduler.Placement, error) {
	var req scheduler.Request
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		req, err = placeRequest(tx, sv, &sv.Flavor, ignore)
		return err
	})
	if err != nil {
		return scheduler.Placement{}, err
	}
	return s.Schedule(ctx, ClaimRequest{ConsumerID: sv.ID, ProjectID: sv.ProjectID, UserID: sv.UserID}, req)
}

// placementFailed ends a task whose scheduling failed: a new server goes
// to ERROR with Nova's fault; a move returns to where it was.
func (s *Service) placementFailed(ctx context.Context, id, task string, cause error) error {
	if task == TaskScheduling {
		s.failServer(ctx, id, noValidHost(cause))
		return nil
	}
	return s.write(ctx, func(tx store.Tx) error {
		sv, err := store.Get[Server](tx, KindServer, id)
		if err != nil {
			return err
		}
		if sv.TaskState != task {
			return nil
		}
		now := s.now()
		if err := setMigrationStatus(tx, sv.MigrationID, "error", now, nil); err != nil {
			return err
		}
		if sv.OldFlavor != nil {
			sv.Flavor = *sv.OldFlavor
		}
		if err := finishActions(tx, sv, now, "Error"); err != nil {
			return err
		}
		sv.OldFlavor, sv.OldHostID, sv.MigrationID, sv.ForcedHost, sv.TaskState = nil, "", "", "", ""
		if sv.PrevVMState != "" {
			sv.VMState = sv.PrevVMState
		}
		sv.UpdatedAt = now
		return putServer(tx, sv, false)
	})
}

func noValidHost(cause error) error {
	return &noValidHostError{cause: cause}
}

type noValidHostError struct{ cause error }

func (e *noValidHostError) Error() string {
	return "No valid host was found. There are not enough hosts available."
}

// ReportServer records what a host observed after performing task on
// server id: the host side's only write. A report for a task the server is
// no longer in is stale and ignored.
func (s *Service) ReportServer(ctx context.Context, id, task string, obs Observed, failure error) error {
	var dropImage, project string
	err := s.write(ctx, func(tx store.Tx) error {
		dropImage = ""
		sv, err := store.Get[Server](tx, KindServer, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if sv.Deleted || sv.TaskState != task {
			return nil
		}
		now := s.now()
		if failure != nil {
			if task == TaskSpawning || task == TaskRebuilding {
				sv.VMState = VMError
				sv.Fault = &ServerFault{Code: 500, Message: failure.Error(), Created: now.Format("2006-01-02T15:04:05Z")}
			}
			sv.TaskState = ""
			if err := finishActions(tx, sv, now, "Error"); err != nil {
				return err
			}
			sv.UpdatedAt = now
			return putServer(tx, sv, false)
		}
		switch task {
		case TaskDeleting:
			if err := finishDelete(tx, sv, now); err != nil {
				return err
			}
			return putServer(tx, sv, false)
		case TaskShelving:
			if err := offload(tx, sv); err != nil {
				return err
			}
			sv.SnapshotImageID = ""
		case TaskUnshelving:
			sv.LaunchedAt = &now
			dropImage, project, sv.ShelvedImageID = sv.ShelvedImageID, sv.ProjectID, ""
		case TaskSpawning, TaskRebuilding:
			sv.LaunchedAt = &now
		case TaskResizeMigrated:
			if err := setMigrationStatus(tx, sv.MigrationID, "finished", now, nil); err != nil {
				return err
			}
		case TaskMigrating:
			if err := setMigrationStatus(tx, sv.MigrationID, "completed", now, nil); err != nil {
				return err
			}
			sv.MigrationID = ""
		case TaskUnrescuing:
			sv.RescueImageID = ""
		case TaskImageSnapshot:
			sv.SnapshotImageID = ""
		}
		if task != TaskShelving {
			sv.VMState, sv.PowerState = obs.VMState, obs.PowerState
		}
		sv.TaskState = ""
		if err := finishActions(tx, sv, now, "Success"); err != nil {
			return err
		}
		sv.UpdatedAt = now
		return putServer(tx, sv, false)
	})
	if err == nil && dropImage != "" && s.images != nil {
		if derr := s.images.Delete(serviceContext(ctx, project), dropImage); derr != nil {
			s.log.WarnContext(ctx, "shelved image not deleted", "image_id", dropImage, logkey.Err, derr)
		}
	}
	return err
}

// HostServer pairs a server with its host's driver, for the host side.
type HostServer struct {
	Server Server
	Driver string
}

// ServerOnHost reads a server and the driver of its host ("" if none).
func (s *Service) ServerOnHost(ctx context.Context, id string) (*HostServer, error) {
	var out *HostServer
	err := s.read(ctx, func(tx store.ReadTx) error {
		sv, err := store.Get[Server](tx, KindServer, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out = &HostServer{Server: *sv}
		if sv.HostID != "" {
			if h, err := store.Get[Host](tx, KindHost, sv.HostID); err == nil {
				out.Driver = h.Driver
			}
		}
		return nil
	})
	return out, err
}
