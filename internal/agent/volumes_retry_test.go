package agent

import (
	"context"
	"errors"
	"testing"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// A failed attach is reported once and not retried while the server lists
// the volume; once the control plane dropped it (it rolls a failed attach
// back), a new attach of the same volume to the same server is done.
func TestAttachAgainAfterAFailedAttach(t *testing.T) {
	e := newEnv(t)
	e.addServer(nil)
	e.converge()
	fail := true
	e.hv.AttachDiskFunc = func(ctx context.Context, id string, disk hypervisor.Disk) error {
		if fail {
			return errors.New("device_add failed")
		}
		e.hv.AttachDiskFunc = nil
		return e.hv.AttachDisk(ctx, id, disk)
	}
	vol := hostapi.Volume{VolumeID: volID, Path: "/var/lib/nubo/volumes/volume-" + volID + ".qcow2", Format: "qcow2", SizeGB: 1}
	e.c.set(func(st *hostapi.State) { st.Servers[0].Volumes = []hostapi.Volume{vol} })
	e.converge()
	e.converge() // not retried
	if vr := e.c.volumeReports(); len(vr) != 1 || vr[0].Error == "" || count(e.hv.Calls(), "AttachDisk") != 1 {
		t.Fatalf("after a failed attach: reports %+v, calls %v", vr, e.hv.Calls())
	}

	// The control plane drops the volume, then the user attaches it again.
	e.c.set(func(st *hostapi.State) { st.Servers[0].Volumes = nil })
	e.converge()
	fail = false
	e.c.set(func(st *hostapi.State) { st.Servers[0].Volumes = []hostapi.Volume{vol} })
	e.converge()
	vr := e.c.volumeReports()
	if len(vr) != 2 || !vr[1].Attached || vr[1].Error != "" {
		t.Fatalf("the second attach was not done: reports %+v, calls %v", vr, e.hv.Calls())
	}
	if spec, _ := e.hv.Spec(srvID); len(spec.Disks) != 1 || spec.Disks[0].ID != volID {
		t.Fatalf("disks %+v", spec.Disks)
	}
}
