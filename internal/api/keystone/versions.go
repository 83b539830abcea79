package keystone

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

func versionView(r *http.Request) map[string]any {
	return map[string]any{
		"id":      "v3.14",
		"status":  "stable",
		"updated": "2020-04-07T00:00:00Z",
		"links":   []map[string]string{{"rel": "self", "href": apihttp.BaseURL(r) + v3 + "/"}},
		"media-types": []map[string]string{{
			"base": "application/json",
			"type": "application/vnd.openstack.identity-v3+json",
		}},
	}
}

// versions answers GET /identity: the list of API versions, 300 as Keystone.
func (a *api) versions(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{versionView(r)}}})
	return nil
}

// version answers GET /identity/v3.
func (a *api) version(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"version": versionView(r)})
	return nil
}
