package volume

import (
	"context"
	"errors"
	"slices"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

func backupRecord(b *Backup) store.Record {
	return store.Record{Kind: KindBackup, ID: b.ID, Ref: b.ProjectID, Value: b}
}

func backupKey(id string) string { return "backups/" + id + ".raw.gz" }

func getBackup(tx store.ReadTx, c *policy.Credentials, id string) (*Backup, error) {
	b, err := store.Get[Backup](tx, KindBackup, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !canSee(c, b.ProjectID) {
		return nil, notFound("Backup", id)
	}
	return b, err
}

// BackupRequest is a backup to make.
type BackupRequest struct {
	VolumeID, SnapshotID, Name, Description, Container string
	Incremental, Force                                 bool
	Metadata                                           map[string]string
}

// CreateBackup marks the volume backing-up and the backup creating; the
// Reconciler copies the volume, gzip-compressed, into the backup store.
func (s *Service) CreateBackup(ctx context.Context, req BackupRequest) (*Backup, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if s.backups == nil {
		return nil, fault.New(fault.BadRequest, "Invalid input received: Backup service is not available.")
	}
	if err := checkMetadata(req.Metadata); err != nil {
		return nil, err
	}
	var b *Backup
	err = s.st.Write(ctx, func(tx store.Tx) error {
		v, err := getWritableVolume(tx, c, req.VolumeID)
		if err != nil {
			return err
		}
		if v.Status != StatusAvailable && !(req.Force && v.Status == StatusInUse) {
			return invalidVolume("Volume to be backed up must be available or in-use, but the current status is \"%s\".", v.Status)
		}
		if req.SnapshotID != "" {
			sn, err := getSnapshot(tx, c, req.SnapshotID)
			if err != nil {
				return err
			}
			if sn.VolumeID != v.ID || sn.Status != StatusAvailable {
				return badRequest("Invalid snapshot: Snapshot %s must be available and of volume %s.", sn.ID, v.ID)
			}
		}
		if err := checkQuota(tx, v.ProjectID, map[string]int64{"backups": 1, "backup_gigabytes": v.Size}); err != nil {
			return err
		}
		now := s.now()
		container := req.Container
		if container == "" {
			container = "backups"
		}
		b = &Backup{ID: newID(), VolumeID: v.ID, SnapshotID: req.SnapshotID, ProjectID: v.ProjectID, UserID: c.UserID,
			Name: req.Name, Description: req.Description, Size: v.Size, Status: BackupCreating, Container: container,
			AvailabilityZone: v.AvailabilityZone, Metadata: cloneMap(req.Metadata), Then: v.Status,
			VolumeMetadata: cloneMap(v.Metadata),
			DataTimestamp:  now, CreatedAt: now, UpdatedAt: now}
		v.Status = StatusBackingUp
		if err := s.putVolume(tx, v); err != nil {
			return err
		}
		return tx.Create(backupRecord(b))
	})
	return b, err
}

// GetBackup returns a backup the caller may see.
func (s *Service) GetBackup(ctx context.Context, id string) (*Backup, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var b *Backup
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		b, err = getBackup(tx, c, id)
		return err
	})
	return b, err
}

// ListBackups returns the backups the caller may see.
func (s *Service) ListBackups(ctx context.Context, o ListOptions) ([]Backup, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	ref := c.ProjectID
	all := o.AllProjects && c.IsReader()
	if all {
		ref = o.ProjectID
	}
	if ref == "" && !all {
		return nil, nil
	}
	var items []Backup
	if err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		items, err = store.List[Backup](tx, KindBackup, store.ListOptions{Ref: ref})
		return err
	}); err != nil {
		return nil, err
	}
	items = slices.DeleteFunc(items, func(b Backup) bool {
		for k, want := range o.Filters {
			var got string
			switch k {
			case "name", "display_name":
				got = b.Name
			case "status":
				got = b.Status
			case "volume_id":
				got = b.VolumeID
			default:
				continue
			}
			if got != want {
				return true
			}
		}
		return false
	})
	err = sortBy(items, o.Sort, func(b Backup, key string) (any, bool) {
		switch key {
		case "id":
			return b.ID, true
		case "name":
			return b.Name, true
		case "status":
			return b.Status, true
		case "size":
			return b.Size, true
		case "created_at":
			return b.CreatedAt, true
		case "updated_at":
			return b.UpdatedAt, true
		case "volume_id":
			return b.VolumeID, true
		}
		return nil, false
	})
	return items, err
}

