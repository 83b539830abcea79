package fakehost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/logkey"
)

// Driver is the host driver name this package converges.
const Driver = "fake"

// Reconciler converges the servers of fake hosts.
type Reconciler struct {
	c      *compute.Service
	images compute.Images
	log    *slog.Logger
}

// New returns a Reconciler; images (may be nil) backs createImage.
func New(c *compute.Service, images compute.Images, log *slog.Logger) *Reconciler {
	return &Reconciler{c: c, images: images, log: log.With(logkey.Component, "fakehost")}
}

// Run follows the change feed until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	return r.c.FollowServers(ctx, func(ctx context.Context, ids []string) {
		for _, id := range ids {
			if err := r.Reconcile(ctx, id); err != nil && ctx.Err() == nil {
				r.log.ErrorContext(ctx, "reconcile fake server", "server_id", id, logkey.Err, err)
			}
		}
	})
}

// Reconcile performs the pending host-side task of one server, if it is on
// a fake host.
func (r *Reconciler) Reconcile(ctx context.Context, id string) error {
	hs, err := r.c.ServerOnHost(ctx, id)
	if err != nil || hs == nil || hs.Driver != Driver {
		return err
	}
	sv := &hs.Server
	if sv.Deleted || !slices.Contains(compute.HostTasks, sv.TaskState) {
		return nil
	}
	if sv.TaskState == compute.TaskMigrating && sv.OldHostID != "" {
		return nil // the control plane has not picked the destination yet
	}
	var failure error
	if (sv.TaskState == compute.TaskImageSnapshot || sv.TaskState == compute.TaskShelving) && sv.SnapshotImageID != "" {
		failure = r.snapshot(ctx, sv)
	}
	return r.c.ReportServer(ctx, sv.ID, sv.TaskState, compute.Outcome(sv), failure)
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
