package volume

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

func snapshotRecord(sn *Snapshot) store.Record {
	return store.Record{Kind: KindSnapshot, ID: sn.ID, Ref: sn.ProjectID, Value: sn}
}

func getSnapshot(tx store.ReadTx, c *policy.Credentials, id string) (*Snapshot, error) {
	sn, err := store.Get[Snapshot](tx, KindSnapshot, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !canSee(c, sn.ProjectID) {
		return nil, notFound("Snapshot", id)
	}
	return sn, err
}

// CreateSnapshot snapshots a volume: available, or in-use with force.
func (s *Service) CreateSnapshot(ctx context.Context, volumeID, name, description string, force bool, metadata map[string]string) (*Snapshot, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkMetadata(metadata); err != nil {
		return nil, err
	}
	var sn *Snapshot
	err = s.st.Write(ctx, func(tx store.Tx) error {
		v, err := getWritableVolume(tx, c, volumeID)
		if err != nil {
			return err
		}
		if v.Status != StatusAvailable && !(force && v.Status == StatusInUse) {
			return invalidVolume("Volume %s status must be available, but current status is: %s.", v.ID, v.Status)
		}
		if err := checkNotFrozen(tx); err != nil {
			return err
		}
		delta := map[string]int64{"snapshots": 1, "gigabytes": v.Size}
		if t, err := getType(tx, nil, v.TypeID); err == nil {
			delta["snapshots_"+t.Name], delta["gigabytes_"+t.Name] = 1, v.Size
		}
		if err := checkQuota(tx, v.ProjectID, delta); err != nil {
			return err
		}
		now := s.now()
		sn = &Snapshot{ID: newID(), VolumeID: v.ID, ProjectID: v.ProjectID, UserID: c.UserID, Name: name,
			Description: description, Size: v.Size, Status: StatusCreating, Progress: "0%", TypeID: v.TypeID, Pending: OpCreate,
			Metadata: cloneMap(metadata), CreatedAt: now, UpdatedAt: now}
		return tx.Create(snapshotRecord(sn))
	})
	return sn, err
}

// GetSnapshot returns a snapshot the caller may see.
func (s *Service) GetSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var sn *Snapshot
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		sn, err = getSnapshot(tx, c, id)
		return err
	})
	return sn, err
}

// ListSnapshots returns the snapshots the caller may see; filters are
// exact matches on name, status, volume_id.
func (s *Service) ListSnapshots(ctx context.Context, o ListOptions) ([]Snapshot, error) {
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
	var items []Snapshot
	if err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		items, err = store.List[Snapshot](tx, KindSnapshot, store.ListOptions{Ref: ref})
		return err
	}); err != nil {
		return nil, err
	}
	items = slices.DeleteFunc(items, func(sn Snapshot) bool {
		for k, want := range o.Filters {
			var got string
			switch k {
			case "name", "display_name":
				got = sn.Name
			case "status":
				got = sn.Status
			case "volume_id":
				got = sn.VolumeID
			default:
				continue
			}
			if got != want {
				return true
			}
		}
		for k, want := range o.Metadata {
			if sn.Metadata[k] != want {
				return true
			}
		}
		return false
	})
	err = sortBy(items, o.Sort, func(sn Snapshot, key string) (any, bool) {
		switch key {
		case "id":
			return sn.ID, true
		case "name", "display_name":
			return sn.Name, true
		case "status":
			return sn.Status, true
		case "size":
			return sn.Size, true
		case "created_at":
			return sn.CreatedAt, true
		case "updated_at":
			return sn.UpdatedAt, true
		case "volume_id":
			return sn.VolumeID, true
		}
		return nil, false
	})
	return items, err
}

func (s *Service) mutateSnapshot(ctx context.Context, id string, fn func(*policy.Credentials, *Snapshot) error) (*Snapshot, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var sn *Snapshot
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if sn, err = getSnapshot(tx, c, id); err != nil {
			return err
		}
		if !canWrite(c, sn.ProjectID) {
			return forbidden()
		}
		if err := fn(c, sn); err != nil {
			return err
		}
		sn.UpdatedAt = s.now()
		return tx.Update(snapshotRecord(sn))
	})
	return sn, err
}

// UpdateSnapshot changes a snapshot's name and description.
func (s *Service) UpdateSnapshot(ctx context.Context, id string, name, description *string) (*Snapshot, error) {
	return s.mutateSnapshot(ctx, id, func(_ *policy.Credentials, sn *Snapshot) error {
		if name != nil {
			sn.Name = *name
		}
		if description != nil {
			sn.Description = *description
		}
		return nil
	})
}

// DeleteSnapshot marks a snapshot deleting (available or error; any
// status with force, admin only).
func (s *Service) DeleteSnapshot(ctx context.Context, id string, force bool) error {
	_, err := s.mutateSnapshot(ctx, id, func(c *policy.Credentials, sn *Snapshot) error {
		if force && !c.IsAdmin() {
			return forbidden()
		}
		if !force && sn.Status != StatusAvailable && sn.Status != StatusError && sn.Status != StatusDeleting {
			return fault.New(fault.BadRequest, "Invalid snapshot: Volume Snapshot status must be available or error")
		}
		sn.Status, sn.Pending = StatusDeleting, OpDelete
		return nil
	})
	return err
}

// ResetSnapshotStatus overwrites a snapshot's status (admin).
func (s *Service) ResetSnapshotStatus(ctx context.Context, id, status string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	switch status {
	case StatusCreating, StatusAvailable, StatusDeleting, StatusError, StatusErrorDeleting:
	default:
		return badRequest("Invalid input received: Must specify a valid status")
	}
	_, err := s.mutateSnapshot(ctx, id, func(_ *policy.Credentials, sn *Snapshot) error {
		sn.Status, sn.Pending = status, ""
		return nil
	})
	return err
}

// UpdateSnapshotStatus is os-update_snapshot_status, which the snapshot's
// project (Nova, for assisted snapshots) may call: status creating,
// available or error, with a progress.
func (s *Service) UpdateSnapshotStatus(ctx context.Context, id, status, progress string) error {
	switch status {
	case StatusCreating, StatusAvailable, StatusError:
	default:
		return badRequest("Invalid input received: Must specify a valid status")
	}
	_, err := s.mutateSnapshot(ctx, id, func(_ *policy.Credentials, sn *Snapshot) error {
		sn.Status, sn.Pending = status, ""
		if progress != "" {
			sn.Progress = progress
		}
		return nil
	})
	return err
}

// SetSnapshotMetadata merges md into (or with replace, replaces) a
// snapshot's metadata.
func (s *Service) SetSnapshotMetadata(ctx context.Context, id string, md map[string]string, replace bool) (map[string]string, error) {
	if err := checkMetadata(md); err != nil {
		return nil, err
	}
	sn, err := s.mutateSnapshot(ctx, id, func(_ *policy.Credentials, sn *Snapshot) error {
		if replace || sn.Metadata == nil {
			sn.Metadata = map[string]string{}
		}
		maps.Copy(sn.Metadata, md)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sn.Metadata, nil
}

// DeleteSnapshotMetadata removes one key; 404 if absent.
func (s *Service) DeleteSnapshotMetadata(ctx context.Context, id, key string) error {
	_, err := s.mutateSnapshot(ctx, id, func(_ *policy.Credentials, sn *Snapshot) error {
		if _, ok := sn.Metadata[key]; !ok {
			return fault.New(fault.NotFound, "Snapshot %s has no metadata with key %s.", id, key)
		}
		delete(sn.Metadata, key)
		return nil
	})
	return err
}
