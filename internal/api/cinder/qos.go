package cinder

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/volume"
)

func qosView(q *volume.QosSpecs) map[string]any {
	return map[string]any{"id": q.ID, "name": q.Name, "consumer": q.Consumer, "specs": orEmpty(q.Specs)}
}

func (a *api) writeQos(w http.ResponseWriter, r *http.Request, q *volume.QosSpecs) {
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"qos_specs": qosView(q),
		"links": links(r, creds(r).ProjectID, "qos-specs", q.ID)})
}

// createQos: POST /qos-specs {"qos_specs": {"name", "consumer", <spec>: <value>...}}.
func (a *api) createQos(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "qos_specs")
	if err != nil {
		return err
	}
	name, err := strOr(m, "name")
	if err != nil {
		return err
	}
	if name == "" {
		return badRequest("Please specify a name for QoS specs.")
	}
	consumer, err := strOr(m, "consumer")
	if err != nil {
		return err
	}
	specs := map[string]json.RawMessage{}
	for k, v := range m {
		if k != "name" && k != "consumer" {
			specs[k] = v
		}
	}
	sm, err := strMap(map[string]json.RawMessage{"qos_specs": mustJSON(specs)}, "qos_specs")
	if err != nil {
		return err
	}
	q, err := a.v.CreateQos(r.Context(), name, consumer, sm)
	if err != nil {
		return err
	}
	a.writeQos(w, r, q)
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func (a *api) listQos(w http.ResponseWriter, r *http.Request) error {
	qs, err := a.v.ListQos(r.Context())
	if err != nil {
		return err
	}
	return writePage(w, r, qs, func(q volume.QosSpecs) string { return q.ID },
		qosView, "qos_specs", "qos_specs_links")
}

func (a *api) getQos(w http.ResponseWriter, r *http.Request) error {
	q, err := a.v.GetQos(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.writeQos(w, r, q)
	return nil
}

// setQosKeys: PUT /qos-specs/{id} {"qos_specs": {k: v}} merges keys.
func (a *api) setQosKeys(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	if _, ok := m["qos_specs"]; !ok {
		return badRequest("Missing required element 'qos_specs' in request body.")
	}
	specs, err := strMap(m, "qos_specs")
	if err != nil {
		return err
	}
	if err := a.v.SetQosKeys(r.Context(), r.PathValue("id"), specs); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"qos_specs": specs})
	return nil
}

// unsetQosKeys: PUT /qos-specs/{id}/delete_keys {"keys": [...]}.
func (a *api) unsetQosKeys(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	var keys []string
	raw, ok := m["keys"]
	if !ok || json.Unmarshal(raw, &keys) != nil || len(keys) == 0 {
		return badRequest("Missing required element 'keys' in request body.")
	}
	if err := a.v.UnsetQosKeys(r.Context(), r.PathValue("id"), keys); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) deleteQos(w http.ResponseWriter, r *http.Request) error {
	force := false
	if q := r.URL.Query(); q.Has("force") {
		b, ok := parseBool(q.Get("force"))
		if !ok {
			return badRequest("Invalid input received: '%s' is not a valid boolean value for force.", q.Get("force"))
		}
		force = b
	}
	if err := a.v.DeleteQos(r.Context(), r.PathValue("id"), force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) qosAssociations(w http.ResponseWriter, r *http.Request) error {
	as, err := a.v.QosAssociations(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := []map[string]string{}
	for _, x := range as {
		out = append(out, map[string]string{"association_type": x.Type, "id": x.ID, "name": x.Name})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"qos_associations": out})
	return nil
}

func (a *api) associateQos(w http.ResponseWriter, r *http.Request) error {
	if err := a.v.AssociateQos(r.Context(), r.PathValue("id"), r.URL.Query().Get("vol_type_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) disassociateQos(w http.ResponseWriter, r *http.Request) error {
	if err := a.v.DisassociateQos(r.Context(), r.PathValue("id"), r.URL.Query().Get("vol_type_id"), false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) disassociateAllQos(w http.ResponseWriter, r *http.Request) error {
	if err := a.v.DisassociateQos(r.Context(), r.PathValue("id"), "", true); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
