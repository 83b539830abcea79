package cloud

import (
	"context"
	"runtime"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// volumes is compute.Volumes over the Block Storage service: Nova's side
// of Cinder's attachments API (create with a connector → complete; delete
// on detach) and the volumes boot from volume creates.
type volumes struct{ v *volume.Service }

var _ compute.Volumes = volumes{}

func (a volumes) computeVolume(ctx context.Context, v *volume.Volume) compute.Volume {
	out := compute.Volume{ID: v.ID, Name: v.Name, Description: v.Description, ProjectID: v.ProjectID, Status: v.Status,
		SizeGB: int(v.Size), Bootable: v.Bootable, Multiattach: v.Multiattach, Zone: v.AvailabilityZone,
		SnapshotID: v.SnapshotID, Metadata: v.Metadata, CreatedAt: v.CreatedAt}
	if v.TypeID != "" {
		out.TypeName = a.v.TypeName(ctx, v.TypeID)
	}
	for _, at := range v.Attachments {
		out.Attachments = append(out.Attachments, compute.VolumeServer{ID: at.ID, ServerID: at.ServerID, Device: at.Device})
	}
	return out
}

func computeSnapshot(s *volume.Snapshot) compute.VolumeSnapshot {
	return compute.VolumeSnapshot{ID: s.ID, VolumeID: s.VolumeID, Name: s.Name, Description: s.Description,
		Status: s.Status, SizeGB: int(s.Size), CreatedAt: s.CreatedAt}
}

func (a volumes) ListVolumes(ctx context.Context) ([]compute.Volume, error) {
	vs, err := a.v.List(ctx, volume.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]compute.Volume, 0, len(vs))
	for i := range vs {
		out = append(out, a.computeVolume(ctx, &vs[i]))
	}
	return out, nil
}

func (a volumes) CreateSnapshot(ctx context.Context, volumeID, name, description string, force bool) (compute.VolumeSnapshot, error) {
	s, err := a.v.CreateSnapshot(ctx, volumeID, name, description, force, nil)
	if err != nil {
		return compute.VolumeSnapshot{}, err
	}
	return computeSnapshot(s), nil
}

func (a volumes) GetSnapshot(ctx context.Context, id string) (compute.VolumeSnapshot, error) {
	s, err := a.v.GetSnapshot(ctx, id)
	if err != nil {
		return compute.VolumeSnapshot{}, err
	}
	return computeSnapshot(s), nil
}

func (a volumes) ListSnapshots(ctx context.Context) ([]compute.VolumeSnapshot, error) {
	ss, err := a.v.ListSnapshots(ctx, volume.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]compute.VolumeSnapshot, 0, len(ss))
	for i := range ss {
		out = append(out, computeSnapshot(&ss[i]))
	}
	return out, nil
}

func (a volumes) DeleteSnapshot(ctx context.Context, id string) error {
	return a.v.DeleteSnapshot(ctx, id, false)
}

func (a volumes) GetVolume(ctx context.Context, id string) (compute.Volume, error) {
	v, err := a.v.Get(ctx, id)
	if err != nil {
		return compute.Volume{}, err
	}
	return a.computeVolume(ctx, v), nil
}

func (a volumes) CreateVolume(ctx context.Context, req compute.VolumeRequest) (compute.Volume, error) {
	v, err := a.v.Create(ctx, volume.CreateRequest{Name: req.Name, Description: req.Description, Size: int64(req.SizeGB),
		Type: req.Type, AvailabilityZone: req.Zone, ImageID: req.ImageID, SnapshotID: req.SnapshotID, Metadata: req.Metadata})
	if err != nil {
		return compute.Volume{}, err
	}
	return a.computeVolume(ctx, v), nil
}

func (a volumes) DeleteVolume(ctx context.Context, id string) error {
	if err := a.v.Delete(ctx, id, false, false); err != nil && !fault.Is(err, fault.NotFound) {
		return err
	}
	return nil
}

// connector is what Nova's host would send; the file backend needs
// nothing from it but records the mountpoint as the attachment's device.
func connector(device string) map[string]any {
	return map[string]any{"platform": runtime.GOARCH, "os_type": runtime.GOOS, "multipath": false,
		"initiator": "", "host": "", "mountpoint": device}
}

func (a volumes) Attach(ctx context.Context, volumeID, serverID, device string) (compute.VolumeConnection, error) {
	res, err := a.v.CreateAttachment(ctx, volumeID, serverID, connector(device), "")
	if err != nil {
		return compute.VolumeConnection{}, err
	}
	conn := compute.VolumeConnection{AttachmentID: res.ID, ReadOnly: res.AttachMode == "ro"}
	if data, ok := res.ConnectionInfo["data"].(map[string]any); ok {
		conn.Path, _ = data["device_path"].(string)
		conn.Format, _ = data["format"].(string)
	}
	return conn, nil
}

func (a volumes) CompleteAttachment(ctx context.Context, attachmentID string) error {
	return a.v.CompleteAttachment(ctx, attachmentID)
}

func (a volumes) DeleteAttachment(ctx context.Context, attachmentID string) error {
	if err := a.v.DeleteAttachment(ctx, attachmentID); err != nil && !fault.Is(err, fault.NotFound) {
		return err
	}
	return nil
}

func (a volumes) BeginDetaching(ctx context.Context, volumeID string) error {
	return a.v.BeginDetaching(ctx, volumeID)
}

func (a volumes) RollDetaching(ctx context.Context, volumeID string) error {
	return a.v.RollDetaching(ctx, volumeID)
}
