package fakehost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/logkey"
)

// Driver is the host driver name this package converges.
const Driver = "fake"

// DefaultSnapshotTime is how long a snapshot takes on a fake host unless
// Reconciler.SnapshotTime says otherwise.
const DefaultSnapshotTime = 2 * time.Second

// Reconciler converges the servers of fake hosts.
type Reconciler struct {
	c      *compute.Service
	images compute.Images
	log    *slog.Logger

	// SnapshotTime is the least time between a snapshot task being set
	// (createImage, shelve: the server's UpdatedAt) and its image being
	// filled, so that clients see the image queued/SAVING for a while as
	// they do with a real host. Other servers of a batch are not held up:
	// the server is looked at again when its time has come.
	SnapshotTime time.Duration

	mu      sync.Mutex // serializes batches with wake-ups
	waiting map[string]bool
}

// New returns a Reconciler; images (may be nil) backs createImage.
func New(c *compute.Service, images compute.Images, log *slog.Logger) *Reconciler {
	return &Reconciler{c: c, images: images, log: log.With(logkey.Component, "fakehost"),
		SnapshotTime: DefaultSnapshotTime, waiting: map[string]bool{}}
}

// Run follows the change feed until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	return r.c.FollowServers(ctx, func(ctx context.Context, ids []string) {
		if err := r.ReconcileBatch(ctx, ids); err != nil && ctx.Err() == nil {
			r.log.ErrorContext(ctx, "reconcile fake servers", logkey.Err, err)
		}
	})
}

// Reconcile performs the pending host-side task of one server, if it is on
// a fake host.
func (r *Reconciler) Reconcile(ctx context.Context, id string) error {
	return r.ReconcileBatch(ctx, []string{id})
}

// ReconcileBatch performs the pending host-side tasks of the servers ids
// that are on fake hosts: it reads them in one transaction and reports
// their outcomes in one (snapshots, which copy image bytes, one by one).
func (r *Reconciler) ReconcileBatch(ctx context.Context, ids []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	hss, err := r.c.PendingHostServers(ctx, ids)
	if err != nil {
		return err
	}
	var reports []compute.ServerReport
	for i := range hss {
		sv := &hss[i].Server
		if hss[i].Driver != Driver || sv.Deleted || !slices.Contains(compute.HostTasks, sv.TaskState) {
			continue
		}
		if sv.TaskState == compute.TaskMigrating && sv.OldHostID != "" {
			continue // the control plane has not picked the destination yet
		}
		var failure error
		if (sv.TaskState == compute.TaskImageSnapshot || sv.TaskState == compute.TaskShelving) && sv.SnapshotImageID != "" {
			if wait := time.Until(sv.UpdatedAt.Add(r.SnapshotTime)); wait > 0 {
				r.wakeLater(ctx, sv.ID, wait)
				continue
			}
			failure = r.snapshot(ctx, sv)
		}
		reports = append(reports, compute.ServerReport{ID: sv.ID, Task: sv.TaskState, Observed: compute.Outcome(sv), Failure: failure})
	}
	if len(reports) == 0 {
		return nil
	}
	return r.c.ReportServers(ctx, reports)
}

// wakeLater reconciles server id again after wait, unless a wake-up for it
// is already due; called with r.mu held.
func (r *Reconciler) wakeLater(ctx context.Context, id string, wait time.Duration) {
	if r.waiting[id] {
		return
	}
	r.waiting[id] = true
	time.AfterFunc(wait, func() {
		r.mu.Lock()
		delete(r.waiting, id)
		r.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if err := r.Reconcile(ctx, id); err != nil && ctx.Err() == nil {
			r.log.ErrorContext(ctx, "reconcile fake server", "server_id", id, logkey.Err, err)
		}
	})
}

// snapshot copies the base image's bytes into the snapshot image.
func (r *Reconciler) snapshot(ctx context.Context, sv *compute.Server) error {
	if r.images == nil {
		return errors.New("no image service")
	}
	sctx := compute.ServiceContext(ctx, sv.ProjectID)
	rc, n, _, err := r.images.Download(sctx, sv.ImageID)
	if err != nil {
		return fmt.Errorf("read base image %s: %w", sv.ImageID, err)
	}
	if rc == nil {
		return fmt.Errorf("base image %s has no data", sv.ImageID)
	}
	defer rc.Close()
	if _, err := r.images.Upload(sctx, sv.SnapshotImageID, rc, n); err != nil {
		return fmt.Errorf("upload snapshot %s: %w", sv.SnapshotImageID, err)
	}
	return nil
}
