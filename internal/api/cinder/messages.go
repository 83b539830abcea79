package cinder

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/volume"
)

func messagesVersion(r *http.Request) error {
	if !mv(r).AtLeast(3, 3) {
		return notFoundPath()
	}
	return nil
}

func messageView(r *http.Request, m *volume.Message) map[string]any {
	return map[string]any{"id": m.ID, "message_level": m.MessageLevel, "event_id": m.EventID,
		"user_message": m.UserMessage, "resource_type": m.ResourceType, "resource_uuid": m.ResourceUUID,
		"request_id": m.RequestID, "created_at": ts(m.CreatedAt), "guaranteed_until": ts(m.ExpiresAt),
		"links": links(r, m.ProjectID, "messages", m.ID)}
}

// listMessages: GET /messages (3.3+).
func (a *api) listMessages(w http.ResponseWriter, r *http.Request) error {
	if err := messagesVersion(r); err != nil {
		return err
	}
	ms, err := a.v.ListMessages(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	filtered := ms[:0]
	for _, m := range ms {
		if (q.Get("resource_uuid") == "" || q.Get("resource_uuid") == m.ResourceUUID) &&
			(q.Get("resource_type") == "" || q.Get("resource_type") == m.ResourceType) &&
			(q.Get("event_id") == "" || q.Get("event_id") == m.EventID) &&
			(q.Get("message_level") == "" || q.Get("message_level") == m.MessageLevel) &&
			(q.Get("request_id") == "" || q.Get("request_id") == m.RequestID) {
			filtered = append(filtered, m)
		}
	}
	return writePage(w, r, filtered, func(m volume.Message) string { return m.ID },
		func(x *volume.Message) map[string]any { return messageView(r, x) }, "messages", "messages_links")
}

func (a *api) getMessage(w http.ResponseWriter, r *http.Request) error {
	if err := messagesVersion(r); err != nil {
		return err
	}
	m, err := a.v.GetMessage(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"message": messageView(r, m)})
	return nil
}

func (a *api) deleteMessage(w http.ResponseWriter, r *http.Request) error {
	if err := messagesVersion(r); err != nil {
		return err
	}
	if err := a.v.DeleteMessage(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
