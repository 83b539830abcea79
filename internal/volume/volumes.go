package volume

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// CreateRequest is a volume to create. At most one source (SnapshotID,
// SourceVolID, ImageID, BackupID) is set.
type CreateRequest struct {
	Name, Description string
	// Size in GiB; 0 takes the source's size.
	Size             int64
	Type             string
	AvailabilityZone string
	SnapshotID       string
	SourceVolID      string
	ImageID          string
	BackupID         string
	Metadata         map[string]string
	Multiattach      bool
	// Format is the backend format ("" = the driver's default).
	Format string
	// GroupID puts the volume in a group (3.13): the group must be
	// available and allow the volume's type.
	GroupID string
}

// Create validates req, checks quota and writes the volume as creating
// (downloading for an image) in one transaction; the Reconciler makes it.
func (s *Service) Create(ctx context.Context, req CreateRequest) (*Volume, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if c.ProjectID == "" || !canWrite(c, c.ProjectID) {
		return nil, forbidden()
	}
	if req.Size < 0 {
		return nil, badRequest("Invalid input received: Volume size '%d' must be an integer and greater than 0.", req.Size)
	}
	sources := 0
	for _, src := range []string{req.SnapshotID, req.SourceVolID, req.ImageID, req.BackupID} {
		if src != "" {
			sources++
		}
	}
	if sources > 1 {
		return nil, badRequest("Invalid input received: Only one of snapshot_id, source_volid, imageRef or backup_id may be given.")
	}
	if req.Size == 0 && req.SnapshotID == "" && req.SourceVolID == "" && req.BackupID == "" {
		return nil, badRequest("Invalid input received: Volume size '%d' must be an integer and greater than 0.", req.Size)
	}
	if req.AvailabilityZone != "" && req.AvailabilityZone != s.cfg.AvailabilityZone {
		return nil, badRequest("Invalid input received: Availability zone '%s' is invalid.", req.AvailabilityZone)
	}
	if req.Format != "" && req.Format != "qcow2" && req.Format != "raw" {
		return nil, badRequest("Invalid input received: Volume format '%s' is not qcow2 or raw.", req.Format)
	}
	if err := checkMetadata(req.Metadata); err != nil {
		return nil, err
	}
	now := s.now()
	v := &Volume{ID: newID(), ProjectID: c.ProjectID, UserID: c.UserID, Name: req.Name, Description: req.Description,
		Size: req.Size, Status: StatusCreating, AttachStatus: AttachStatusDetached, AvailabilityZone: s.cfg.AvailabilityZone,
		Metadata: cloneMap(req.Metadata), SnapshotID: req.SnapshotID, SourceVolID: req.SourceVolID, ImageID: req.ImageID,
		Format: req.Format, CreatedAt: now, UpdatedAt: now}
	work := &Work{Op: OpCreate, RequestID: logkey.RequestIDFrom(ctx)}

	// The image is checked with the caller's credentials, outside the
	// transaction (the Image service has its own).
	if req.ImageID != "" {
		if s.images == nil {
			return nil, badRequest("Invalid input received: Image service is not available.")
		}
		im, err := s.images.Get(ctx, req.ImageID)
		if err != nil {
			return nil, badRequest("Invalid image identifier or unable to access requested image.")
		}
		if im.Status != "active" {
			return nil, badRequest("Invalid image identifier or unable to access requested image. Image %s is not active.", im.ID)
		}
		minGiB := im.MinDisk
		if im.Size != nil {
			minGiB = max(minGiB, ceilGiB(*im.Size))
		}
		if im.VirtualSize != nil {
			minGiB = max(minGiB, ceilGiB(*im.VirtualSize))
		}
		if v.Size < minGiB {
			return nil, badRequest("Invalid input received: Size of specified image %d GB is larger than volume size %d GB.", minGiB, v.Size)
		}
		v.Status, v.Bootable = StatusDownloading, true
		work.ImageID, work.DiskFormat = im.ID, im.DiskFormat
		v.ImageMetadata = imageMetadata(im.ID, im.Name, im.DiskFormat, im.ContainerFormat, im.MinDisk, im.MinRAM, im.Size, im.Checksum, im.Properties)
	}
	err = s.st.Write(ctx, func(tx store.Tx) error {
		var t *Type
		switch {
		case req.SnapshotID != "":
			sn, err := store.Get[Snapshot](tx, KindSnapshot, req.SnapshotID)
			if errors.Is(err, store.ErrNotFound) || err == nil && !canSee(c, sn.ProjectID) {
				return notFound("Snapshot", req.SnapshotID)
			}
			if err != nil {
				return err
			}
			if sn.Status != StatusAvailable {
				return badRequest("Invalid snapshot: Originating snapshot status must be one of 'available' values")
			}
			if v.Size == 0 {
				v.Size = sn.Size
			}
			if v.Size < sn.Size {
				return badRequest("Invalid input received: Volume size '%d'GB cannot be smaller than the snapshot size %dGB. They must be >= original snapshot size.", v.Size, sn.Size)
			}
			src, err := store.Get[Volume](tx, KindVolume, sn.VolumeID)
			if err == nil {
				v.Bootable, v.ImageMetadata = src.Bootable, cloneMap(src.ImageMetadata)
				if v.Format == "" {
					v.Format = src.Format
				}
			}
			if req.Type == "" {
				t, _ = getType(tx, nil, sn.TypeID)
			}
		case req.SourceVolID != "":
			src, err := getVolume(tx, c, req.SourceVolID)
			if err != nil {
				return err
			}
			if src.Status != StatusAvailable && src.Status != StatusInUse {
				return invalidVolume("Unable to clone volumes that are in %s state.", src.Status)
			}
			if v.Size == 0 {
				v.Size = src.Size
			}
			if v.Size < src.Size {
				return badRequest("Invalid input received: Volume size '%d'GB cannot be smaller than original volume size %dGB. They must be >= original volume size.", v.Size, src.Size)
			}
			v.Bootable, v.ImageMetadata = src.Bootable, cloneMap(src.ImageMetadata)
			if v.Format == "" {
				v.Format = src.Format
			}
			if req.Type == "" {
				t, _ = getType(tx, nil, src.TypeID)
			}
		case req.BackupID != "":
			b, err := store.Get[Backup](tx, KindBackup, req.BackupID)
			if errors.Is(err, store.ErrNotFound) || err == nil && !canSee(c, b.ProjectID) {
				return notFound("Backup", req.BackupID)
			}
			if err != nil {
				return err
			}
			if b.Status != BackupAvailable {
				return badRequest("Invalid backup: Backup status must be available")
			}
			if v.Size == 0 {
				v.Size = b.Size
			}
			if v.Size < b.Size {
				return badRequest("Invalid input received: Volume size %dGB cannot be smaller than the backup size %dGB.", v.Size, b.Size)
			}
			work.Op, work.BackupID = OpRestore, b.ID
			v.Status = StatusRestoring
			b.Status, b.RestoreTo, b.UpdatedAt = BackupRestoring, v.ID, now
			if err := tx.Update(backupRecord(b)); err != nil {
				return err
			}
		}
		if t == nil {
			var err error
			if t, err = findType(tx, c, req.Type); err != nil {
				return err
			}
		}
		v.TypeID = t.ID
		v.Multiattach = t.Multiattach()
		if req.GroupID != "" {
			g, err := getGroup(tx, c, req.GroupID)
			if err != nil {
				return err
			}
			if g.Status != GroupAvailable {
				return badRequest("Invalid group: Group %s status must be available, but current status is: %s.", g.ID, g.Status)
			}
			if !slices.Contains(g.VolumeTypes, t.ID) {
				return badRequest("Invalid input received: Volume type %s is not supported by group %s.", t.ID, g.ID)
			}
			v.GroupID = g.ID
		}
		if req.Multiattach && !v.Multiattach {
			return badRequest("Invalid input received: multiattach is only allowed with a volume type whose extra spec multiattach is '<is> True'.")
		}
		if err := checkPerVolume(tx, v.ProjectID, v.Size); err != nil {
			return err
		}
		if err := checkQuota(tx, v.ProjectID, volumeDelta(t.Name, v.Size)); err != nil {
			return err
		}
		work.Size = v.Size
		v.Pending = work
		return tx.Create(volumeRecord(v))
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// ceilGiB rounds bytes up to GiB.
func ceilGiB(b int64) int64 { return (b + 1<<30 - 1) >> 30 }

func imageMetadata(id string, name *string, disk, container string, minDisk, minRAM int64, size *int64, checksum string, props map[string]string) map[string]string {
	md := map[string]string{"image_id": id, "disk_format": disk, "container_format": container,
		"min_disk": itoa(minDisk), "min_ram": itoa(minRAM), "checksum": checksum}
	if name != nil {
		md["image_name"] = *name
	}
	if size != nil {
		md["size"] = itoa(*size)
	}
	for k, v := range props {
		md[k] = v
	}
	return md
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

func checkMetadata(md map[string]string) error {
	for k, v := range md {
		if k == "" {
			return badRequest("Invalid input received: Metadata property key blank.")
		}
		if len(k) > 255 {
			return badRequest("Invalid input received: Metadata property key greater than 255 characters.")
		}
		if len(v) > 255 {
			return badRequest("Invalid input received: Metadata property value greater than 255 characters.")
		}
	}
	return nil
}

// Get returns a volume the caller may see.
func (s *Service) Get(ctx context.Context, id string) (*Volume, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var v *Volume
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		v, err = getVolume(tx, c, id)
		return err
	})
	return v, err
}

// ListOptions filter and sort volumes.
type ListOptions struct {
	// AllProjects lists every project's volumes (admin); ProjectID then
	// narrows to one.
	AllProjects bool
	ProjectID   string
	// Filters are exact matches on name, status, availability_zone,
	// bootable, multiattach, volume_type, image_id (wire names);
	// unknown keys are ignored, as Cinder does for legacy filters.
	Filters  map[string]string
	Metadata map[string]string
	// Sort is a list of "key:dir" (default created_at:desc).
	Sort []string
	// Since/Until bound created_at or updated_at (3.60 filters).
	CreatedAfter, CreatedBefore, UpdatedAfter, UpdatedBefore *time.Time
}

// List returns the volumes the caller may see, filtered and sorted.
func (s *Service) List(ctx context.Context, o ListOptions) ([]Volume, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	ref := c.ProjectID
	if o.AllProjects && c.IsReader() {
		ref = o.ProjectID
	}
	if ref == "" && !(o.AllProjects && c.IsReader()) {
		return nil, nil
	}
	var all []Volume
	var typeNames map[string]string
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		if all, err = store.List[Volume](tx, KindVolume, store.ListOptions{Ref: ref}); err != nil {
			return err
		}
		typeNames, err = typeNameMap(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, v := range all {
		if matchVolume(&v, o, typeNames) {
			out = append(out, v)
		}
	}
	if err := sortBy(out, o.Sort, volumeKey); err != nil {
		return nil, err
	}
	return out, nil
}

func typeNameMap(tx store.ReadTx) (map[string]string, error) {
	types, err := store.List[Type](tx, KindType, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, t := range types {
		m[t.ID] = t.Name
	}
	return m, nil
}

// TypeName returns the name of type id ("" if gone).
func (s *Service) TypeName(ctx context.Context, id string) string {
	var name string
	s.st.Read(ctx, func(tx store.ReadTx) error { //nolint:errcheck // best effort, for views
		t, err := store.Get[Type](tx, KindType, id)
		if err == nil {
			name = t.Name
		}
		return nil
	})
	return name
}

// TypeNames returns every type's name by ID, for views.
func (s *Service) TypeNames(ctx context.Context) map[string]string {
	var m map[string]string
	s.st.Read(ctx, func(tx store.ReadTx) (err error) { //nolint:errcheck // best effort, for views
		m, err = typeNameMap(tx)
		return err
	})
	return m
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func matchVolume(v *Volume, o ListOptions, typeNames map[string]string) bool {
	for k, want := range o.Filters {
		var got string
		switch k {
		case "name", "display_name":
			got = v.Name
		case "status":
			got = v.Status
		case "availability_zone":
			got = v.AvailabilityZone
		case "bootable":
			got, want = boolString(v.Bootable), strings.ToLower(want)
			if want == "1" || want == "t" || want == "yes" || want == "on" {
				want = "true"
			}
		case "multiattach":
			got, want = boolString(v.Multiattach), strings.ToLower(want)
		case "volume_type":
			if want == v.TypeID {
				continue
			}
			got = typeNames[v.TypeID]
		case "image_id":
			got = v.ImageID
		case "attach_status":
			got = v.AttachStatus
		default:
			continue
		}
		if got != want {
			return false
		}
	}
	for k, want := range o.Metadata {
		if v.Metadata[k] != want {
			return false
		}
	}
	for _, b := range []struct {
		t      *time.Time
		at     time.Time
		before bool
	}{{o.CreatedAfter, v.CreatedAt, false}, {o.CreatedBefore, v.CreatedAt, true}, {o.UpdatedAfter, v.UpdatedAt, false}, {o.UpdatedBefore, v.UpdatedAt, true}} {
		if b.t == nil {
			continue
		}
		if b.before && !b.at.Before(*b.t) || !b.before && !b.at.After(*b.t) {
			return false
		}
	}
	return true
}

func volumeKey(v Volume, key string) (any, bool) {
	switch key {
	case "id":
		return v.ID, true
	case "name", "display_name":
		return v.Name, true
	case "status":
		return v.Status, true
	case "size":
		return v.Size, true
	case "created_at":
		return v.CreatedAt, true
	case "updated_at":
		return v.UpdatedAt, true
	case "availability_zone":
		return v.AvailabilityZone, true
	case "bootable":
		return boolString(v.Bootable), true
	case "volume_type", "volume_type_id":
		return v.TypeID, true
	case "project_id":
		return v.ProjectID, true
	case "user_id":
		return v.UserID, true
	case "description", "display_description":
		return v.Description, true
	}
	return nil, false
}

func compareAny(a, b any) int {
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case int64:
		return cmp.Compare(x, b.(int64))
	case time.Time:
		return x.Compare(b.(time.Time))
	}
	return 0
}

// sortBy sorts items by "key[:dir]" entries (default created_at desc), with
// the ID as last key so pages are stable.
func sortBy[T any](items []T, sort []string, key func(T, string) (any, bool)) error {
	type k struct {
		name string
		desc bool
	}
	var keys []k
	for _, s := range sort {
		name, dir, _ := strings.Cut(s, ":")
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		dir = strings.ToLower(strings.TrimSpace(dir))
		if dir != "" && dir != "asc" && dir != "desc" {
			return badRequest("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")
		}
		var zero T
		if _, ok := key(zero, name); !ok {
			return badRequest("Invalid input received: Invalid sort key %s", name)
		}
		keys = append(keys, k{name, dir != "asc"})
	}
	if len(keys) == 0 {
		keys = []k{{"created_at", true}}
	}
	keys = append(keys, k{"id", keys[len(keys)-1].desc})
	slices.SortStableFunc(items, func(a, b T) int {
		for _, kk := range keys {
			va, _ := key(a, kk.name)
			vb, _ := key(b, kk.name)
			if c := compareAny(va, vb); c != 0 {
				if kk.desc {
					return -c
				}
				return c
			}
		}
		return 0
	})
	return nil
}

// Update changes a volume's name, description and metadata.
func (s *Service) Update(ctx context.Context, id string, name, description *string, metadata map[string]string) (*Volume, error) {
	if err := checkMetadata(metadata); err != nil {
		return nil, err
	}
	return s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if name != nil {
			v.Name = *name
		}
		if description != nil {
			v.Description = *description
		}
		if metadata != nil {
			v.Metadata = cloneMap(metadata)
		}
		return nil
	})
}

// mutate applies fn to a volume the caller may change, in one transaction.
func (s *Service) mutate(ctx context.Context, id string, fn func(*policy.Credentials, *Volume) error) (*Volume, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var v *Volume
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if v, err = getWritableVolume(tx, c, id); err != nil {
			return err
		}
		if err := fn(c, v); err != nil {
			return err
		}
		return s.putVolume(tx, v)
	})
	return v, err
}

