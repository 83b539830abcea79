package volume

import (
	"context"
	"slices"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Extend grows a volume to size GiB. An available volume goes extending
// and the Reconciler grows its data; an in-use one (allowed when
// online is set: microversion 3.42) takes the new size at once and is
// flagged ResizePending for the host agent, which grows it live.
func (s *Service) Extend(ctx context.Context, id string, size int64, online bool) (*Volume, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var v *Volume
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if v, err = getWritableVolume(tx, c, id); err != nil {
			return err
		}
		inUse := v.Status == StatusInUse && online
		if v.Status != StatusAvailable && !inUse {
			return invalidVolume("Volume status must be 'available' or 'in-use' to extend, but current status is: %s.", v.Status)
		}
		if size <= v.Size {
			return badRequest("Invalid input received: New size for extend must be greater than current size. (current: %d, extended: %d).", v.Size, size)
		}
		if err := checkNotFrozen(tx); err != nil {
			return err
		}
		if err := checkPerVolume(tx, v.ProjectID, size); err != nil {
			return err
		}
		delta := map[string]int64{"gigabytes": size - v.Size}
		if t, err := getType(tx, nil, v.TypeID); err == nil {
			delta["gigabytes_"+t.Name] = size - v.Size
		}
		if err := checkQuota(tx, v.ProjectID, delta); err != nil {
			return err
		}
		if inUse {
			v.Size, v.ResizePending = size, true
		} else {
			v.Status, v.Pending = StatusExtending, &Work{Op: OpExtend, Size: size, Then: v.Status}
		}
		return s.putVolume(tx, v)
	})
	return v, err
}

// SetBootable sets the bootable flag.
func (s *Service) SetBootable(ctx context.Context, id string, bootable bool) error {
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		v.Bootable = bootable
		return nil
	})
	return err
}

// SetReadOnly sets the read-only flag (the attach mode of new attachments).
func (s *Service) SetReadOnly(ctx context.Context, id string, ro bool) error {
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if v.Status != StatusAvailable && v.Status != StatusInUse {
			return invalidVolume("Volume status must be available or in-use to update readonly flag, but current status is: %s.", v.Status)
		}
		v.ReadOnly = ro
		// Cinder shows the flag in the volume's metadata too.
		if v.Metadata == nil {
			v.Metadata = map[string]string{}
		}
		v.Metadata["readonly"] = map[bool]string{true: "True", false: "False"}[ro]
		return nil
	})
	return err
}

// ResetStatus overwrites a volume's status fields (admin) and drops any
// pending backend work: the admin asserts the state.
func (s *Service) ResetStatus(ctx context.Context, id, status, attachStatus string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if status != "" && !slices.Contains(ValidStatuses, status) {
		return badRequest("Invalid input received: Must specify a valid status")
	}
	if attachStatus != "" && attachStatus != AttachStatusAttached && attachStatus != AttachStatusDetached {
		return badRequest("Invalid input received: Must specify a valid attach status")
	}
	if status == "" && attachStatus == "" {
		return badRequest("Invalid input received: Must specify 'status', 'attach_status' or 'migration_status' for update.")
	}
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if status != "" {
			v.Status = status
			v.Pending = nil
		}
		if attachStatus != "" {
			v.AttachStatus = attachStatus
			if attachStatus == AttachStatusDetached {
				v.Attachments = nil
			}
		}
		return nil
	})
	return err
}

// Retype moves a volume to another type. The file backend stores every
// type alike, so no data moves: the change is one transaction.
func (s *Service) Retype(ctx context.Context, id, newType string) (*Volume, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var v *Volume
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if v, err = getWritableVolume(tx, c, id); err != nil {
			return err
		}
		if v.Status != StatusAvailable && v.Status != StatusInUse {
			return invalidVolume("Volume status must be available or in-use to retype, but current status is: %s.", v.Status)
		}
		t, err := findType(tx, c, newType)
		if err != nil {
			return err
		}
		if t.ID == v.TypeID {
			return badRequest("Invalid input received: Retype requires a different volume type.")
		}
		if len(v.Attachments) > 1 && !t.Multiattach() {
			return badRequest("Invalid input received: Volume is attached more than once; the new type must allow multiattach.")
		}
		if err := checkQuota(tx, v.ProjectID, map[string]int64{"volumes_" + t.Name: 1, "gigabytes_" + t.Name: v.Size}); err != nil {
			return err
		}
		v.TypeID, v.Multiattach = t.ID, t.Multiattach()
		return s.putVolume(tx, v)
	})
	return v, err
}

// UploadRequest is os-volume_upload_image.
type UploadRequest struct {
	ImageName, DiskFormat, ContainerFormat, Visibility string
	Protected, Force                                   bool
}

// UploadImage creates a queued image and marks the volume uploading; the
// Reconciler copies the data into the image and restores the status.
func (s *Service) UploadImage(ctx context.Context, id string, req UploadRequest) (*Volume, string, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, "", err
	}
	if s.images == nil {
		return nil, "", fault.New(fault.BadRequest, "Image service is not available.")
	}
	if req.DiskFormat == "" {
		req.DiskFormat = "raw"
	}
	if req.DiskFormat != "raw" && req.DiskFormat != "qcow2" {
		return nil, "", badRequest("Invalid input received: Invalid disk-format '%s' is specified. Allowed disk-formats are raw, qcow2.", req.DiskFormat)
	}
	if req.ContainerFormat == "" {
		req.ContainerFormat = "bare"
	}
	if req.ContainerFormat != "bare" {
		return nil, "", badRequest("Invalid input received: Invalid container format '%s' is specified. Allowed container format is bare.", req.ContainerFormat)
	}
	check := func(v *Volume) error {
		if v.Status == StatusAvailable || v.Status == StatusInUse && req.Force {
			return nil
		}
		return invalidVolume("Volume %s status must be available or in-use (with force), but current status is: %s.", v.ID, v.Status)
	}
	var v *Volume
	if err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		if v, err = getWritableVolume(tx, c, id); err != nil {
			return err
		}
		return check(v)
	}); err != nil {
		return nil, "", err
	}
	attrs := map[string]any{"name": req.ImageName, "disk_format": req.DiskFormat, "container_format": req.ContainerFormat}
	if req.Visibility != "" {
		attrs["visibility"] = req.Visibility
	}
	if req.Protected {
		attrs["protected"] = true
	}
	if v.Bootable {
		for k, val := range v.ImageMetadata {
			switch k {
			case "image_id", "image_name", "disk_format", "container_format", "checksum", "size", "min_disk", "min_ram":
			default:
				attrs[k] = val
			}
		}
	}
	im, err := s.images.Create(ctx, attrs)
	if err != nil {
		return nil, "", err
	}
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if v, err = getWritableVolume(tx, c, id); err != nil {
			return err
		}
		if err := check(v); err != nil {
			return err
		}
		v.Pending = &Work{Op: OpUpload, ImageID: im.ID, DiskFormat: req.DiskFormat, Then: v.Status}
		v.Status = StatusUploading
		return s.putVolume(tx, v)
	})
	if err != nil {
		return nil, "", err
	}
	return v, im.ID, nil
}
