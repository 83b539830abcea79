package cinder

import (
	"context"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// metadataAPI serves the metadata sub-resource of one kind of resource
// (volumes, snapshots): {collection}/{id}/metadata and …/metadata/{key}.
type metadataAPI struct {
	noun string // "Volume", "Snapshot": for fault messages
	get  func(ctx context.Context, id string) (map[string]string, error)
	set  func(ctx context.Context, id string, md map[string]string, replace bool) (map[string]string, error)
	del  func(ctx context.Context, id, key string) error
}

// register adds the routes under collection ("/volumes").
func (m metadataAPI) register(h func(string, apihttp.HandlerFunc), collection string) {
	base := collection + "/{id}/metadata"
	h("GET "+base, m.list)
	h("POST "+base, func(w http.ResponseWriter, r *http.Request) error { return m.setAll(w, r, false) })
	h("PUT "+base, func(w http.ResponseWriter, r *http.Request) error { return m.setAll(w, r, true) })
	h("GET "+base+"/{key}", m.getKey)
	h("PUT "+base+"/{key}", m.putKey)
	h("DELETE "+base+"/{key}", m.deleteKey)
}

func (m metadataAPI) list(w http.ResponseWriter, r *http.Request) error {
	md, err := m.get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"metadata": orEmpty(md)})
	return nil
}

// setAll merges (POST) or replaces (PUT) the metadata.
func (m metadataAPI) setAll(w http.ResponseWriter, r *http.Request, replace bool) error {
	b, err := body(w, r, "")
	if err != nil {
		return err
	}
	if _, ok := b["metadata"]; !ok {
		return badRequest("Malformed request body")
	}
	md, err := strMap(b, "metadata")
	if err != nil {
		return err
	}
	out, err := m.set(r.Context(), r.PathValue("id"), md, replace)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
	return nil
}

func (m metadataAPI) getKey(w http.ResponseWriter, r *http.Request) error {
	md, err := m.get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	k := r.PathValue("key")
	val, ok := md[k]
	if !ok {
		return fault.New(fault.NotFound, "%s %s has no metadata with key %s.", m.noun, r.PathValue("id"), k)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{k: val}})
	return nil
}

func (m metadataAPI) putKey(w http.ResponseWriter, r *http.Request) error {
	md, err := metaItem(w, r)
	if err != nil {
		return err
	}
	if _, err := m.set(r.Context(), r.PathValue("id"), md, false); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"meta": md})
	return nil
}

func (m metadataAPI) deleteKey(w http.ResponseWriter, r *http.Request) error {
	if err := m.del(r.Context(), r.PathValue("id"), r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// metaItem reads {"meta": {key: value}} whose one key must match the URL.
func metaItem(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	m, err := body(w, r, "")
	if err != nil {
		return nil, err
	}
	if _, ok := m["meta"]; !ok {
		return nil, badRequest("Malformed request body")
	}
	md, err := strMap(m, "meta")
	if err != nil {
		return nil, err
	}
	if len(md) > 1 {
		return nil, badRequest("Request body contains too many items")
	}
	if _, ok := md[r.PathValue("key")]; !ok {
		return nil, badRequest("Request body and URI mismatch")
	}
	return md, nil
}
