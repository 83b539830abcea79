package keystone

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/identity"
)

func (a *api) listProjectTags(w http.ResponseWriter, r *http.Request) error {
	p, err := a.id.GetProject(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"tags": orEmpty(p.Tags)})
	return nil
}

func (a *api) replaceProjectTags(w http.ResponseWriter, r *http.Request) error {
	var body map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &body); err != nil {
		return err
	}
	f := fields(body)
	if !f.has("tags") {
		return invalid("'tags' is a required property")
	}
	var tags []string
	if err := f.tags(&tags); err != nil {
		return err
	}
	p, err := a.id.UpdateProject(r.Context(), r.PathValue("id"), func(p *identity.Project) error { p.Tags = tags; return nil })
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"tags": orEmpty(p.Tags)})
	return nil
}

func (a *api) clearProjectTags(w http.ResponseWriter, r *http.Request) error {
	_, err := a.id.UpdateProject(r.Context(), r.PathValue("id"), func(p *identity.Project) error { p.Tags = []string{}; return nil })
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) checkProjectTag(w http.ResponseWriter, r *http.Request) error {
	p, err := a.id.GetProject(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !slices.Contains(p.Tags, r.PathValue("tag")) {
		return fault.New(fault.NotFound, "Could not find tag: %s.", r.PathValue("tag"))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) addProjectTag(w http.ResponseWriter, r *http.Request) error {
	tag := r.PathValue("tag")
	f := fields{"tags": mustJSON([]string{tag})}
	var tags []string
	if err := f.tags(&tags); err != nil {
		return err
	}
	p, err := a.id.UpdateProject(r.Context(), r.PathValue("id"), func(p *identity.Project) error {
		if !slices.Contains(p.Tags, tag) {
			if len(p.Tags) >= 80 {
				return invalid("Invalid input for field 'tags': too many tags (at most 80)")
			}
			p.Tags = append(p.Tags, tag)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", apihttp.BaseURL(r)+v3+"/projects/"+p.ID+"/tags/"+tag)
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (a *api) deleteProjectTag(w http.ResponseWriter, r *http.Request) error {
	tag := r.PathValue("tag")
	_, err := a.id.UpdateProject(r.Context(), r.PathValue("id"), func(p *identity.Project) error {
		i := slices.Index(p.Tags, tag)
		if i < 0 {
			return fault.New(fault.NotFound, "Could not find tag: %s.", tag)
		}
		p.Tags = slices.Delete(p.Tags, i, i+1)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
