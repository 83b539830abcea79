package compute

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
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
	return s.followFeed(ctx, nil, func(ctx context.Context, b feedBatch) {
		if len(b.servers) > 0 {
			fn(ctx, b.servers)
		}
	})
}

// feedBatch is what followFeed hands on: every server (full) or the servers
// changed in one batch of the feed, and that batch's changes of the other
// kinds followed.
type feedBatch struct {
	// full is true for the listing on start and resync: servers holds every
	// server, and state derived from the other kinds should be read again.
	full    bool
	servers []string
	changes []store.Change
}

// feedLimit is how many changes one batch reads at most.
const feedLimit = 2000

// followFeed is FollowServers that also passes on the changes of kinds.
func (s *Service) followFeed(ctx context.Context, kinds []string, fn func(ctx context.Context, b feedBatch)) error {
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
		fn(ctx, feedBatch{full: true, servers: ids})
		resync := time.Now().Add(resyncEvery)
		for time.Now().Before(resync) {
			changes, err := s.st.Changes(ctx, rev, feedLimit)
			if errors.Is(err, store.ErrCompacted) {
				break
			}
			if err != nil {
				return err
			}
			var b feedBatch
			seen := map[string]bool{}
			for _, ch := range changes {
				rev = ch.Rev
				switch {
				case ch.Kind == KindServer:
					if !seen[ch.ID] {
						seen[ch.ID] = true
						b.servers = append(b.servers, ch.ID)
					}
				case slices.Contains(kinds, ch.Kind):
					b.changes = append(b.changes, ch)
				}
			}
			if len(b.servers) > 0 || len(b.changes) > 0 {
				fn(ctx, b)
			}
			if len(changes) == feedLimit {
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
//
// It works in batches: the servers of one batch of the change feed are read
// in one transaction, placed one after the other against one scheduler
// snapshot (each placement taking its share of the snapshot, so a batch
// spreads as single placements would), and claimed and moved to their next
// task in one write transaction that re-checks every claim against the
// host's allocations as they are then. The snapshot comes from a
// placementCache that Run keeps current from the change feed.
type ServerReconciler struct {
	c  *Service
	mu sync.Mutex // one batch at a time: Run's and direct Reconcile calls
	// following is set while Run keeps cache current; otherwise (Reconcile
	// called directly) every placement reads a fresh snapshot.
	following bool
	cache     placementCache
}

// NewServerReconciler returns the reconciler of c's servers.
func NewServerReconciler(c *Service) *ServerReconciler { return &ServerReconciler{c: c} }

// Run follows the change feed until ctx ends.
func (r *ServerReconciler) Run(ctx context.Context) error {
	r.mu.Lock()
	r.following = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.following, r.cache = false, placementCache{}
		r.mu.Unlock()
	}()
	return r.c.followFeed(ctx, placementKinds, func(ctx context.Context, b feedBatch) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := r.sync(ctx, b); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.c.log.ErrorContext(ctx, "read scheduler state", logkey.Err, err)
			r.cache = placementCache{} // read whole on next use
		}
		if len(b.servers) > 0 {
			r.reconcile(ctx, b.servers)
		}
	})
}

// sync brings the cache up to date with b.
func (r *ServerReconciler) sync(ctx context.Context, b feedBatch) error {
	switch {
	case b.full || !r.cache.loaded():
		return r.c.read(ctx, r.cache.load)
	case len(b.changes) > 0:
		return r.c.read(ctx, func(tx store.ReadTx) error { return r.cache.apply(tx, b.changes) })
	}
	return nil
}

// Reconcile does the control-plane work one server needs now, if any.
func (r *ServerReconciler) Reconcile(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reconcile(ctx, []string{id})
}

