package cinder

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/volume"
)

func backupView(r *http.Request, b *volume.Backup, detail bool) map[string]any {
	out := map[string]any{"id": b.ID, "name": b.Name, "links": links(r, b.ProjectID, "backups", b.ID)}
	if !detail {
		return out
	}
	out["status"], out["object_count"], out["container"] = b.Status, b.ObjectCount, b.Container
	out["description"], out["availability_zone"] = nullable(b.Description), b.AvailabilityZone
	out["created_at"], out["updated_at"], out["data_timestamp"] = ts(b.CreatedAt), ts(b.UpdatedAt), ts(b.DataTimestamp)
	out["has_dependent_backups"], out["is_incremental"] = false, false
	out["volume_id"], out["fail_reason"], out["size"] = b.VolumeID, nullable(b.FailReason), b.Size
	out["snapshot_id"] = nullable(b.SnapshotID)
	m := mv(r)
	if m.AtLeast(3, 18) {
		out["os-backup-project-attr:project_id"] = b.ProjectID
	}
	if m.AtLeast(3, 43) {
		out["metadata"] = orEmpty(b.Metadata)
	}
	if m.AtLeast(3, 56) {
		out["user_id"] = b.UserID
	}
	return out
}

func (a *api) createBackup(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "backup")
	if err != nil {
		return err
	}
	var req volume.BackupRequest
	if req.VolumeID, err = strOr(m, "volume_id"); err != nil {
		return err
	}
	if req.VolumeID == "" {
		return badRequest("Invalid input received: 'volume_id' is a required property.")
	}
	if req.Name, err = strOr(m, "name"); err != nil {
		return err
	}
	if req.Description, err = strOr(m, "description"); err != nil {
		return err
	}
	if req.Container, err = strOr(m, "container"); err != nil {
		return err
	}
	if req.SnapshotID, err = strOr(m, "snapshot_id"); err != nil {
		return err
	}
	if req.Incremental, _, err = boolField(m, "incremental"); err != nil {
		return err
	}
	if req.Force, _, err = boolField(m, "force"); err != nil {
		return err
	}
	if req.Metadata, err = strMap(m, "metadata"); err != nil {
		return err
	}
	b, err := a.v.CreateBackup(r.Context(), req)
	if err != nil {
		return err
	}
	out := backupView(r, b, false)
	if mv(r).AtLeast(3, 43) {
		out["metadata"] = orEmpty(b.Metadata)
	}
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"backup": out})
	return nil
}

func (a *api) getBackup(w http.ResponseWriter, r *http.Request) error {
	b, err := a.v.GetBackup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"backup": backupView(r, b, true)})
	return nil
}

func (a *api) listBackupsAny(w http.ResponseWriter, r *http.Request, detail bool) error {
	o, err := listOptions(r, "name", "status", "volume_id")
	if err != nil {
		return err
	}
	items, err := a.v.ListBackups(r.Context(), o)
	if err != nil {
		return err
	}
	return writePage(w, r, items, func(b volume.Backup) string { return b.ID },
		func(x *volume.Backup) map[string]any { return backupView(r, x, detail) }, "backups", "backups_links")
}

func (a *api) listBackups(w http.ResponseWriter, r *http.Request) error {
	return a.listBackupsAny(w, r, false)
}

func (a *api) listBackupsDetail(w http.ResponseWriter, r *http.Request) error {
	return a.listBackupsAny(w, r, true)
}

func (a *api) updateBackup(w http.ResponseWriter, r *http.Request) error {
	if !mv(r).AtLeast(3, 9) {
		return notFoundPath()
	}
	m, err := body(w, r, "backup")
	if err != nil {
		return err
	}
	name, err := str(m, "name")
	if err != nil {
		return err
	}
	desc, err := str(m, "description")
	if err != nil {
		return err
	}
	b, err := a.v.UpdateBackup(r.Context(), r.PathValue("id"), name, desc)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"backup": backupView(r, b, false)})
	return nil
}

func (a *api) deleteBackup(w http.ResponseWriter, r *http.Request) error {
	if err := a.v.DeleteBackup(r.Context(), r.PathValue("id"), false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) restoreBackup(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "restore")
	if err != nil {
		return err
	}
	vid, err := strOr(m, "volume_id")
	if err != nil {
		return err
	}
	name, err := strOr(m, "name")
	if err != nil {
		return err
	}
	v, b, err := a.v.RestoreBackup(r.Context(), r.PathValue("id"), vid, name)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"restore": map[string]any{"backup_id": b.ID, "volume_id": v.ID, "volume_name": v.Name}})
	return nil
}

func (a *api) backupAction(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	for name, raw := range m {
		var args map[string]json.RawMessage
		json.Unmarshal(raw, &args) //nolint:errcheck // a missing status is refused by the domain
		switch name {
		case "os-reset_status":
			st, err := strOr(args, "status")
			if err != nil {
				return err
			}
			if err := a.v.ResetBackupStatus(r.Context(), id, st); err != nil {
				return err
			}
		case "os-force_delete":
			if err := a.v.DeleteBackup(r.Context(), id, true); err != nil {
				return err
			}
		default:
			return badRequest("There is no such action: %s", name)
		}
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
