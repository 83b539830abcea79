package glance

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
)

// Fetch opens url for the web-download import method (image.Config.Fetch).
// Redirects are followed (up to Go's default of ten); a non-2xx answer is
// an error.
func Fetch(ctx context.Context, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := fetchClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		resp.Body.Close()
		return nil, fmt.Errorf("web-download %s: HTTP %d", url, resp.StatusCode)
	}
	return resp.Body, nil
}

var fetchClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	ResponseHeaderTimeout: time.Minute,
	TLSHandshakeTimeout:   30 * time.Second,
}}

func (a *api) importInfo(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"import-methods": map[string]any{
		"description": "Import methods available.", "type": "array", "value": a.img.Methods()}})
	return nil
}

func (a *api) storesInfo(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"stores": []map[string]any{
		{"id": image.StoreID, "description": "Local filesystem under the data dir", "default": true}}})
	return nil
}

func (a *api) importImage(w http.ResponseWriter, r *http.Request) error {
	var raw map[string]any
	if err := apihttp.Decode(w, r, &raw); err != nil {
		return err
	}
	req := image.ImportRequest{Raw: raw}
	method, _ := raw["method"].(map[string]any)
	if method == nil {
		return fault.New(fault.BadRequest, "Import request requires a 'method' field.")
	}
	req.Method, _ = method["name"].(string)
	req.URI, _ = method["uri"].(string)
	if stores, ok := raw["stores"].([]any); ok {
		for _, s := range stores {
			if str, ok := s.(string); ok {
				req.Stores = append(req.Stores, str)
			}
		}
	}
	if err := a.img.Import(r.Context(), r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) listImageTasks(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.img.ListTasks(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(ts))
	for i := range ts {
		views = append(views, taskView(&ts[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"tasks": views})
	return nil
}
