package neutron

import (
	"net/http"
	"slices"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

func (a *api) listTags(c string) apihttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tags, err := a.net.Tags(r.Context(), c, r.PathValue("id"))
		if err != nil {
			return err
		}
		apihttp.WriteJSON(w, http.StatusOK, map[string]any{"tags": tags})
		return nil
	}
}

func (a *api) replaceTags(c string) apihttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body struct {
			Tags []string `json:"tags"`
		}
		if err := apihttp.Decode(w, r, &body); err != nil {
			return err
		}
		if body.Tags == nil {
			return badRequest("Invalid input: 'tags' is required")
		}
		tags, err := a.net.ChangeTags(r.Context(), c, r.PathValue("id"), func([]string) ([]string, error) { return body.Tags, nil })
		if err != nil {
			return err
		}
		apihttp.WriteJSON(w, http.StatusOK, map[string]any{"tags": tags})
		return nil
	}
}

func (a *api) clearTags(c string) apihttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := a.net.ChangeTags(r.Context(), c, r.PathValue("id"), func([]string) ([]string, error) { return []string{}, nil }); err != nil {
			return err
		}
		return noContent(w)
	}
}

func (a *api) checkTag(c string) apihttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tags, err := a.net.Tags(r.Context(), c, r.PathValue("id"))
		if err != nil {
			return err
		}
		if !slices.Contains(tags, r.PathValue("tag")) {
			return &fault.Error{Kind: fault.NotFound, Type: "TagNotFound", Msg: "Tag " + r.PathValue("tag") + " could not be found."}
		}
		return noContent(w)
	}
}

func (a *api) addTag(c string) apihttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tag := r.PathValue("tag")
		if _, err := a.net.ChangeTags(r.Context(), c, r.PathValue("id"), func(t []string) ([]string, error) { return append(t, tag), nil }); err != nil {
			return err
		}
		w.WriteHeader(http.StatusCreated)
		return nil
	}
}

func (a *api) deleteTag(c string) apihttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tag := r.PathValue("tag")
		_, err := a.net.ChangeTags(r.Context(), c, r.PathValue("id"), func(t []string) ([]string, error) {
			if !slices.Contains(t, tag) {
				return nil, &fault.Error{Kind: fault.NotFound, Type: "TagNotFound", Msg: "Tag " + tag + " could not be found."}
			}
			return slices.DeleteFunc(t, func(x string) bool { return x == tag }), nil
		})
		if err != nil {
			return err
		}
		return noContent(w)
	}
}