// reconcile does the work the servers ids need now, placing those waiting
// for a host as one batch. Failures are logged and returned.
func (r *ServerReconciler) reconcile(ctx context.Context, ids []string) error {
	s := r.c
	var svs []*Server
	err := s.read(ctx, func(tx store.ReadTx) error {
		for _, id := range ids {
			sv, err := store.Get[Server](tx, KindServer, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			svs = append(svs, sv)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "read servers", logkey.Err, err)
		}
		return err
	}
	var errs []error
	var toPlace []placeItem
	for _, sv := range svs {
		switch {
		case sv.Deleted:
			if len(sv.Ports) > 0 {
				if err := r.releasePorts(ctx, sv); err != nil && ctx.Err() == nil {
					s.log.ErrorContext(ctx, "reconcile server", "server_id", sv.ID, logkey.Err, err)
					errs = append(errs, err)
				}
			}
		case sv.TaskState == TaskScheduling && sv.HostID == "",
			sv.TaskState == TaskUnshelving && sv.HostID == "":
			toPlace = append(toPlace, placeItem{sv: sv, task: TaskScheduling})
		case sv.TaskState == TaskResizePrep:
			toPlace = append(toPlace, placeItem{sv: sv, task: TaskResizePrep})
		case sv.TaskState == TaskMigrating && sv.OldHostID != "":
			toPlace = append(toPlace, placeItem{sv: sv, task: TaskMigrating})
		}
	}
	if len(toPlace) > 0 {
		errs = append(errs, r.placeBatch(ctx, toPlace))
	}
	return errors.Join(errs...)
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

// placeItem is a server waiting for a host, for task.
type placeItem struct {
	sv   *Server
	task string
	// p is where the scheduler put it (commitPlacements' input).
	p scheduler.Placement
}

// placeAttempts bounds how often a server whose claim lost a race is placed
// again before it fails.
const placeAttempts = 5

// placeBatch schedules items (servers of one batch) and moves each to its
// next task. A claim that no longer fits when committed is placed again on
// a snapshot read afresh, at most placeAttempts times; a server no host can
// take is tried once more on a fresh snapshot, then fails.
func (r *ServerReconciler) placeBatch(ctx context.Context, items []placeItem) error {
	s := r.c
	var errs []error
	pending := items
	for attempt := 0; len(pending) > 0; attempt++ {
		if !r.following || attempt > 0 || !r.cache.loaded() {
			if err := s.read(ctx, r.cache.load); err != nil {
				r.cache = placementCache{}
				return errors.Join(append(errs, err)...)
			}
		}
		plan, unplaced, err := r.plan(ctx, pending)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		var retry []placeItem
		for _, u := range unplaced {
			if attempt == 0 && r.following {
				retry = append(retry, u.item) // the cache may lag: once more on a fresh read
				continue
			}
			if err := s.placementFailed(ctx, u.item.sv.ID, u.item.task, u.err); err != nil {
				errs = append(errs, err)
			}
		}
		lost, err := r.commit(ctx, plan)
		if err != nil {
			errs = append(errs, err)
		}
		if attempt+1 >= placeAttempts {
			for _, it := range lost {
				if err := s.placementFailed(ctx, it.sv.ID, it.task, errors.New("claims kept racing for the same hosts")); err != nil {
					errs = append(errs, err)
				}
			}
			lost = nil
		}
		pending = append(retry, lost...)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	for _, err := range errs {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "place servers", logkey.Err, err)
		}
	}
	return errors.Join(errs...)
}

type unplacedItem struct {
	item placeItem
	err  error
}

// plan places items one after the other on the cache's snapshot, adding
// each placement to the snapshot (usage and group members) before the next.
func (r *ServerReconciler) plan(ctx context.Context, items []placeItem) (plan []placeItem, unplaced []unplacedItem, err error) {
	s := r.c
	reqs := make([]scheduler.Request, len(items))
	err = s.read(ctx, func(tx store.ReadTx) error {
		for i, it := range items {
			var ignore []string
			sv := it.sv
			if it.task == TaskMigrating || (it.task == TaskResizePrep && sv.OldFlavor != nil && sv.OldFlavor.ID == sv.Flavor.ID) {
				ignore = []string{sv.HostID} // a migration must change host
			}
			if reqs[i], err = placeRequest(tx, sv, &sv.Flavor, ignore); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	snap := r.cache.snapshot()
	index := make(map[string]int, len(snap.Hosts))
	for i, h := range snap.Hosts {
		index[h.ID] = i
	}
	// members[group][host] counts this batch's placements of group members.
	members := map[string]map[string]int{}
	for i, it := range items {
		req := reqs[i]
		if req.DefaultZone == "" {
			req.DefaultZone = DefaultZone
		}
		if g := req.Group; g != nil {
			for h, n := range members[it.sv.ServerGroupID] {
				g.Members[h] += n
			}
		}
		p, err := scheduler.Place(req, snap)
		if err != nil {
			unplaced = append(unplaced, unplacedItem{item: it, err: err})
			continue
		}
		h := &snap.Hosts[index[p.HostID]]
		for k, v := range p.Resources {
			h.Used[k] += v
		}
		h.Instances++
		if req.Group != nil {
			if members[it.sv.ServerGroupID] == nil {
				members[it.sv.ServerGroupID] = map[string]int{}
			}
			members[it.sv.ServerGroupID][p.HostID]++
		}
		it.p = p
		plan = append(plan, it)
	}
	return plan, unplaced, nil
}

// commit claims and moves every planned server in one write transaction,
// and returns those whose claim no longer fits. Should the transaction
// fail, each server is committed alone, so that one cannot hold up others.
func (r *ServerReconciler) commit(ctx context.Context, plan []placeItem) (lost []placeItem, err error) {
	if len(plan) == 0 {
		return nil, nil
	}
	lost, placed, err := r.commitTx(ctx, plan)
	if err != nil && len(plan) > 1 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		lost, placed, err = nil, nil, nil
		var errs []error
		for _, it := range plan {
			l, p, e := r.commitTx(ctx, []placeItem{it})
			lost, placed = append(lost, l...), append(placed, p...)
			if e != nil {
				errs = append(errs, fmt.Errorf("server %s: %w", it.sv.ID, e))
			}
		}
		err = errors.Join(errs...)
	}
	for _, sv := range placed {
		if len(sv.Ports) > 0 {
			r.c.bindHost(ctx, sv)
		}
	}
	return lost, err
}

// hostClaims is one host's allocations as a commit transaction reads them.
type hostClaims struct {
	h       *Host
	used    scheduler.Resources
	holders map[string]scheduler.Resources
	touched bool
}

func (r *ServerReconciler) commitTx(ctx context.Context, plan []placeItem) (lost []placeItem, placed []*Server, err error) {
	s := r.c
	type claimed struct {
		consumer, host string
		res            scheduler.Resources
	}
	var claims []claimed
	now := s.now()
	err = s.write(ctx, func(tx store.Tx) error {
		lost, placed, claims = nil, nil, nil
		hosts := map[string]*hostClaims{}
		hostState := func(id string) (*hostClaims, error) {
			if hc, ok := hosts[id]; ok {
				return hc, nil
			}
			h, err := store.Get[Host](tx, KindHost, id)
			if errors.Is(err, store.ErrNotFound) {
				hosts[id] = nil
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			// Only what the re-check needs is decoded (a full Allocation
			// also parses times and copies IDs, per holder per batch).
			type holder struct {
				ConsumerID string              `json:"consumer_id"`
				Resources  scheduler.Resources `json:"resources"`
			}
			allocs, err := store.List[holder](tx, KindAllocation, store.ListOptions{Ref: id})
			if err != nil {
				return nil, err
			}
			hc := &hostClaims{h: h, used: scheduler.Resources{}, holders: map[string]scheduler.Resources{}}
			for _, a := range allocs {
				hc.holders[a.ConsumerID] = a.Resources
				for k, v := range a.Resources {
					hc.used[k] += v
				}
			}
			hosts[id] = hc
			return hc, nil
		}
		var zones map[string]string
		for _, it := range plan {
			cur, err := store.Get[Server](tx, KindServer, it.sv.ID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if cur.Deleted || (cur.TaskState != it.task && !(it.task == TaskScheduling && cur.TaskState == TaskUnshelving)) ||
				(it.task == TaskScheduling && cur.HostID != "") {
				continue // deleted, reset or placed meanwhile
			}
			hc, err := hostState(it.p.HostID)
			if err != nil {
				return err
			}
			if hc == nil {
				lost = append(lost, it) // host removed since the snapshot
				continue
			}
			// The claim (see claim): a consumer's own allocation on this
			// host is replaced; one on another host is moved here.
			own, exists := hc.holders[cur.ID]
			used := maps.Clone(hc.used)
			for k, v := range own {
				used[k] -= v
			}
			if !scheduler.Fits(hc.h.Inventory, used, it.p.Resources) {
				lost = append(lost, it)
				continue
			}
			a := Allocation{ConsumerID: cur.ID, ProviderID: hc.h.ID, ProjectID: cur.ProjectID, UserID: cur.UserID, Resources: it.p.Resources, CreatedAt: now}
			rec := store.Record{Kind: KindAllocation, ID: cur.ID, Ref: hc.h.ID, Value: a}
			if exists {
				err = tx.Update(rec)
			} else if err = tx.Create(rec); errors.Is(err, store.ErrConflict) {
				// The consumer holds an allocation on another host: move it.
				old, gerr := store.Get[Allocation](tx, KindAllocation, cur.ID)
				if gerr != nil {
					return gerr
				}
				if err := tx.Delete(KindAllocation, cur.ID); err != nil {
					return err
				}
				if oh := hosts[old.ProviderID]; oh != nil {
					for k, v := range old.Resources {
						oh.used[k] -= v
					}
					delete(oh.holders, cur.ID)
				}
				err = tx.Create(rec)
			}
			if err != nil {
				return err
			}
			for k, v := range it.p.Resources {
				used[k] += v
			}
			hc.used, hc.holders[cur.ID], hc.touched = used, it.p.Resources, true
			claims = append(claims, claimed{consumer: cur.ID, host: hc.h.ID, res: it.p.Resources})

			if it.task == TaskScheduling && cur.AvailabilityZone == "" && zones == nil {
				if zones, _, err = hostZones(tx); err != nil {
					return err
				}
			}
			if err := moveToHost(tx, cur, it.task, hc.h, zones, now); err != nil {
				return err
			}
			placed = append(placed, cur)
		}
		for _, hc := range hosts {
			if hc == nil || !hc.touched {
				continue
			}
			hc.h.Generation++
			if err := tx.Update(store.Record{Kind: KindHost, ID: hc.h.ID, Unique: []string{"name:" + hc.h.Name, seqKey(hc.h.Seq)}, Value: hc.h}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if r.cache.loaded() {
		for _, c := range claims {
			r.cache.setAlloc(c.consumer, c.host, c.res)
		}
	}
	return lost, placed, nil
}

// moveToHost records that cur, placed on h for task, moves to its next task.
func moveToHost(tx store.Tx, cur *Server, task string, h *Host, zones map[string]string, now time.Time) error {
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
	return putServer(tx, cur, false)
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
	return s.ReportServers(ctx, []ServerReport{{ID: id, Task: task, Observed: obs, Failure: failure}})
}

// ServerReport is one host-side outcome (ReportServer's arguments).
type ServerReport struct {
	ID       string
	Task     string
	Observed Observed
	Failure  error
}

// ReportServers records several reports in one write transaction (a host
// reporting a batch). Should that transaction fail, each report is written
// alone, so that one cannot hold up the others; the errors are joined.
func (s *Service) ReportServers(ctx context.Context, reports []ServerReport) error {
	type drop struct{ image, project string }
	var drops []drop
	write := func(reports []ServerReport) error {
		return s.write(ctx, func(tx store.Tx) error {
			drops = drops[:0]
			now := s.now()
			for _, r := range reports {
				image, project, err := reportServer(tx, r, now)
				if err != nil {
					return err
				}
				if image != "" {
					drops = append(drops, drop{image, project})
				}
			}
			return nil
		})
	}
	var errs []error
	var dropped []drop
	if err := write(reports); err == nil || len(reports) == 1 {
		if err != nil {
			return err
		}
		dropped = drops
	} else {
		for _, r := range reports {
			if err := write([]ServerReport{r}); err != nil {
				errs = append(errs, fmt.Errorf("server %s: %w", r.ID, err))
				continue
			}
			dropped = append(dropped, drops...)
		}
	}
	if s.images != nil {
		for _, d := range dropped {
			if derr := s.images.Delete(serviceContext(ctx, d.project), d.image); derr != nil {
				s.log.WarnContext(ctx, "shelved image not deleted", "image_id", d.image, logkey.Err, derr)
			}
		}
	}
	return errors.Join(errs...)
}

// reportServer writes one report in tx and returns the shelved image to
// delete once committed, if any.
func reportServer(tx store.Tx, r ServerReport, now time.Time) (dropImage, project string, err error) {
	id, task, obs, failure := r.ID, r.Task, r.Observed, r.Failure
	sv, err := store.Get[Server](tx, KindServer, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	if sv.Deleted || sv.TaskState != task {
		return "", "", nil
	}
	if failure != nil {
		if task == TaskSpawning || task == TaskRebuilding {
			sv.VMState = VMError
			sv.Fault = &ServerFault{Code: 500, Message: failure.Error(), Created: now.Format("2006-01-02T15:04:05Z")}
		}
		sv.TaskState = ""
		if err := finishActions(tx, sv, now, "Error"); err != nil {
			return "", "", err
		}
		sv.UpdatedAt = now
		return "", "", putServer(tx, sv, false)
	}
	switch task {
	case TaskDeleting:
		if err := finishDelete(tx, sv, now); err != nil {
			return "", "", err
		}
		return "", "", putServer(tx, sv, false)
	case TaskShelving:
		if err := offload(tx, sv); err != nil {
			return "", "", err
		}
		sv.SnapshotImageID = ""
	case TaskUnshelving:
		sv.LaunchedAt = &now
		dropImage, project, sv.ShelvedImageID = sv.ShelvedImageID, sv.ProjectID, ""
	case TaskSpawning, TaskRebuilding:
		sv.LaunchedAt = &now
	case TaskResizeMigrated:
		if err := setMigrationStatus(tx, sv.MigrationID, "finished", now, nil); err != nil {
			return "", "", err
		}
	case TaskMigrating:
		if err := setMigrationStatus(tx, sv.MigrationID, "completed", now, nil); err != nil {
			return "", "", err
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
		return "", "", err
	}
	sv.UpdatedAt = now
	return dropImage, project, putServer(tx, sv, false)
}

// HostServer pairs a server with its host's driver, for the host side.
type HostServer struct {
	Server Server
	Driver string
}

// ServersOnHosts reads the servers ids (skipping missing ones) and the
// drivers of their hosts in one transaction.
func (s *Service) ServersOnHosts(ctx context.Context, ids []string) ([]HostServer, error) {
	return s.serversOnHosts(ctx, ids, nil, nil)
}

// PendingHostServers is ServersOnHosts for those of ids with a host-side
// task pending (not deleted, TaskState in HostTasks); the others are
// skipped after decoding only their gist.
func (s *Service) PendingHostServers(ctx context.Context, ids []string) ([]HostServer, error) {
	return s.serversOnHosts(ctx, ids, []string{"task_state"}, func(g *serverGist) bool {
		return !g.Deleted && slices.Contains(HostTasks, g.TaskState)
	})
}

// ServersChangingVolumes returns those of ids that are not deleted and have
// a volume attaching or detaching (what a host side plugs or unplugs).
func (s *Service) ServersChangingVolumes(ctx context.Context, ids []string) ([]string, error) {
	return s.serversWhere(ctx, ids, []string{"volume_attachments"}, func(g *serverGist) bool {
		if g.Deleted {
			return false
		}
		for _, va := range g.VolumeAttachments {
			if va.State == VolumeAttaching || va.State == VolumeDetaching {
				return true
			}
		}
		return false
	})
}

// serverGist is the part of a server record that followers of the change
// feed look at to tell whether a changed server needs them. Every server
// change reaches every follower, and most need nothing: decoding only this
// (not the whole record) keeps that cheap.
type serverGist struct {
	Deleted           bool   `json:"deleted,omitempty"`
	TaskState         string `json:"task_state,omitempty"`
	VolumeAttachments []struct {
		State string `json:"state"`
	} `json:"volume_attachments,omitempty"`
}

// serversWhere returns those of ids whose gist keep accepts, in one read.
// keep sees only records whose JSON mentions one of words (nil: every
// record): keep must reject every server whose record has none of them
// (a key or value it needs present), and most records are then rejected
// without being decoded at all.
func (s *Service) serversWhere(ctx context.Context, ids []string, words []string, keep func(*serverGist) bool) ([]string, error) {
	var out []string
	err := s.read(ctx, func(tx store.ReadTx) error {
		out = out[:0]
		for _, id := range ids {
			it, err := tx.Get(KindServer, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if words != nil && !mentionsAny(it.Data, words) {
				continue
			}
			var g serverGist
			if err := it.Decode(&g); err != nil {
				return err
			}
			if keep(&g) {
				out = append(out, id)
			}
		}
		return nil
	})
	return out, err
}

// mentionsAny reports whether data holds one of words.
func mentionsAny(data []byte, words []string) bool {
	for _, w := range words {
		if bytes.Contains(data, []byte(w)) {
			return true
		}
	}
	return false
}

// serversOnHosts reads ids with their hosts' drivers; keep and words
// filter as in serversWhere.
func (s *Service) serversOnHosts(ctx context.Context, ids []string, words []string, keep func(*serverGist) bool) ([]HostServer, error) {
	var out []HostServer
	err := s.read(ctx, func(tx store.ReadTx) error {
		out = out[:0]
		drivers := map[string]string{}
		for _, id := range ids {
			it, err := tx.Get(KindServer, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if words != nil && !mentionsAny(it.Data, words) {
				continue
			}
			if keep != nil {
				var g serverGist
				if err := it.Decode(&g); err != nil {
					return err
				}
				if !keep(&g) {
					continue
				}
			}
			var sv Server
			if err := it.Decode(&sv); err != nil {
				return err
			}
			hs := HostServer{Server: sv}
			if sv.HostID != "" {
				d, ok := drivers[sv.HostID]
				if !ok {
					if h, err := store.Get[Host](tx, KindHost, sv.HostID); err == nil {
						d = h.Driver
					}
					drivers[sv.HostID] = d
				}
				hs.Driver = d
			}
			out = append(out, hs)
		}
		return nil
	})
	return out, err
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
