package volume

import (
	"context"
	"errors"
	"slices"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Attachments follow Cinder's two APIs over one record kept inside the
// volume (so a volume's status and its attachments change together):
//
//	attachments API (3.27+)          legacy actions (Nova before 3.27)
//	create (no connector) → reserved  os-reserve           → attaching
//	update (connector)    → attaching os-initialize_connection (no change)
//	complete              → attached  os-attach            → attached
//	delete                → gone      os-begin_detaching   → detaching
//	                                  os-roll_detaching    → attached
//	                                  os-detach            → gone
//
// The volume is in-use while any attachment is attached, available when
// none is left. The host agent watches attachments reach "attached" with
// its host's name and plugs the disk in (connection_info has the path).

func (s *Service) attachable(v *Volume) error {
	switch {
	case v.Status == StatusAvailable, v.Status == StatusReserved:
		return nil
	case (v.Status == StatusInUse || v.Status == StatusAttaching) && v.Multiattach:
		return nil
	}
	return invalidVolume("Volume %s status must be available or downloading to reserve, but the current status is %s.", v.ID, v.Status)
}

// rollUp sets the volume's status from its attachments.
func rollUp(v *Volume) {
	attached, pending := false, false
	for _, a := range v.Attachments {
		switch a.Status {
		case AttachStatusAttached, AttachStatusDetaching:
			attached = true
		default:
			pending = true
		}
	}
	switch {
	case attached:
		v.Status, v.AttachStatus = StatusInUse, AttachStatusAttached
	case pending:
		v.Status, v.AttachStatus = StatusAttaching, AttachStatusAttaching
		if len(v.Attachments) > 0 && v.Attachments[0].Status == AttachStatusReserved {
			v.Status, v.AttachStatus = StatusReserved, AttachStatusReserved
		}
	default:
		v.Status, v.AttachStatus = StatusAvailable, AttachStatusDetached
	}
}

func findAttachment(v *Volume, id string) int {
	return slices.IndexFunc(v.Attachments, func(a Attachment) bool { return a.ID == id })
}

// volumeOfAttachment returns the volume holding attachment id.
func volumeOfAttachment(tx store.ReadTx, c *policy.Credentials, id string) (*Volume, int, error) {
	vid, err := tx.Lookup(KindVolume, attKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, fault.New(fault.NotFound, "VolumeAttachment %s could not be found.", id)
	}
	if err != nil {
		return nil, 0, err
	}
	v, err := getWritableVolume(tx, c, vid)
	if fault.Is(err, fault.NotFound) {
		return nil, 0, fault.New(fault.NotFound, "VolumeAttachment %s could not be found.", id)
	}
	if err != nil {
		return nil, 0, err
	}
	return v, findAttachment(v, id), nil
}

// ConnectionInfo is what a host needs to open a volume.
func (s *Service) connectionInfo(v *Volume, a *Attachment) (map[string]any, error) {
	conn, err := s.drv.Connect(v.ID)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "Unable to fetch connection information from backend.")
	}
	return map[string]any{
		"driver_volume_type": conn.DriverVolumeType,
		"data": map[string]any{"device_path": conn.Path, "format": conn.Format, "name": "volume-" + v.ID,
			"volume_id": v.ID, "serial": v.ID, "access_mode": a.AttachMode, "encrypted": false, "discard": true},
	}, nil
}

// AttachmentResult is an attachment with its volume and, once a connector
// was given, its connection info.
type AttachmentResult struct {
	Attachment
	ConnectionInfo map[string]any
	ProjectID      string
}

func (s *Service) result(v *Volume, i int) (*AttachmentResult, error) {
	a := v.Attachments[i]
	r := &AttachmentResult{Attachment: a, ProjectID: v.ProjectID}
	if a.Connector != nil {
		ci, err := s.connectionInfo(v, &a)
		if err != nil {
			return nil, err
		}
		r.ConnectionInfo = ci
	}
	return r, nil
}

