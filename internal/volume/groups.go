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

// KindGroup is the record kind of volume groups.
const KindGroup = "volume.group"

// Group statuses.
const (
	GroupCreating  = "creating"
	GroupAvailable = "available"
	GroupError     = "error"
	GroupDeleting  = "deleting"
)

// Group is a set of volumes managed together (3.13): snapshotted at once
// (group snapshots) and cloned at once.
type Group struct {
	ID               string   `json:"id"`
	ProjectID        string   `json:"project_id"`
	UserID           string   `json:"user_id"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	GroupTypeID      string   `json:"group_type_id"`
	VolumeTypes      []string `json:"volume_types"`
	Status           string   `json:"status"`
	AvailabilityZone string   `json:"availability_zone"`
	SourceGroupID    string   `json:"source_group_id,omitempty"`
	GroupSnapshotID  string   `json:"group_snapshot_id,omitempty"`
	// Volumes lists the member volumes (kept on the volumes; filled on read).
	Volumes   []string  `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// GroupRequest asks for a new group.
type GroupRequest struct {
	Name, Description, GroupType, AvailabilityZone string
	VolumeTypes                                    []string
}

func groupRecord(g *Group) store.Record {
	return store.Record{Kind: KindGroup, ID: g.ID, Ref: g.ProjectID, Value: g}
}

func getGroup(tx store.ReadTx, c *policy.Credentials, id string) (*Group, error) {
	g, err := store.Get[Group](tx, KindGroup, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !canSee(c, g.ProjectID) {
		return nil, fault.New(fault.NotFound, "Group %s could not be found.", id)
	}
	return g, err
}

func groupVolumes(tx store.ReadTx, g *Group) ([]Volume, error) {
	vols, err := store.List[Volume](tx, KindVolume, store.ListOptions{Ref: g.ProjectID})
	return slices.DeleteFunc(vols, func(v Volume) bool { return v.GroupID != g.ID }), err
}

func fillGroupVolumes(tx store.ReadTx, g *Group) error {
	vols, err := groupVolumes(tx, g)
	g.Volumes = []string{}
	for _, v := range vols {
		g.Volumes = append(g.Volumes, v.ID)
	}
	return err
}

// newGroup validates the group type and volume types and checks the
// groups quota; the caller creates the record.
func (s *Service) newGroup(tx store.Tx, c *policy.Credentials, req GroupRequest) (*Group, error) {
	if len(req.Name) > 255 || len(req.Description) > 255 {
		return nil, badRequest("Invalid input received: name and description must be at most 255 characters.")
	}
	if req.AvailabilityZone != "" && req.AvailabilityZone != s.cfg.AvailabilityZone {
		return nil, badRequest("Invalid input received: Availability zone '%s' is invalid.", req.AvailabilityZone)
	}
	gt, err := getGroupType(tx, req.GroupType)
	if err != nil {
		return nil, err
	}
	if !gt.IsPublic && !c.IsAdmin() {
		return nil, fault.New(fault.NotFound, "Group type %s could not be found.", req.GroupType)
	}
	if len(req.VolumeTypes) == 0 {
		return nil, badRequest("Invalid input received: volume_types must be provided to create group.")
	}
	var typeIDs []string
	for _, ref := range req.VolumeTypes {
		t, err := findType(tx, c, ref)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(typeIDs, t.ID) {
			typeIDs = append(typeIDs, t.ID)
		}
	}
	if err := checkQuota(tx, c.ProjectID, map[string]int64{"groups": 1}); err != nil {
		return nil, err
	}
	now := s.now()
	return &Group{ID: newID(), ProjectID: c.ProjectID, UserID: c.UserID, Name: req.Name, Description: req.Description,
		GroupTypeID: gt.ID, VolumeTypes: typeIDs, Status: GroupAvailable, AvailabilityZone: s.cfg.AvailabilityZone,
		CreatedAt: now, UpdatedAt: now}, nil
}

// CreateGroup creates an empty group. The file backend needs no work for
// one, so it is available at once.
func (s *Service) CreateGroup(ctx context.Context, req GroupRequest) (*Group, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if req.GroupType == "" {
		return nil, badRequest("Invalid input received: group_type must be provided to create group.")
	}
	var g *Group
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if g, err = s.newGroup(tx, c, req); err != nil {
			return err
		}
		g.Volumes = []string{}
		return tx.Create(groupRecord(g))
	})
	return g, err
}

