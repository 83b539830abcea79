package nova

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

func notFoundf(format string, args ...any) error { return fault.New(fault.NotFound, format, args...) }

func decodeMetadata(w http.ResponseWriter, r *http.Request, envelope string) (map[string]string, error) {
	var outer map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &outer); err != nil {
		return nil, err
	}
	raw, ok := outer[envelope]
	if !ok {
		return nil, badRequest("Invalid input for field/attribute %s. Value: None. '%s' is a required property", envelope, envelope)
	}
	return metadataField(raw, envelope)
}

// listServerMetadata is GET /servers/{id}/metadata.
func (a *api) listServerMetadata(w http.ResponseWriter, r *http.Request) error {
	md, err := a.c.ServerMetadata(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"metadata": md})
	return nil
}

// setServerMetadata is POST (merge) and PUT (replace) /servers/{id}/metadata.
func (a *api) setServerMetadata(replace bool) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		md, err := decodeMetadata(w, r, "metadata")
		if err != nil {
			return err
		}
		out, err := a.c.SetServerMetadata(r.Context(), r.PathValue("id"), md, replace)
		if err != nil {
			return err
		}
		apihttp.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
		return nil
	}
}

// getServerMetadataItem is GET /servers/{id}/metadata/{key}.
func (a *api) getServerMetadataItem(w http.ResponseWriter, r *http.Request) error {
	md, err := a.c.ServerMetadata(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	k := r.PathValue("key")
	v, ok := md[k]
	if !ok {
		return notFoundf("Metadata item was not found")
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{k: v}})
	return nil
}

// setServerMetadataItem is PUT /servers/{id}/metadata/{key}.
func (a *api) setServerMetadataItem(w http.ResponseWriter, r *http.Request) error {
	md, err := decodeMetadata(w, r, "meta")
	if err != nil {
		return err
	}
	k := r.PathValue("key")
	if len(md) > 1 {
		return badRequest("Request body contains too many items")
	}
	if _, ok := md[k]; !ok {
		return badRequest("Request body and URI mismatch")
	}
	if _, err := a.c.SetServerMetadata(r.Context(), r.PathValue("id"), md, false); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"meta": md})
	return nil
}

// deleteServerMetadataItem is DELETE /servers/{id}/metadata/{key}.
func (a *api) deleteServerMetadataItem(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DeleteServerMetadata(r.Context(), r.PathValue("id"), r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Server tags (2.26).

func requireTags(r *http.Request) error {
	if !mv(r).AtLeast(2, 26) {
		return notFoundf("The resource could not be found.")
	}
	return nil
}

func (a *api) listServerTags(w http.ResponseWriter, r *http.Request) error {
	if err := requireTags(r); err != nil {
		return err
	}
	tags, err := a.c.ServerTags(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"tags": tags})
	return nil
}

func (a *api) replaceServerTags(w http.ResponseWriter, r *http.Request) error {
	if err := requireTags(r); err != nil {
		return err
	}
	var body struct {
		Tags *[]string `json:"tags"`
	}
	if err := apihttp.Decode(w, r, &body); err != nil {
		return err
	}
	if body.Tags == nil {
		return badRequest("Invalid input for field/attribute tags. Value: None. 'tags' is a required property")
	}
	for _, t := range *body.Tags {
		if err := validTag(t); err != nil {
			return err
		}
	}
	tags, err := a.c.SetServerTags(r.Context(), r.PathValue("id"), *body.Tags)
	if err != nil {
		return err
	}
	sort.Strings(tags)
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"tags": tags})
	return nil
}

func (a *api) checkServerTag(w http.ResponseWriter, r *http.Request) error {
	if err := requireTags(r); err != nil {
		return err
	}
	tags, err := a.c.ServerTags(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	tag := r.PathValue("tag")
	for _, t := range tags {
		if t == tag {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	}
	return notFoundf("Tag '%s' could not be found.", tag)
}

func (a *api) addServerTag(w http.ResponseWriter, r *http.Request) error {
	if err := requireTags(r); err != nil {
		return err
	}
	tag := r.PathValue("tag")
	if err := validTag(tag); err != nil {
		return err
	}
	added, err := a.c.AddServerTag(r.Context(), r.PathValue("id"), tag)
	if err != nil {
		return err
	}
	if !added {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Location", apihttp.BaseURL(r)+v21+"/servers/"+r.PathValue("id")+"/tags/"+tag)
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (a *api) deleteServerTag(w http.ResponseWriter, r *http.Request) error {
	if err := requireTags(r); err != nil {
		return err
	}
	if err := a.c.DeleteServerTag(r.Context(), r.PathValue("id"), r.PathValue("tag"), false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) deleteServerTags(w http.ResponseWriter, r *http.Request) error {
	if err := requireTags(r); err != nil {
		return err
	}
	if err := a.c.DeleteServerTag(r.Context(), r.PathValue("id"), "", true); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