// CreateAttachment reserves a volume for a server (attachments API).
// With a connector the attachment is attaching and has connection_info.
func (s *Service) CreateAttachment(ctx context.Context, volumeID, serverID string, connector map[string]any, mode string) (*AttachmentResult, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if mode == "" {
		mode = "rw"
	}
	if mode != "rw" && mode != "ro" {
		return nil, badRequest("Invalid input received: Invalid attach mode %s.", mode)
	}
	var res *AttachmentResult
	err = s.st.Write(ctx, func(tx store.Tx) error {
		v, err := getWritableVolume(tx, c, volumeID)
		if err != nil {
			return err
		}
		if err := s.attachable(v); err != nil {
			return err
		}
		if v.ReadOnly {
			mode = "ro"
		}
		a := Attachment{ID: newID(), VolumeID: v.ID, ServerID: serverID, AttachMode: mode, Status: AttachStatusReserved}
		if connector != nil {
			a.Status, a.Connector = AttachStatusAttaching, connector
			a.HostName, _ = connector["host"].(string)
			a.Device, _ = connector["mountpoint"].(string)
		}
		v.Attachments = append(v.Attachments, a)
		rollUp(v)
		if err := s.putVolume(tx, v); err != nil {
			return err
		}
		res, err = s.result(v, len(v.Attachments)-1)
		return err
	})
	return res, err
}

// UpdateAttachment gives an attachment its connector and returns the
// connection info.
func (s *Service) UpdateAttachment(ctx context.Context, id string, connector map[string]any) (*AttachmentResult, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if connector == nil {
		return nil, badRequest("Invalid input received: connector is required.")
	}
	var res *AttachmentResult
	err = s.st.Write(ctx, func(tx store.Tx) error {
		v, i, err := volumeOfAttachment(tx, c, id)
		if err != nil {
			return err
		}
		a := &v.Attachments[i]
		a.Connector = connector
		a.HostName, _ = connector["host"].(string)
		if mp, ok := connector["mountpoint"].(string); ok {
			a.Device = mp // Cinder's attach_mountpoint
		}
		if a.Status == AttachStatusReserved {
			a.Status = AttachStatusAttaching
		}
		rollUp(v)
		if err := s.putVolume(tx, v); err != nil {
			return err
		}
		res, err = s.result(v, i)
		return err
	})
	return res, err
}

// CompleteAttachment marks an attachment attached (os-complete, 3.44).
func (s *Service) CompleteAttachment(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		v, i, err := volumeOfAttachment(tx, c, id)
		if err != nil {
			return err
		}
		now := s.now()
		a := &v.Attachments[i]
		a.Status, a.AttachedAt = AttachStatusAttached, &now
		rollUp(v)
		return s.putVolume(tx, v)
	})
}

// DeleteAttachment removes an attachment; the volume becomes available
// when it was the last.
func (s *Service) DeleteAttachment(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		v, i, err := volumeOfAttachment(tx, c, id)
		if err != nil {
			return err
		}
		v.Attachments = slices.Delete(v.Attachments, i, i+1)
		rollUp(v)
		return s.putVolume(tx, v)
	})
}

// GetAttachment returns one attachment.
func (s *Service) GetAttachment(ctx context.Context, id string) (*AttachmentResult, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var res *AttachmentResult
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		vid, err := tx.Lookup(KindVolume, attKey(id))
		if errors.Is(err, store.ErrNotFound) {
			return fault.New(fault.NotFound, "VolumeAttachment %s could not be found.", id)
		}
		if err != nil {
			return err
		}
		v, err := getVolume(tx, c, vid)
		if err != nil {
			return fault.New(fault.NotFound, "VolumeAttachment %s could not be found.", id)
		}
		res, err = s.result(v, findAttachment(v, id))
		return err
	})
	return res, err
}

// ListAttachments returns the attachments of the caller's project (every
// project for readers with all).
func (s *Service) ListAttachments(ctx context.Context, all bool) ([]AttachmentResult, error) {
	vols, err := s.List(ctx, ListOptions{AllProjects: all})
	if err != nil {
		return nil, err
	}
	var out []AttachmentResult
	for i := range vols {
		for j := range vols[i].Attachments {
			r, err := s.result(&vols[i], j)
			if err != nil {
				r = &AttachmentResult{Attachment: vols[i].Attachments[j], ProjectID: vols[i].ProjectID}
			}
			out = append(out, *r)
		}
	}
	return out, nil
}