// GetGroup returns a group the caller may see, with its volumes.
func (s *Service) GetGroup(ctx context.Context, id string) (*Group, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var g *Group
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		if g, err = getGroup(tx, c, id); err != nil {
			return err
		}
		return fillGroupVolumes(tx, g)
	})
	return g, err
}

// ListGroups returns the caller's project's groups (every project's for
// an admin asking for all), newest first.
func (s *Service) ListGroups(ctx context.Context, all bool) ([]Group, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	ref := c.ProjectID
	if all && c.IsReader() {
		ref = ""
	}
	var out []Group
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		if out, err = store.List[Group](tx, KindGroup, store.ListOptions{Ref: ref}); err != nil {
			return err
		}
		for i := range out {
			if err := fillGroupVolumes(tx, &out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b Group) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, err
}

// UpdateGroup renames a group and adds or removes volumes. An added
// volume must be the group's project's, available or in-use, of one of
// the group's volume types and in no other group; a removed one must be
// in this group. The group must be available.
func (s *Service) UpdateGroup(ctx context.Context, id string, name, description *string, add, remove []string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	if name == nil && description == nil && len(add) == 0 && len(remove) == 0 {
		return badRequest("Invalid input received: Name, description, add_volumes, and remove_volumes can not be all empty in the request body.")
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, id)
		if err != nil {
			return err
		}
		if !canWrite(c, g.ProjectID) {
			return forbidden()
		}
		if (len(add) > 0 || len(remove) > 0) && g.Status != GroupAvailable {
			return badRequest("Invalid group: Group %s status must be available, but current status is: %s.", id, g.Status)
		}
		for _, vid := range add {
			if slices.Contains(remove, vid) {
				return badRequest("Invalid volume: Volume %s cannot be both added and removed.", vid)
			}
			v, err := store.Get[Volume](tx, KindVolume, vid)
			if errors.Is(err, store.ErrNotFound) || err == nil && v.ProjectID != g.ProjectID {
				return badRequest("Invalid volume: Cannot add volume %s to group %s because volume cannot be found.", vid, id)
			}
			if err != nil {
				return err
			}
			switch {
			case v.GroupID == g.ID:
				continue
			case v.GroupID != "":
				return badRequest("Invalid volume: Cannot add volume %s to group %s because it is already in group %s.", vid, id, v.GroupID)
			case v.Status != StatusAvailable && v.Status != StatusInUse:
				return badRequest("Invalid volume: Cannot add volume %s to group %s because volume is in an invalid state: %s.", vid, id, v.Status)
			case !slices.Contains(g.VolumeTypes, v.TypeID):
				return badRequest("Invalid volume: Cannot add volume %s to group %s because volume type %s is not supported by the group.", vid, id, v.TypeID)
			}
			v.GroupID = g.ID
			if err := s.putVolume(tx, v); err != nil {
				return err
			}
		}
		for _, vid := range remove {
			v, err := store.Get[Volume](tx, KindVolume, vid)
			if errors.Is(err, store.ErrNotFound) || err == nil && v.GroupID != g.ID {
				return badRequest("Invalid volume: Cannot remove volume %s from group %s because it is not in the group.", vid, id)
			}
			if err != nil {
				return err
			}
			if v.Status != StatusAvailable && v.Status != StatusInUse && v.Status != StatusError {
				return badRequest("Invalid volume: Cannot remove volume %s from group %s because volume is in an invalid state: %s.", vid, id, v.Status)
			}
			v.GroupID = ""
			if err := s.putVolume(tx, v); err != nil {
				return err
			}
		}
		if name != nil {
			if len(*name) > 255 {
				return badRequest("Invalid input received: name must be at most 255 characters.")
			}
			g.Name = *name
		}
		if description != nil {
			g.Description = *description
		}
		g.UpdatedAt = s.now()
		return tx.Update(groupRecord(g))
	})
}

