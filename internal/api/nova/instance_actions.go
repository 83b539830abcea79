package nova

import (
	"net/http"
	"strconv"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
)

func (a *api) actionView(r *http.Request, act *compute.InstanceAction, events bool) map[string]any {
	v := map[string]any{"action": act.Action, "request_id": act.RequestID, "user_id": act.UserID,
		"project_id": act.ProjectID, "start_time": ts(act.StartTime), "message": act.Message, "instance_uuid": act.ServerID}
	if mv(r).AtLeast(2, 58) {
		v["updated_at"] = ts(act.UpdatedAt)
	}
	if events {
		admin := isAdmin(r)
		evs := []map[string]any{}
		for _, e := range act.Events {
			ev := map[string]any{"event": e.Event, "start_time": ts(e.StartTime), "finish_time": tsPtr(e.FinishTime), "result": e.Result}
			if admin {
				ev["traceback"] = nil
			}
			if mv(r).AtLeast(2, 62) {
				ev["hostId"] = ""
				if admin {
					ev["host"] = e.Host
				}
			}
			evs = append(evs, ev)
		}
		// Events show to admins, and to owners from 2.51 (without traceback).
		if admin || mv(r).AtLeast(2, 51) {
			v["events"] = evs
		}
	}
	return v
}

// listInstanceActions is GET /servers/{id}/os-instance-actions.
func (a *api) listInstanceActions(w http.ResponseWriter, r *http.Request) error {
	acts, err := a.c.ListInstanceActions(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	page, err := apihttp.Paginate(r, acts, func(x compute.InstanceAction) string { return x.RequestID }, 1000)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(page.Items))
	for i := range page.Items {
		out = append(out, a.actionView(r, &page.Items[i], false))
	}
	body := map[string]any{"instanceActions": out}
	if page.Next != "" && mv(r).AtLeast(2, 58) {
		body["links"] = []link{{Rel: "next", Href: apihttp.NextLink(apihttp.BaseURL(r), r, page.Next)}}
	}
	apihttp.WriteJSON(w, http.StatusOK, body)
	return nil
}

// getInstanceAction is GET /servers/{id}/os-instance-actions/{request_id}.
func (a *api) getInstanceAction(w http.ResponseWriter, r *http.Request) error {
	act, err := a.c.GetInstanceAction(r.Context(), r.PathValue("id"), r.PathValue("rid"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"instanceAction": a.actionView(r, act, true)})
	return nil
}

// listMigrations is GET /os-migrations (admin).
func (a *api) listMigrations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ms, err := a.c.ListMigrations(r.Context(), compute.MigrationFilter{ServerID: q.Get("instance_uuid"), Type: q.Get("migration_type"),
		Status: q.Get("status"), Host: q.Get("host")})
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, m := range ms {
		v := map[string]any{"id": m.Seq, "instance_uuid": m.ServerID, "status": m.Status,
			"source_compute": m.SourceCompute, "source_node": m.SourceNode, "dest_compute": nilIfEmpty(m.DestCompute),
			"dest_node": nilIfEmpty(m.DestNode), "dest_host": nilIfEmpty(m.DestHost),
			"old_instance_type_id": m.OldFlavorSeq, "new_instance_type_id": m.NewFlavorSeq,
			"created_at": ts(m.CreatedAt), "updated_at": ts(m.UpdatedAt)}
		if mv(r).AtLeast(2, 23) {
			v["migration_type"] = m.Type
			if m.Type == "live-migration" && (m.Status == "running" || m.Status == "queued") {
				v["links"] = linkSelf(r, "servers/"+m.ServerID+"/migrations", strconv.FormatInt(m.Seq, 10))
			}
		}
		if mv(r).AtLeast(2, 59) {
			v["uuid"] = m.ID
		}
		out = append(out, v)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"migrations": out})
	return nil
}