// Reserve is os-reserve: the volume goes attaching with a reserved
// attachment that os-attach completes.
func (s *Service) Reserve(ctx context.Context, id string) error {
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if err := s.attachable(v); err != nil {
			return err
		}
		v.Attachments = append(v.Attachments, Attachment{ID: newID(), VolumeID: v.ID, AttachMode: "rw", Status: AttachStatusAttaching})
		rollUp(v)
		return nil
	})
	return err
}

// Unreserve is os-unreserve: drops attachments not yet attached.
func (s *Service) Unreserve(ctx context.Context, id string) error {
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		v.Attachments = slices.DeleteFunc(v.Attachments, func(a Attachment) bool {
			return a.Status == AttachStatusAttaching || a.Status == AttachStatusReserved
		})
		if v.Status == StatusAttaching || v.Status == StatusReserved || v.Status == StatusInUse {
			rollUp(v)
		}
		return nil
	})
	return err
}

// InitializeConnection is os-initialize_connection: it returns the
// connection info and changes nothing.
func (s *Service) InitializeConnection(ctx context.Context, id string, connector map[string]any) (map[string]any, error) {
	v, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if connector == nil {
		return nil, badRequest("Invalid input received: Must specify 'connector'.")
	}
	mode := "rw"
	if v.ReadOnly {
		mode = "ro"
	}
	return s.connectionInfo(v, &Attachment{AttachMode: mode})
}

// Attach is os-attach: records the server (or host) and mountpoint and
// makes the volume in-use.
func (s *Service) Attach(ctx context.Context, id, serverID, hostName, mountpoint, mode string) error {
	if serverID == "" && hostName == "" {
		return badRequest("Invalid request to attach volume to an invalid target")
	}
	if mode == "" {
		mode = "rw"
	}
	if mode != "rw" && mode != "ro" {
		return badRequest("Invalid request to attach volume with an invalid mode. Attaching mode should be 'rw' or 'ro'")
	}
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if v.ReadOnly && mode == "rw" {
			return invalidVolume("Volume %s is read-only; attach it with mode 'ro'.", id)
		}
		i := slices.IndexFunc(v.Attachments, func(a Attachment) bool {
			return a.Status == AttachStatusAttaching || a.Status == AttachStatusReserved
		})
		if i < 0 {
			if err := s.attachable(v); err != nil {
				return err
			}
			v.Attachments = append(v.Attachments, Attachment{ID: newID(), VolumeID: v.ID})
			i = len(v.Attachments) - 1
		}
		now := s.now()
		a := &v.Attachments[i]
		a.ServerID, a.HostName, a.Device, a.AttachMode = serverID, hostName, mountpoint, mode
		a.Status, a.AttachedAt = AttachStatusAttached, &now
		rollUp(v)
		return nil
	})
	return err
}

// BeginDetaching is os-begin_detaching: in-use → detaching.
func (s *Service) BeginDetaching(ctx context.Context, id string) error {
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if v.Status != StatusInUse || v.AttachStatus != AttachStatusAttached {
			return invalidVolume("Volume %s status must be in-use and attach_status must be attached to detach.", id)
		}
		v.Status = StatusDetaching
		return nil
	})
	return err
}

// RollDetaching is os-roll_detaching: detaching → in-use.
func (s *Service) RollDetaching(ctx context.Context, id string) error {
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if v.Status == StatusDetaching {
			rollUp(v)
		}
		return nil
	})
	return err
}

// Detach is os-detach (and, with force, os-force_detach): removes the
// attachment (the only one when attachmentID is empty).
func (s *Service) Detach(ctx context.Context, id, attachmentID string, force bool) error {
	if force {
		if _, err := requireAdmin(ctx); err != nil {
			return err
		}
	}
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if len(v.Attachments) == 0 {
			// Detaching what is already detached succeeds, as in Cinder
			// (Nova and Tempest clean-ups repeat it).
			if v.Status == StatusDetaching || v.Status == StatusInUse || force {
				rollUp(v)
			}
			return nil
		}
		i := 0
		if attachmentID != "" {
			if i = findAttachment(v, attachmentID); i < 0 {
				return fault.New(fault.NotFound, "VolumeAttachment %s could not be found.", attachmentID)
			}
		} else if len(v.Attachments) > 1 {
			return invalidVolume("Volume %s is attached more than once; name the attachment_id to detach.", id)
		}
		v.Attachments = slices.Delete(v.Attachments, i, i+1)
		rollUp(v)
		return nil
	})
	return err
}
