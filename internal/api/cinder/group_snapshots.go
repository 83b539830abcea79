package cinder

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// groupSnapshotsVersion gates the group snapshots API (3.14).
func groupSnapshotsVersion(r *http.Request) error {
	if !mv(r).AtLeast(3, 14) {
		return notFoundPath()
	}
	return nil
}

func groupSnapshotView(r *http.Request, gs *volume.GroupSnapshot, detail bool) map[string]any {
	out := map[string]any{"id": gs.ID, "name": gs.Name}
	if !detail {
		return out
	}
	out["group_id"], out["status"], out["description"] = gs.GroupID, gs.Status, nullable(gs.Description)
	out["created_at"], out["group_type_id"] = ts(gs.CreatedAt), gs.GroupTypeID
	if mv(r).AtLeast(3, 58) {
		out["project_id"] = gs.ProjectID
	}
	return out
}

func (a *api) createGroupSnapshot(w http.ResponseWriter, r *http.Request) error {
	if err := groupSnapshotsVersion(r); err != nil {
		return err
	}
	m, err := body(w, r, "group_snapshot")
	if err != nil {
		return err
	}
	var f [3]string
	for i, k := range []string{"group_id", "name", "description"} {
		if f[i], err = strOr(m, k); err != nil {
			return err
		}
	}
	if f[0] == "" {
		return badRequest("Invalid input received: 'group_id' must be specified.")
	}
	gs, err := a.v.CreateGroupSnapshot(r.Context(), f[0], f[1], f[2])
	if err != nil {
		return err
	}
	out := groupSnapshotView(r, gs, false)
	out["group_type_id"] = gs.GroupTypeID
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"group_snapshot": out})
	return nil
}

func (a *api) getGroupSnapshot(w http.ResponseWriter, r *http.Request) error {
	if err := groupSnapshotsVersion(r); err != nil {
		return err
	}
	gs, err := a.v.GetGroupSnapshot(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"group_snapshot": groupSnapshotView(r, gs, true)})
	return nil
}

func (a *api) listGroupSnapshots(w http.ResponseWriter, r *http.Request) error {
	return a.listGroupSnapshotsAs(w, r, false)
}

func (a *api) listGroupSnapshotsDetail(w http.ResponseWriter, r *http.Request) error {
	return a.listGroupSnapshotsAs(w, r, true)
}

func (a *api) listGroupSnapshotsAs(w http.ResponseWriter, r *http.Request, detail bool) error {
	if err := groupSnapshotsVersion(r); err != nil {
		return err
	}
	gss, err := a.v.ListGroupSnapshots(r.Context(), allTenants(r.URL.Query()))
	if err != nil {
		return err
	}
	return writePage(w, r, gss, func(gs volume.GroupSnapshot) string { return gs.ID },
		func(x *volume.GroupSnapshot) map[string]any { return groupSnapshotView(r, x, detail) }, "group_snapshots", "group_snapshot_links")
}

func (a *api) deleteGroupSnapshot(w http.ResponseWriter, r *http.Request) error {
	if err := groupSnapshotsVersion(r); err != nil {
		return err
	}
	if err := a.v.DeleteGroupSnapshot(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// groupSnapshotAction: POST /group_snapshots/{id}/action {"reset_status": {"status"}} (3.19).
func (a *api) groupSnapshotAction(w http.ResponseWriter, r *http.Request) error {
	if err := groupSnapshotsVersion(r); err != nil {
		return err
	}
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	raw, ok := m["reset_status"]
	if !ok || len(m) != 1 || !mv(r).AtLeast(3, 19) {
		return badRequest("Invalid input received: the only action is reset_status (3.19).")
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal(raw, &args); err != nil || args == nil {
		return badRequest("Invalid input for field/attribute reset_status. It must be an object.")
	}
	st, err := strOr(args, "status")
	if err != nil {
		return err
	}
	if st == "" {
		return badRequest("Invalid input received: Must specify 'status'.")
	}
	if err := a.v.ResetGroupSnapshotStatus(r.Context(), r.PathValue("id"), st); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
