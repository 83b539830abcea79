package fakehost

import (
	"context"
	"log/slog"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/logkey"
)

// Volumes is the fake host's side of live volume attach and detach: a
// volume attaching to (or detaching from) a server on a fake host is
// plugged in (out) at once and reported with compute.ReportVolume. It
// follows the change feed on its own so the server reconciler above stays
// as it is; Reconciler.Reconcile may call ReconcileVolumes instead.
type Volumes struct {
	c   *compute.Service
	log *slog.Logger
}

// NewVolumes returns the fake host's volume reporter.
func NewVolumes(c *compute.Service, log *slog.Logger) *Volumes {
	return &Volumes{c: c, log: log.With(logkey.Component, "fakehost")}
}

// Run follows the change feed until ctx ends.
func (v *Volumes) Run(ctx context.Context) error {
	return v.c.FollowServers(ctx, func(ctx context.Context, ids []string) {
		// Most changes touch no volume: find those that do in one read.
		ids, err := v.c.ServersChangingVolumes(ctx, ids)
		if err != nil {
			if ctx.Err() == nil {
				v.log.ErrorContext(ctx, "read fake servers' volumes", logkey.Err, err)
			}
			return
		}
		for _, id := range ids {
			if err := v.Reconcile(ctx, id); err != nil && ctx.Err() == nil {
				v.log.ErrorContext(ctx, "reconcile fake server volumes", "server_id", id, logkey.Err, err)
			}
		}
	})
}

// Reconcile reports the pending volume changes of one server, if it is on
// a fake host.
func (v *Volumes) Reconcile(ctx context.Context, id string) error {
	hs, err := v.c.ServerOnHost(ctx, id)
	if err != nil || hs == nil || hs.Driver != Driver {
		return err
	}
	return ReconcileVolumes(ctx, v.c, hs)
}

// ReconcileVolumes reports every attaching or detaching volume of hs as
// done: the fake host has no disks to plug.
func ReconcileVolumes(ctx context.Context, c *compute.Service, hs *compute.HostServer) error {
	if hs.Server.Deleted {
		return nil
	}
	for _, va := range hs.Server.VolumeAttachments {
		var err error
		switch va.State {
		case compute.VolumeAttaching:
			err = c.ReportVolume(ctx, hs.Server.ID, va.VolumeID, true, nil)
		case compute.VolumeDetaching:
			err = c.ReportVolume(ctx, hs.Server.ID, va.VolumeID, false, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
