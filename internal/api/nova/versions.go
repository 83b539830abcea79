package nova

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
	MediaTypes []mediaType `json:"media-types,omitempty"`
}

func versionDocs(r *http.Request) []versionView {
	base := apihttp.BaseURL(r) + prefix
	return []versionView{
		{ID: "v2.0", Status: "SUPPORTED", Updated: "2011-01-21T11:33:21Z",
			Links: []link{{Rel: "self", Href: base + "/v2/"}}},
		{ID: "v2.1", Status: "CURRENT", Version: Versions.Max.String(), MinVersion: Versions.Min.String(), Updated: "2013-07-23T11:33:21Z",
			Links: []link{{Rel: "self", Href: base + "/v2.1/"}}},
	}
}

func (a *api) versions(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"versions": versionDocs(r)})
	return nil
}

func (a *api) versionDoc(w http.ResponseWriter, r *http.Request, v versionView) {
	v.Links = append(v.Links, link{Rel: "describedby", Type: "text/html", Href: "https://docs.openstack.org/"})
	v.MediaTypes = []mediaType{{Base: "application/json", Type: "application/vnd.openstack.compute+json;version=2.1"}}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"version": v})
}

// versionV2 documents the legacy v2.0 endpoint, which Nubo lists but does
// not serve (the v2.0 API was removed from Nova; clients use v2.1).
func (a *api) versionV2(w http.ResponseWriter, r *http.Request) error {
	a.versionDoc(w, r, versionDocs(r)[0])
	return nil
}

func (a *api) version(w http.ResponseWriter, r *http.Request) error {
	a.versionDoc(w, r, versionDocs(r)[1])
	return nil
}
