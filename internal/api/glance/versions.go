package glance

import (
	"fmt"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

// maxMinor is the highest Image API minor version advertised (v2.16, Zed).
const maxMinor = 16

func versionsBody(r *http.Request) map[string]any {
	href := apihttp.BaseURL(r) + v2 + "/"
	var vs []map[string]any
	for m := maxMinor; m >= 0; m-- {
		status := "SUPPORTED"
		if m == maxMinor {
			status = "CURRENT"
		}
		vs = append(vs, map[string]any{"id": fmt.Sprintf("v2.%d", m), "status": status,
			"links": []map[string]string{{"rel": "self", "href": href}}})
	}
	return map[string]any{"versions": vs}
}

// versions answers 300 Multiple Choices, as Glance does at its root.
func (a *api) versions(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusMultipleChoices, versionsBody(r))
	return nil
}

// versionsOK is GET /versions, the same document with 200.
func (a *api) versionsOK(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusOK, versionsBody(r))
	return nil
}
