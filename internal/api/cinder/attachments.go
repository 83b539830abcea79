package cinder

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/volume"
)

func attachmentView(r *http.Request, at *volume.AttachmentResult, detail bool) map[string]any {
	out := map[string]any{"id": at.ID, "status": at.Status, "instance": nullable(at.ServerID), "volume_id": at.VolumeID}
	if detail {
		out["attached_at"] = tsPtr(at.AttachedAt)
		out["detached_at"] = tsPtr(at.DetachedAt)
		out["attach_mode"] = at.AttachMode
		out["connection_info"] = at.ConnectionInfo
		if at.ConnectionInfo == nil {
			out["connection_info"] = map[string]any{}
		}
	}
	return out
}

func (a *api) requireAttachments(r *http.Request) error {
	if !mv(r).AtLeast(3, 27) {
		return notFoundPath()
	}
	return nil
}

func connectorField(m map[string]json.RawMessage) (map[string]any, error) {
	raw, ok := m["connector"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, badRequest("Invalid input received: connector must be an object.")
	}
	return c, nil
}

func (a *api) createAttachment(w http.ResponseWriter, r *http.Request) error {
	if err := a.requireAttachments(r); err != nil {
		return err
	}
	m, err := body(w, r, "attachment")
	if err != nil {
		return err
	}
	vid, err := strOr(m, "volume_uuid")
	if err != nil {
		return err
	}
	if vid == "" {
		return badRequest("Invalid input received: 'volume_uuid' is a required property.")
	}
	server, err := strOr(m, "instance_uuid")
	if err != nil {
		return err
	}
	conn, err := connectorField(m)
	if err != nil {
		return err
	}
	mode := ""
	if mv(r).AtLeast(3, 54) {
		if mode, err = strOr(m, "mode"); err != nil {
			return err
		}
	}
	at, err := a.v.CreateAttachment(r.Context(), vid, server, conn, mode)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"attachment": attachmentView(r, at, true)})
	return nil
}

func (a *api) updateAttachment(w http.ResponseWriter, r *http.Request) error {
	if err := a.requireAttachments(r); err != nil {
		return err
	}
	m, err := body(w, r, "attachment")
	if err != nil {
		return err
	}
	conn, err := connectorField(m)
	if err != nil {
		return err
	}
	at, err := a.v.UpdateAttachment(r.Context(), r.PathValue("id"), conn)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"attachment": attachmentView(r, at, true)})
	return nil
}

func (a *api) attachmentAction(w http.ResponseWriter, r *http.Request) error {
	if !mv(r).AtLeast(3, 44) {
		return notFoundPath()
	}
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	if _, ok := m["os-complete"]; !ok || len(m) != 1 {
		return badRequest("There is either no action or more than one action in the request body.")
	}
	if err := a.v.CompleteAttachment(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) deleteAttachment(w http.ResponseWriter, r *http.Request) error {
	if err := a.requireAttachments(r); err != nil {
		return err
	}
	if err := a.v.DeleteAttachment(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"attachments": []any{}})
	return nil
}

func (a *api) getAttachment(w http.ResponseWriter, r *http.Request) error {
	if err := a.requireAttachments(r); err != nil {
		return err
	}
	at, err := a.v.GetAttachment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"attachment": attachmentView(r, at, true)})
	return nil
}

func (a *api) listAttachmentsAny(w http.ResponseWriter, r *http.Request, detail bool) error {
	if err := a.requireAttachments(r); err != nil {
		return err
	}
	items, err := a.v.ListAttachments(r.Context(), allTenants(r.URL.Query()))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	filtered := items[:0]
	for _, at := range items {
		if v := q.Get("volume_id"); v != "" && at.VolumeID != v {
			continue
		}
		if v := q.Get("instance_id"); v != "" && at.ServerID != v {
			continue
		}
		if v := q.Get("status"); v != "" && at.Status != v {
			continue
		}
		filtered = append(filtered, at)
	}
	return writePage(w, r, filtered, func(at volume.AttachmentResult) string { return at.ID },
		func(x *volume.AttachmentResult) map[string]any { return attachmentView(r, x, detail) }, "attachments", "attachments_links")
}

func (a *api) listAttachments(w http.ResponseWriter, r *http.Request) error {
	return a.listAttachmentsAny(w, r, false)
}

func (a *api) listAttachmentsDetail(w http.ResponseWriter, r *http.Request) error {
	return a.listAttachmentsAny(w, r, true)
}
