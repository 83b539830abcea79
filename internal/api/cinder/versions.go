package cinder

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
	Type string `json:"type,omitempty"`
}

type mediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

type versionView struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Version    string      `json:"version"`
	MinVersion string      `json:"min_version"`
	Updated    string      `json:"updated"`
	Links      []link      `json:"links"`
	MediaTypes []mediaType `json:"media-types"`
}

func v3Doc(r *http.Request) versionView {
	return versionView{ID: "v3.0", Status: "CURRENT", Version: Versions.Max.String(), MinVersion: Versions.Min.String(),
		Updated: "2023-08-31T00:00:00Z",
		Links: []link{{Rel: "describedby", Type: "text/html", Href: "https://docs.openstack.org/"},
			{Rel: "self", Href: apihttp.BaseURL(r) + prefix + "/v3/"}},
		MediaTypes: []mediaType{{Base: "application/json", Type: "application/vnd.openstack.volume+json;version=3"}}}
}

// versions answers GET /volume/ with 300 Multiple Choices, as Cinder.
func (a *api) versions(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": []versionView{v3Doc(r)}})
	return nil
}

// version answers GET /volume/v3/ (Cinder lists the version there too).
func (a *api) version(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"versions": []versionView{v3Doc(r)}})
	return nil
}
