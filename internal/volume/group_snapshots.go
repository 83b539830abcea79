package volume

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// KindGroupSnapshot is the record kind of group snapshots.
const KindGroupSnapshot = "volume.group_snapshot"

// GroupSnapshot is a snapshot of every volume of a group, taken together
// (3.14). It is creating until all its snapshots are made (the
// reconciler sets it available or error) and deleting until they are gone
// (then the record goes).
type GroupSnapshot struct {
	ID          string    `json:"id"`
	GroupID     string    `json:"group_id"`
	GroupTypeID string    `json:"group_type_id"`
	ProjectID   string    `json:"project_id"`
	UserID      string    `json:"user_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func groupSnapshotRecord(gs *GroupSnapshot) store.Record {
	return store.Record{Kind: KindGroupSnapshot, ID: gs.ID, Ref: gs.ProjectID, Value: gs}
}

func getGroupSnapshot(tx store.ReadTx, c *policy.Credentials, id string) (*GroupSnapshot, error) {
	gs, err := store.Get[GroupSnapshot](tx, KindGroupSnapshot, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c != nil && !canSee(c, gs.ProjectID) {
		return nil, fault.New(fault.NotFound, "GroupSnapshot %s could not be found.", id)
	}
	return gs, err
}

func groupSnapshotMembers(tx store.ReadTx, gs *GroupSnapshot) ([]Snapshot, error) {
	snaps, err := store.List[Snapshot](tx, KindSnapshot, store.ListOptions{Ref: gs.ProjectID})
	return slices.DeleteFunc(snaps, func(sn Snapshot) bool { return sn.GroupSnapshotID != gs.ID }), err
}

// CreateGroupSnapshot snapshots every volume of an available group.
func (s *Service) CreateGroupSnapshot(ctx context.Context, groupID, name, description string) (*GroupSnapshot, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if len(name) > 255 || len(description) > 255 {
		return nil, badRequest("Invalid input received: name and description must be at most 255 characters.")
	}
	var gs *GroupSnapshot
	err = s.st.Write(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, groupID)
		if err != nil {
			return err
		}
		if !canWrite(c, g.ProjectID) {
			return forbidden()
		}
		if g.Status != GroupAvailable {
			return badRequest("Invalid group: Group %s status must be available, but current status is: %s.", g.ID, g.Status)
		}
		vols, err := groupVolumes(tx, g)
		if err != nil {
			return err
		}
		now := s.now()
		gs = &GroupSnapshot{ID: newID(), GroupID: g.ID, GroupTypeID: g.GroupTypeID, ProjectID: g.ProjectID, UserID: c.UserID,
			Name: name, Description: description, Status: GroupCreating, CreatedAt: now, UpdatedAt: now}
		if len(vols) == 0 {
			gs.Status = GroupAvailable
		}
		delta := map[string]int64{}
		for _, v := range vols {
			if v.Status != StatusAvailable && v.Status != StatusInUse {
				return invalidVolume("Volume %s in group %s is %s; it must be available or in-use.", v.ID, g.ID, v.Status)
			}
			delta["snapshots"]++
			delta["gigabytes"] += v.Size
			if t, err := getType(tx, nil, v.TypeID); err == nil {
				delta["snapshots_"+t.Name]++
				delta["gigabytes_"+t.Name] += v.Size
			}
		}
		if err := checkQuota(tx, g.ProjectID, delta); err != nil {
			return err
		}
		for _, v := range vols {
			sn := &Snapshot{ID: newID(), VolumeID: v.ID, ProjectID: v.ProjectID, UserID: c.UserID,
				Name: "snapshot-" + gs.ID, Size: v.Size, Status: StatusCreating, Progress: "0%", TypeID: v.TypeID,
				GroupSnapshotID: gs.ID, Pending: OpCreate, Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(snapshotRecord(sn)); err != nil {
				return err
			}
		}
		return tx.Create(groupSnapshotRecord(gs))
	})
	return gs, err
}

// GetGroupSnapshot returns a group snapshot the caller may see.
func (s *Service) GetGroupSnapshot(ctx context.Context, id string) (*GroupSnapshot, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var gs *GroupSnapshot
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		gs, err = getGroupSnapshot(tx, c, id)
		return err
	})
	return gs, err
}

// ListGroupSnapshots returns the caller's project's group snapshots
// (every project's for an admin asking for all), newest first.
func (s *Service) ListGroupSnapshots(ctx context.Context, all bool) ([]GroupSnapshot, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	ref := c.ProjectID
	if all && c.IsReader() {
		ref = ""
	}
	var out []GroupSnapshot
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[GroupSnapshot](tx, KindGroupSnapshot, store.ListOptions{Ref: ref})
		return err
	})
	slices.SortStableFunc(out, func(a, b GroupSnapshot) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, err
}

// DeleteGroupSnapshot marks an available or error group snapshot and its
// snapshots deleting; the record goes with its last snapshot.
func (s *Service) DeleteGroupSnapshot(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		gs, err := getGroupSnapshot(tx, c, id)
		if err != nil {
			return err
		}
		if !canWrite(c, gs.ProjectID) {
			return forbidden()
		}
		if gs.Status != GroupAvailable && gs.Status != GroupError {
			return badRequest("Invalid group snapshot: Group snapshot status must be available or error, but current status is: %s.", gs.Status)
		}
		snaps, err := groupSnapshotMembers(tx, gs)
		if err != nil {
			return err
		}
		if len(snaps) == 0 {
			return tx.Delete(KindGroupSnapshot, gs.ID)
		}
		vols, err := store.List[Volume](tx, KindVolume, store.ListOptions{Ref: gs.ProjectID})
		if err != nil {
			return err
		}
		for _, sn := range snaps {
			for _, v := range vols {
				if v.SnapshotID == sn.ID && v.Status == StatusCreating {
					return badRequest("Invalid group snapshot: Volume %s is being created from snapshot %s.", v.ID, sn.ID)
				}
			}
		}
		now := s.now()
		for _, sn := range snaps {
			sn.Status, sn.Pending, sn.UpdatedAt = StatusDeleting, OpDelete, now
			if err := tx.Update(snapshotRecord(&sn)); err != nil {
				return err
			}
		}
		gs.Status, gs.UpdatedAt = GroupDeleting, now
		return tx.Update(groupSnapshotRecord(gs))
	})
}

// ResetGroupSnapshotStatus overwrites a group snapshot's status (admin, 3.19).
func (s *Service) ResetGroupSnapshotStatus(ctx context.Context, id, status string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if !slices.Contains([]string{GroupCreating, GroupAvailable, GroupError, GroupDeleting}, status) {
		return badRequest("Invalid input received: Group snapshot status %s is not valid.", status)
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		gs, err := getGroupSnapshot(tx, nil, id)
		if err != nil {
			return err
		}
		gs.Status, gs.UpdatedAt = status, s.now()
		return tx.Update(groupSnapshotRecord(gs))
	})
}

// settleGroupSnapshot runs in the transaction that finished work on a
// member snapshot: a creating group snapshot whose snapshots are all done
// becomes available (error if one failed); a deleting one with no
// snapshots left goes.
func (s *Service) settleGroupSnapshot(tx store.Tx, id string) error {
	gs, err := getGroupSnapshot(tx, nil, id)
	if errors.Is(err, store.ErrNotFound) || fault.As(err) != nil {
		return nil
	}
	if err != nil {
		return err
	}
	snaps, err := groupSnapshotMembers(tx, gs)
	if err != nil {
		return err
	}
	switch gs.Status {
	case GroupDeleting:
		if len(snaps) == 0 {
			return tx.Delete(KindGroupSnapshot, gs.ID)
		}
	case GroupCreating:
		status := GroupAvailable
		for _, sn := range snaps {
			switch sn.Status {
			case StatusCreating:
				return nil
			case StatusError:
				status = GroupError
			}
		}
		gs.Status, gs.UpdatedAt = status, s.now()
		return tx.Update(groupSnapshotRecord(gs))
	}
	return nil
}
