package compute

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/nubo-cloud/nubo/internal/store"
)

// fakeVolumes records the Block Storage calls ReportVolume makes.
type fakeVolumes struct {
	Volumes // the rest is not called here
	calls   []string
}

func (f *fakeVolumes) CompleteAttachment(_ context.Context, id string) error {
	f.calls = append(f.calls, "complete "+id)
	return nil
}

func (f *fakeVolumes) DeleteAttachment(_ context.Context, id string) error {
	f.calls = append(f.calls, "delete "+id)
	return nil
}

func (f *fakeVolumes) RollDetaching(_ context.Context, id string) error {
	f.calls = append(f.calls, "roll "+id)
	return nil
}

// TestReportVolume checks the host's reports: success moves attaching →
// attached and detaching → gone; failure rolls back; stale reports are
// ignored.
func TestReportVolume(t *testing.T) {
	s, st := newService(t)
	fv := &fakeVolumes{}
	s.SetVolumes(fv)
	ctx := context.Background()
	sv := &Server{ID: "s1", ProjectID: "p", HostID: "h", VMState: VMActive, VolumeAttachments: []VolumeAttachment{
		{VolumeID: "v1", AttachmentID: "a1", State: VolumeAttaching},
		{VolumeID: "v2", AttachmentID: "a2", State: VolumeAttaching},
		{VolumeID: "v3", AttachmentID: "a3", State: VolumeDetaching},
		{VolumeID: "v4", AttachmentID: "a4", State: VolumeDetaching},
	}}
	if err := st.Write(ctx, func(tx store.Tx) error { return putServer(tx, sv, true) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("guest said no")
	steps := []struct {
		vol      string
		attached bool
		failure  error
	}{
		{"v1", true, nil},   // attached
		{"v2", true, boom},  // attach failed: dropped, attachment deleted
		{"v3", false, nil},  // detached: dropped, attachment deleted
		{"v4", false, boom}, // detach failed: attached again
		{"v1", false, nil},  // stale: v1 is not detaching
	}
	for _, st := range steps {
		if err := s.ReportVolume(ctx, "s1", st.vol, st.attached, st.failure); err != nil {
			t.Fatalf("report %s: %v", st.vol, err)
		}
	}
	got, err := s.GetServer(admin(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, va := range got.VolumeAttachments {
		states = append(states, va.VolumeID+":"+va.State)
	}
	if want := []string{"v1:attached", "v4:attached"}; !slices.Equal(states, want) {
		t.Fatalf("entries %v, want %v", states, want)
	}
	if want := []string{"complete a1", "delete a2", "delete a3", "roll v4"}; !slices.Equal(fv.calls, want) {
		t.Fatalf("calls %v, want %v", fv.calls, want)
	}
}

func TestDeviceName(t *testing.T) {
	sv := &Server{VolumeAttachments: []VolumeAttachment{{Device: "/dev/vdb"}}}
	if d := deviceName(sv, ""); d != "/dev/vdc" {
		t.Fatalf("next device %s", d)
	}
	if d := deviceName(sv, "/dev/vdb"); d != "/dev/vdc" {
		t.Fatalf("taken device %s", d)
	}
	if d := deviceName(sv, "/dev/vdq"); d != "/dev/vdq" {
		t.Fatalf("free device %s", d)
	}
}
