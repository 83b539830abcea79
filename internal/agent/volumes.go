package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/logkey"
)

// volumesNeedWork reports whether srv's volumes differ from what the agent
// attached and reported (agent.json).
func (a *Agent) volumesNeedWork(srv *hostapi.Server) bool {
	rec := a.record(srv.ID)
	in := map[string]bool{}
	for _, vol := range srv.Volumes {
		in[vol.VolumeID] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// What was done for a volume srv no longer lists is forgotten: a
	// failed attach the control plane rolled back may be asked again.
	prefix := srv.ID + "/"
	for k := range a.volDone {
		if id, ok := strings.CutPrefix(k, prefix); ok && !in[strings.TrimSuffix(id, "!")] {
			delete(a.volDone, k)
		}
	}
	for _, vol := range srv.Volumes {
		size, attached := rec.Volumes[vol.VolumeID]
		key := srv.ID + "/" + vol.VolumeID
		switch {
		case vol.Detaching:
			if attached || !a.volDone[key] {
				return true
			}
		case !attached:
			if vol.Path != "" && !a.volDone[key+"!"] { // an attach that failed is not retried
				return true
			}
		case vol.SizeGB > size:
			return true
		}
	}
	for id := range rec.Volumes {
		if !in[id] {
			return true
		}
	}
	return false
}

// syncVolumes attaches srv's volumes that are not attached yet, detaches
// the detaching ones and those srv no longer lists, grows extended ones,
// and reports attaches and detaches. A guest without a process gets them
// through its definition; a running one through hot-plug.
func (a *Agent) syncVolumes(ctx context.Context, v *view, srv *hostapi.Server) error {
	if !a.volumesNeedWork(srv) {
		return nil
	}
	st, err := a.status(ctx, srv.ID)
	if err != nil || st == nil {
		return err // no guest: its volumes come with its definition
	}
	live := alive(st.State)
	rec := a.record(srv.ID)
	var errs []error
	redefine := false
	var reports []hostapi.VolumeReport
	var after []func()

	// attach and extend
	in := map[string]bool{}
	for _, vol := range srv.Volumes {
		in[vol.VolumeID] = true
		key := srv.ID + "/" + vol.VolumeID
		size, attached := rec.Volumes[vol.VolumeID]
		if vol.Detaching {
			continue
		}
		if attached {
			if vol.SizeGB > size {
				if err := a.extend(ctx, srv.ID, vol, live); err != nil {
					errs = append(errs, err)
					continue
				}
				a.setVolume(srv.ID, vol.VolumeID, vol.SizeGB)
			}
			continue
		}
		a.mu.Lock()
		failed := a.volDone[key+"!"]
		a.mu.Unlock()
		if failed || vol.Path == "" {
			continue
		}
		var err error
		switch {
		case vol.Boot:
		case live:
			err = a.attach(ctx, srv.ID, vol)
		default:
			redefine = true
		}
		vol := vol
		if err != nil {
			a.log.ErrorContext(ctx, "attach volume", "server_id", srv.ID, "volume_id", vol.VolumeID, logkey.Err, err)
			// Attached true with an error: the attach failed (rolled back).
			reports = append(reports, hostapi.VolumeReport{ServerID: srv.ID, VolumeID: vol.VolumeID, Attached: true, Error: err.Error()})
			after = append(after, func() { a.mu.Lock(); a.volDone[key+"!"] = true; a.mu.Unlock() })
			continue
		}
		reports = append(reports, hostapi.VolumeReport{ServerID: srv.ID, VolumeID: vol.VolumeID, Attached: true})
		after = append(after, func() { a.setVolume(srv.ID, vol.VolumeID, vol.SizeGB) })
	}

	// detach
	detach := map[string]bool{}
	for _, vol := range srv.Volumes {
		if vol.Detaching {
			a.mu.Lock()
			done := a.volDone[srv.ID+"/"+vol.VolumeID]
			a.mu.Unlock()
			if _, attached := rec.Volumes[vol.VolumeID]; attached || !done {
				detach[vol.VolumeID] = true
			}
		}
	}
	for id := range rec.Volumes {
		if !in[id] {
			detach[id] = true
		}
	}
	for id := range detach {
		key := srv.ID + "/" + id
		if isBoot(srv, id) {
			// Attached false with an error: the detach failed (the volume
			// stays attached).
			reports = append(reports, hostapi.VolumeReport{ServerID: srv.ID, VolumeID: id, Attached: false, Error: "the boot volume cannot be detached"})
			after = append(after, func() { a.mu.Lock(); a.volDone[key] = true; a.mu.Unlock() })
			continue
		}
		if live {
			if err := a.detach(ctx, srv.ID, id); err != nil {
				// The guest did not release it in time (or cannot):
				// as Nova, give up and leave the volume attached.
				a.log.ErrorContext(ctx, "detach volume", "server_id", srv.ID, "volume_id", id, logkey.Err, err)
				reports = append(reports, hostapi.VolumeReport{ServerID: srv.ID, VolumeID: id, Attached: false, Error: err.Error()})
				after = append(after, func() { a.mu.Lock(); a.volDone[key] = true; a.mu.Unlock() })
				errs = append(errs, err)
				continue
			}
		} else {
			redefine = true
		}
		reports = append(reports, hostapi.VolumeReport{ServerID: srv.ID, VolumeID: id, Attached: false})
		after = append(after, func() {
			a.setVolume(srv.ID, id, -1)
			a.mu.Lock()
			a.volDone[key] = true
			a.mu.Unlock()
		})
	}

	if redefine {
		spec, err := a.prepare(ctx, v, srv)
		if err == nil {
			err = a.define(ctx, spec)
		}
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	for i, r := range reports {
		if err := a.cfg.Control.ReportVolume(ctx, a.HostID(), r); err != nil {
			errs = append(errs, fmt.Errorf("report volume %s: %w", r.VolumeID, err))
			continue
		}
		after[i]()
	}
	return errors.Join(errs...)
}

func isBoot(srv *hostapi.Server, volumeID string) bool {
	for _, v := range srv.Volumes {
		if v.VolumeID == volumeID {
			return v.Boot
		}
	}
	return false
}

// setVolume records a volume as attached with size GB (-1: detached).
func (a *Agent) setVolume(id, volumeID string, size int) {
	err := a.updateRecord(id, func(r *record) {
		if size < 0 {
			delete(r.Volumes, volumeID)
			return
		}
		if r.Volumes == nil {
			r.Volumes = map[string]int{}
		}
		r.Volumes[volumeID] = size
	})
	if err != nil {
		a.log.Error("save agent record", "server_id", id, logkey.Err, err)
	}
}

func (a *Agent) attach(ctx context.Context, id string, vol hostapi.Volume) error {
	ba, ok := a.hv.(hypervisor.BlockAttacher)
	if !ok {
		return fmt.Errorf("%w: disk hot-plug", hypervisor.ErrUnsupported)
	}
	return ba.AttachDisk(ctx, id, volumeDisk(vol))
}

func (a *Agent) detach(ctx context.Context, id, volumeID string) error {
	ba, ok := a.hv.(hypervisor.BlockAttacher)
	if !ok {
		return fmt.Errorf("%w: disk hot-plug", hypervisor.ErrUnsupported)
	}
	dctx, cancel := context.WithTimeout(ctx, a.cfg.DetachTimeout)
	defer cancel()
	return ba.DetachDisk(dctx, id, volumeID)
}

// extend grows a volume: through the running guest (block_resize, so the
// guest sees the new size) or, with no process, the file itself.
func (a *Agent) extend(ctx context.Context, id string, vol hostapi.Volume, live bool) error {
	size := int64(vol.SizeGB) << 30
	if !live {
		format := vol.Format
		if format == "" {
			format = "qcow2"
		}
		return a.disks.Resize(ctx, vol.Path, format, size)
	}
	r, ok := a.hv.(hypervisor.Resizer)
	if !ok {
		a.log.WarnContext(ctx, "the hypervisor cannot grow a disk live; the guest sees the new size after a restart",
			"server_id", id, "volume_id", vol.VolumeID)
		return nil
	}
	return r.BlockResize(ctx, id, vol.VolumeID, size)
}
