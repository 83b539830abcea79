package cinder

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// groupsVersion gates the groups API (3.13).
func groupsVersion(r *http.Request) error {
	if !mv(r).AtLeast(3, 13) {
		return notFoundPath()
	}
	return nil
}

func groupView(r *http.Request, g *volume.Group, detail bool) map[string]any {
	out := map[string]any{"id": g.ID, "name": g.Name}
	if !detail {
		return out
	}
	out["status"], out["description"], out["availability_zone"] = g.Status, nullable(g.Description), g.AvailabilityZone
	out["created_at"], out["group_type"], out["volume_types"] = ts(g.CreatedAt), g.GroupTypeID, g.VolumeTypes
	m := mv(r)
	if m.AtLeast(3, 14) {
		out["group_snapshot_id"], out["source_group_id"] = nullable(g.GroupSnapshotID), nullable(g.SourceGroupID)
	}
	if m.AtLeast(3, 25) {
		vols := g.Volumes
		if vols == nil {
			vols = []string{}
		}
		out["volumes"] = vols
	}
	if m.AtLeast(3, 38) {
		out["replication_status"] = "disabled"
	}
	return out
}

func (a *api) createGroup(w http.ResponseWriter, r *http.Request) error {
	if err := groupsVersion(r); err != nil {
		return err
	}
	m, err := body(w, r, "group")
	if err != nil {
		return err
	}
	var req volume.GroupRequest
	if req.Name, err = strOr(m, "name"); err != nil {
		return err
	}
	if req.Description, err = strOr(m, "description"); err != nil {
		return err
	}
	if req.GroupType, err = strOr(m, "group_type"); err != nil {
		return err
	}
	if req.AvailabilityZone, err = strOr(m, "availability_zone"); err != nil {
		return err
	}
	if raw, ok := m["volume_types"]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &req.VolumeTypes) != nil {
			var one string
			if json.Unmarshal(raw, &one) != nil {
				return badRequest("Invalid input received: volume_types must be a list of volume type IDs or names.")
			}
			req.VolumeTypes = splitList(one)
		}
	}
	g, err := a.v.CreateGroup(r.Context(), req)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"group": groupView(r, g, false)})
	return nil
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (a *api) getGroup(w http.ResponseWriter, r *http.Request) error {
	if err := groupsVersion(r); err != nil {
		return err
	}
	g, err := a.v.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"group": groupView(r, g, true)})
	return nil
}

func (a *api) listGroups(w http.ResponseWriter, r *http.Request) error {
	return a.listGroupsAs(w, r, false)
}

func (a *api) listGroupsDetail(w http.ResponseWriter, r *http.Request) error {
	return a.listGroupsAs(w, r, true)
}

func (a *api) listGroupsAs(w http.ResponseWriter, r *http.Request, detail bool) error {
	if err := groupsVersion(r); err != nil {
		return err
	}
	gs, err := a.v.ListGroups(r.Context(), allTenants(r.URL.Query()))
	if err != nil {
		return err
	}
	return writePage(w, r, gs, func(g volume.Group) string { return g.ID },
		func(x *volume.Group) map[string]any { return groupView(r, x, detail) }, "groups", "group_links")
}

// updateGroup: PUT /groups/{id} {"group": {name, description,
// add_volumes, remove_volumes}} (volume lists comma-separated), 202.
func (a *api) updateGroup(w http.ResponseWriter, r *http.Request) error {
	if err := groupsVersion(r); err != nil {
		return err
	}
	m, err := body(w, r, "group")
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
	add, err := strOr(m, "add_volumes")
	if err != nil {
		return err
	}
	remove, err := strOr(m, "remove_volumes")
	if err != nil {
		return err
	}
	if err := a.v.UpdateGroup(r.Context(), r.PathValue("id"), name, desc, splitList(add), splitList(remove)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// groupAction: POST /groups/{id}/action with delete or reset_status (3.20).
func (a *api) groupAction(w http.ResponseWriter, r *http.Request) error {
	if err := groupsVersion(r); err != nil {
		return err
	}
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	if len(m) != 1 {
		return badRequest("Invalid input received: exactly one action is required.")
	}
	id := r.PathValue("id")
	for name, raw := range m {
		var args map[string]json.RawMessage
		if err := json.Unmarshal(raw, &args); err != nil || args == nil {
			return badRequest("Invalid input for field/attribute %s. It must be an object.", name)
		}
		switch {
		case name == "delete":
			del, _, err := boolField(args, "delete-volumes")
			if err != nil {
				return err
			}
			if err := a.v.DeleteGroup(r.Context(), id, del); err != nil {
				return err
			}
		case name == "reset_status" && mv(r).AtLeast(3, 20):
			st, err := strOr(args, "status")
			if err != nil {
				return err
			}
			if st == "" {
				return badRequest("Invalid input received: Must specify 'status'.")
			}
			if err := a.v.ResetGroupStatus(r.Context(), id, st); err != nil {
				return err
			}
		case name == "failover_replication" || name == "enable_replication" || name == "disable_replication" || name == "list_replication_targets":
			return badRequest("Invalid group: Group %s is not a replication group.", id)
		default:
			return badRequest("There is no such action: %s", name)
		}
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// groupsAction: POST /groups/action {"create-from-src": {...}} (3.14).
func (a *api) groupsAction(w http.ResponseWriter, r *http.Request) error {
	if !mv(r).AtLeast(3, 14) {
		return notFoundPath()
	}
	m, err := body(w, r, "create-from-src")
	if err != nil {
		return err
	}
	var f [4]string
	for i, k := range []string{"name", "description", "source_group_id", "group_snapshot_id"} {
		if f[i], err = strOr(m, k); err != nil {
			return err
		}
	}
	g, err := a.v.CreateGroupFromSource(r.Context(), f[0], f[1], f[2], f[3])
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"group": groupView(r, g, false)})
	return nil
}