// DeleteGroup removes a group with no group snapshots. Its volumes must
// be gone unless deleteVolumes, which marks them (with their snapshots)
// for deletion in the same transaction.
func (s *Service) DeleteGroup(ctx context.Context, id string, deleteVolumes bool) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, id)
		if err != nil {
			return err
		}
		if !canWrite(c, g.ProjectID) {
			return forbidden()
		}
		if g.Status != GroupAvailable && g.Status != GroupError {
			return badRequest("Invalid group: Group status must be available or error, but current status is: %s.", g.Status)
		}
		gss, err := store.List[GroupSnapshot](tx, KindGroupSnapshot, store.ListOptions{Ref: g.ProjectID})
		if err != nil {
			return err
		}
		for _, gs := range gss {
			if gs.GroupID == g.ID {
				return badRequest("Invalid group: Group %s still has group snapshots.", id)
			}
		}
		vols, err := groupVolumes(tx, g)
		if err != nil {
			return err
		}
		if len(vols) > 0 && !deleteVolumes {
			return badRequest("Invalid group: Group %s still contains volumes. The delete-volumes flag is required to delete it.", id)
		}
		for i := range vols {
			v := &vols[i]
			if v.Status == StatusDeleting {
				continue
			}
			if len(v.Attachments) > 0 || !slices.Contains(deletable, v.Status) {
				return badRequest("Invalid volume: Volume %s in group %s is %s or attached; it cannot be deleted.", v.ID, id, v.Status)
			}
			if err := s.markSnapshotsDeleting(tx, v); err != nil {
				return err
			}
			v.Status, v.Pending = StatusDeleting, &Work{Op: OpDelete, Cascade: true}
			if err := s.putVolume(tx, v); err != nil {
				return err
			}
		}
		return tx.Delete(KindGroup, g.ID)
	})
}

func (s *Service) markSnapshotsDeleting(tx store.Tx, v *Volume) error {
	snaps, err := store.List[Snapshot](tx, KindSnapshot, store.ListOptions{Ref: v.ProjectID})
	if err != nil {
		return err
	}
	for _, sn := range snaps {
		if sn.VolumeID != v.ID || sn.Status == StatusDeleting {
			continue
		}
		if sn.Status != StatusAvailable && sn.Status != StatusError {
			return invalidVolume("Snapshot %s of volume %s is %s; it must be available or error.", sn.ID, v.ID, sn.Status)
		}
		sn.Status, sn.UpdatedAt = StatusDeleting, s.now()
		if err := tx.Update(snapshotRecord(&sn)); err != nil {
			return err
		}
	}
	return nil
}

var groupStatuses = []string{GroupCreating, GroupAvailable, GroupError, GroupDeleting, "updating", "in-use", "deleted"}

// ResetGroupStatus overwrites a group's status (admin, 3.20).
func (s *Service) ResetGroupStatus(ctx context.Context, id, status string) error {
	c, err := requireAdmin(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(groupStatuses, status) {
		return badRequest("Invalid input received: Group status %s is not valid.", status)
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, id)
		if err != nil {
			return err
		}
		g.Status, g.UpdatedAt = status, s.now()
		return tx.Update(groupRecord(g))
	})
}