// UpdateBackup changes a backup's name and description (3.9).
func (s *Service) UpdateBackup(ctx context.Context, id string, name, description *string) (*Backup, error) {
	return s.mutateBackup(ctx, id, func(_ *policy.Credentials, b *Backup) error {
		if name != nil {
			b.Name = *name
		}
		if description != nil {
			b.Description = *description
		}
		return nil
	})
}

func (s *Service) mutateBackup(ctx context.Context, id string, fn func(*policy.Credentials, *Backup) error) (*Backup, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var b *Backup
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if b, err = getBackup(tx, c, id); err != nil {
			return err
		}
		if !canWrite(c, b.ProjectID) {
			return forbidden()
		}
		if err := fn(c, b); err != nil {
			return err
		}
		b.UpdatedAt = s.now()
		return tx.Update(backupRecord(b))
	})
	return b, err
}

// DeleteBackup marks a backup deleting (available or error; force, admin:
// any status).
func (s *Service) DeleteBackup(ctx context.Context, id string, force bool) error {
	_, err := s.mutateBackup(ctx, id, func(c *policy.Credentials, b *Backup) error {
		if force && !c.IsAdmin() {
			return forbidden()
		}
		if !force && b.Status != BackupAvailable && b.Status != BackupError && b.Status != BackupDeleting {
			return badRequest("Invalid backup: Backup status must be available or error")
		}
		b.Status = BackupDeleting
		return nil
	})
	return err
}

// ResetBackupStatus overwrites a backup's status (admin).
func (s *Service) ResetBackupStatus(ctx context.Context, id, status string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if status != BackupAvailable && status != BackupError {
		return badRequest("Invalid input received: Must specify a valid status")
	}
	_, err := s.mutateBackup(ctx, id, func(_ *policy.Credentials, b *Backup) error {
		b.Status = status
		return nil
	})
	return err
}

// RestoreBackup restores a backup into volumeID, or into a new volume
// (named name) when volumeID is empty. It returns the volume.
func (s *Service) RestoreBackup(ctx context.Context, id, volumeID, name string) (*Volume, *Backup, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.GetBackup(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if b.Status != BackupAvailable {
		return nil, nil, badRequest("Invalid backup: Backup status must be available")
	}
	if volumeID == "" {
		if name == "" {
			name = "restore_backup_" + id
		}
		v, err := s.Create(ctx, CreateRequest{Name: name, BackupID: id})
		if err != nil {
			return nil, nil, err
		}
		return v, b, nil
	}
	var v *Volume
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if v, err = getWritableVolume(tx, c, volumeID); err != nil {
			return err
		}
		if v.Status != StatusAvailable {
			return invalidVolume("Volume to be restored to must be available")
		}
		if v.Size < b.Size {
			return invalidVolume("volume size %d is too small to restore backup of size %d.", v.Size, b.Size)
		}
		cur, err := getBackup(tx, c, id)
		if err != nil {
			return err
		}
		if cur.Status != BackupAvailable {
			return badRequest("Invalid backup: Backup status must be available")
		}
		cur.Status, cur.RestoreTo, cur.UpdatedAt = BackupRestoring, v.ID, s.now()
		if err := tx.Update(backupRecord(cur)); err != nil {
			return err
		}
		v.Status, v.Pending = StatusRestoring, &Work{Op: OpRestore, BackupID: b.ID, Size: v.Size}
		return s.putVolume(tx, v)
	})
	if err != nil {
		return nil, nil, err
	}
	return v, b, nil
}
