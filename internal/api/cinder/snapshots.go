package cinder

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/volume"
)

func snapshotView(r *http.Request, sn *volume.Snapshot, detail bool) map[string]any {
	out := map[string]any{"id": sn.ID, "volume_id": sn.VolumeID, "status": sn.Status, "size": sn.Size,
		"name": sn.Name, "description": nullable(sn.Description), "created_at": ts(sn.CreatedAt),
		"updated_at": ts(sn.UpdatedAt), "metadata": orEmpty(sn.Metadata)}
	if detail {
		out["os-extended-snapshot-attributes:progress"] = sn.Progress
		out["os-extended-snapshot-attributes:project_id"] = sn.ProjectID
	}
	m := mv(r)
	if m.AtLeast(3, 14) {
		out["group_snapshot_id"] = nullable(sn.GroupSnapshotID)
	}
	if m.AtLeast(3, 41) {
		out["user_id"] = sn.UserID
	}
	return out
}

func (a *api) createSnapshot(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "snapshot")
	if err != nil {
		return err
	}
	vid, err := strOr(m, "volume_id")
	if err != nil {
		return err
	}
	if vid == "" {
		return fault.New(fault.NotFound, "Volume None could not be found.")
	}
	name, err := strOr(m, "name", "display_name")
	if err != nil {
		return err
	}
	desc, err := strOr(m, "description", "display_description")
	if err != nil {
		return err
	}
	force, _, err := boolField(m, "force")
	if err != nil {
		return err
	}
	md, err := strMap(m, "metadata")
	if err != nil {
		return err
	}
	sn, err := a.v.CreateSnapshot(r.Context(), vid, name, desc, force, md)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"snapshot": snapshotView(r, sn, false)})
	return nil
}

func (a *api) getSnapshot(w http.ResponseWriter, r *http.Request) error {
	sn, err := a.v.GetSnapshot(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": snapshotView(r, sn, true)})
	return nil
}

func (a *api) listSnapshotsAny(w http.ResponseWriter, r *http.Request, detail bool) error {
	o, err := listOptions(r, "name", "display_name", "status", "volume_id")
	if err != nil {
		return err
	}
	items, err := a.v.ListSnapshots(r.Context(), o)
	if err != nil {
		return err
	}
	return writePage(w, r, items, func(sn volume.Snapshot) string { return sn.ID },
		func(x *volume.Snapshot) map[string]any { return snapshotView(r, x, detail) }, "snapshots", "snapshots_links")
}

func (a *api) listSnapshots(w http.ResponseWriter, r *http.Request) error {
	return a.listSnapshotsAny(w, r, false)
}

func (a *api) listSnapshotsDetail(w http.ResponseWriter, r *http.Request) error {
	return a.listSnapshotsAny(w, r, true)
}

func (a *api) updateSnapshot(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "snapshot")
	if err != nil {
		return err
	}
	if len(m) == 0 {
		return badRequest("Invalid input received: Missing required element 'snapshot' fields.")
	}
	name, err := str(m, "name")
	if err != nil {
		return err
	}
	if name == nil {
		if name, err = str(m, "display_name"); err != nil {
			return err
		}
	}
	desc, err := str(m, "description")
	if err != nil {
		return err
	}
	if desc == nil {
		if desc, err = str(m, "display_description"); err != nil {
			return err
		}
	}
	sn, err := a.v.UpdateSnapshot(r.Context(), r.PathValue("id"), name, desc)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": snapshotView(r, sn, false)})
	return nil
}

func (a *api) deleteSnapshot(w http.ResponseWriter, r *http.Request) error {
	if err := a.v.DeleteSnapshot(r.Context(), r.PathValue("id"), false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) snapshotAction(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	if len(m) != 1 {
		return badRequest("There is either no action or more than one action in the request body.")
	}
	id := r.PathValue("id")
	for name, raw := range m {
		var args map[string]json.RawMessage
		json.Unmarshal(raw, &args) //nolint:errcheck // a missing field is checked below
		switch name {
		case "os-reset_status":
			st, err := strOr(args, "status")
			if err != nil {
				return err
			}
			err = a.v.ResetSnapshotStatus(r.Context(), id, st)
			if err != nil {
				return err
			}
		case "os-force_delete":
			if err := a.v.DeleteSnapshot(r.Context(), id, true); err != nil {
				return err
			}
		case "os-update_snapshot_status":
			st, err := strOr(args, "status")
			if err != nil {
				return err
			}
			progress, err := strOr(args, "progress")
			if err != nil {
				return err
			}
			if err := a.v.UpdateSnapshotStatus(r.Context(), id, st, progress); err != nil {
				return err
			}
		default:
			return badRequest("There is no such action: %s", name)
		}
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// snapshotMetadata reads a snapshot's metadata (for metadataAPI).
func (a *api) snapshotMetadata(ctx context.Context, id string) (map[string]string, error) {
	sn, err := a.v.GetSnapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	return sn.Metadata, nil
}