// CreateGroupFromSource creates a group holding a copy of every volume of
// a source group (clones) or of a group snapshot (volumes from its
// snapshots). The new volumes are created by the reconciler; the group
// itself is available at once.
func (s *Service) CreateGroupFromSource(ctx context.Context, name, description, sourceGroupID, groupSnapshotID string) (*Group, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if (sourceGroupID == "") == (groupSnapshotID == "") {
		return nil, badRequest("Invalid input received: Either 'group_snapshot_id' or 'source_group_id' must be provided to create group from source.")
	}
	var g *Group
	err = s.st.Write(ctx, func(tx store.Tx) error {
		type copyOf struct {
			size                  int64
			typeID, volID, snapID string
			bootable              bool
			format                string
			imageMeta             map[string]string
		}
		var src *Group
		var copies []copyOf
		if sourceGroupID != "" {
			var err error
			if src, err = getGroup(tx, c, sourceGroupID); err != nil {
				return err
			}
			if src.Status != GroupAvailable {
				return badRequest("Invalid group: Source group %s status must be available.", src.ID)
			}
			vols, err := groupVolumes(tx, src)
			if err != nil {
				return err
			}
			for _, v := range vols {
				if v.Status != StatusAvailable && v.Status != StatusInUse {
					return invalidVolume("Unable to clone volumes that are in %s state.", v.Status)
				}
				copies = append(copies, copyOf{size: v.Size, typeID: v.TypeID, volID: v.ID, bootable: v.Bootable, format: v.Format, imageMeta: v.ImageMetadata})
			}
		} else {
			gs, err := getGroupSnapshot(tx, c, groupSnapshotID)
			if err != nil {
				return err
			}
			if gs.Status != GroupAvailable {
				return badRequest("Invalid group snapshot: Group snapshot %s status must be available.", gs.ID)
			}
			if src, err = getGroup(tx, c, gs.GroupID); err != nil {
				return err
			}
			snaps, err := groupSnapshotMembers(tx, gs)
			if err != nil {
				return err
			}
			for _, sn := range snaps {
				cp := copyOf{size: sn.Size, typeID: sn.TypeID, snapID: sn.ID}
				if v, err := store.Get[Volume](tx, KindVolume, sn.VolumeID); err == nil {
					cp.bootable, cp.format, cp.imageMeta = v.Bootable, v.Format, v.ImageMetadata
				}
				copies = append(copies, cp)
			}
		}
		var err error
		g, err = s.newGroup(tx, c, GroupRequest{Name: name, Description: description, GroupType: src.GroupTypeID, VolumeTypes: src.VolumeTypes})
		if err != nil {
			return err
		}
		g.SourceGroupID, g.GroupSnapshotID = sourceGroupID, groupSnapshotID
		now := s.now()
		for _, cp := range copies {
			typeName := ""
			if t, err := getType(tx, nil, cp.typeID); err == nil {
				typeName = t.Name
			}
			if err := checkPerVolume(tx, c.ProjectID, cp.size); err != nil {
				return err
			}
			if err := checkQuota(tx, c.ProjectID, volumeDelta(typeName, cp.size)); err != nil {
				return err
			}
			v := &Volume{ID: newID(), ProjectID: c.ProjectID, UserID: c.UserID, Size: cp.size, Status: StatusCreating,
				AttachStatus: AttachStatusDetached, AvailabilityZone: s.cfg.AvailabilityZone, TypeID: cp.typeID,
				Bootable: cp.bootable, ImageMetadata: cloneMap(cp.imageMeta), SnapshotID: cp.snapID, SourceVolID: cp.volID,
				Format: cp.format, GroupID: g.ID, Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now,
				Pending: &Work{Op: OpCreate, Size: cp.size}}
			if t, err := getType(tx, nil, cp.typeID); err == nil {
				v.Multiattach = t.Multiattach()
			}
			if err := tx.Create(volumeRecord(v)); err != nil {
				return err
			}
			g.Volumes = append(g.Volumes, v.ID)
		}
		return tx.Create(groupRecord(g))
	})
	return g, err
}