// Metadata returns a volume's metadata.
func (s *Service) Metadata(ctx context.Context, id string) (map[string]string, error) {
	v, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return v.Metadata, nil
}

// SetMetadata merges md into the volume's metadata, or replaces it all.
func (s *Service) SetMetadata(ctx context.Context, id string, md map[string]string, replace bool) (map[string]string, error) {
	if err := checkMetadata(md); err != nil {
		return nil, err
	}
	v, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if replace || v.Metadata == nil {
			v.Metadata = map[string]string{}
		}
		maps.Copy(v.Metadata, md)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v.Metadata, nil
}

// DeleteMetadata removes one key; 404 if absent.
func (s *Service) DeleteMetadata(ctx context.Context, id, key string) error {
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if _, ok := v.Metadata[key]; !ok {
			return fault.New(fault.NotFound, "Volume %s has no metadata with key %s.", id, key)
		}
		delete(v.Metadata, key)
		return nil
	})
	return err
}

// SetImageMetadata merges md into volume_image_metadata (os-set_image_metadata).
func (s *Service) SetImageMetadata(ctx context.Context, id string, md map[string]string) (map[string]string, error) {
	if err := checkMetadata(md); err != nil {
		return nil, err
	}
	v, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if v.ImageMetadata == nil {
			v.ImageMetadata = map[string]string{}
		}
		maps.Copy(v.ImageMetadata, md)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v.ImageMetadata, nil
}

// UnsetImageMetadata removes one key of volume_image_metadata; 404 if absent.
func (s *Service) UnsetImageMetadata(ctx context.Context, id, key string) error {
	_, err := s.mutate(ctx, id, func(_ *policy.Credentials, v *Volume) error {
		if _, ok := v.ImageMetadata[key]; !ok {
			return fault.New(fault.NotFound, "Glance metadata for volume %s with key %s could not be found.", id, key)
		}
		delete(v.ImageMetadata, key)
		return nil
	})
	return err
}

// deletable are the statuses a volume may be deleted from without force.
var deletable = []string{StatusAvailable, StatusError, StatusErrorRestoring, StatusErrorExtending, "error_managing"}

// Delete marks a volume deleting; the Reconciler removes its data and
// then the record. cascade deletes its snapshots too; force (admin) skips
// the status check (an attached volume is refused either way).
func (s *Service) Delete(ctx context.Context, id string, cascade, force bool) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	if force && !c.IsAdmin() {
		return forbidden()
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		v, err := getWritableVolume(tx, c, id)
		if err != nil {
			return err
		}
		if v.Status == StatusDeleting && force {
			return nil
		}
		if err := checkNotFrozen(tx); err != nil {
			return err
		}
		if v.AttachStatus == AttachStatusAttached || len(v.Attachments) > 0 {
			return invalidVolume("Volume %s is attached; detach it before deleting it.", id)
		}
		if !force && !slices.Contains(deletable, v.Status) {
			return invalidVolume("Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer.")
		}
		snaps, err := store.List[Snapshot](tx, KindSnapshot, store.ListOptions{Ref: v.ProjectID})
		if err != nil {
			return err
		}
		for _, sn := range snaps {
			if sn.VolumeID != id {
				continue
			}
			if !cascade {
				return invalidVolume("Volume %s still has %d dependent snapshots.", id, 1)
			}
			if sn.Status != StatusAvailable && sn.Status != StatusError && sn.Status != StatusDeleting {
				return invalidVolume("Snapshot %s of volume %s is %s; it must be available or error.", sn.ID, id, sn.Status)
			}
			sn.Status = StatusDeleting
			sn.UpdatedAt = s.now()
			if err := tx.Update(snapshotRecord(&sn)); err != nil {
				return err
			}
		}
		if err := dropTransfers(tx, v.ID); err != nil {
			return err
		}
		v.Status, v.Pending = StatusDeleting, &Work{Op: OpDelete, Cascade: cascade}
		return s.putVolume(tx, v)
	})
}
