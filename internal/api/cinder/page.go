package cinder

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// maxLimit is Cinder's osapi_max_limit.
const maxLimit = 1000

// paginate cuts items by limit and marker. As Cinder, a full page always
// has a next link (even when nothing follows).
func paginate[T any](r *http.Request, items []T, id func(T) string) ([]T, []link, error) {
	if off := r.URL.Query().Get("offset"); off != "" {
		n, err := strconv.Atoi(off)
		if err != nil || n < 0 {
			return nil, nil, badRequest("Invalid input received: offset must be a non-negative integer.")
		}
		items = items[min(n, len(items)):]
	}
	p, err := apihttp.Paginate(r, items, id, maxLimit)
	if fe := fault.As(err); fe != nil && fe.Kind == fault.BadRequest && strings.HasPrefix(fe.Msg, "marker") {
		// Cinder's MarkerNotFound is a 404.
		return nil, nil, fault.New(fault.NotFound, "Marker %s could not be found.", r.URL.Query().Get("marker"))
	}
	if err != nil {
		return nil, nil, err
	}
	next := p.Next
	if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && l > 0 && len(p.Items) == l && next == "" {
		next = id(p.Items[len(p.Items)-1])
	}
	if next == "" {
		return p.Items, nil, nil
	}
	// The link keeps the path the client used (with or without project).
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		u = r.URL
	}
	q := r.URL.Query()
	q.Set("marker", next)
	href := apihttp.BaseURL(r) + (&url.URL{Path: u.Path, RawQuery: q.Encode()}).String()
	return p.Items, []link{{Rel: "next", Href: href}}, nil
}

// writePage answers a list request: the page of items the request asks for
// (paginate), each rendered by view, under key, with the next link under
// linksKey when there is one.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T, id func(T) string, view func(*T) map[string]any, key, linksKey string) error {
	page, next, err := paginate(r, items, id)
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(page))
	for i := range page {
		views = append(views, view(&page[i]))
	}
	out := map[string]any{key: views}
	if next != nil {
		out[linksKey] = next
	}
	apihttp.WriteJSON(w, http.StatusOK, out)
	return nil
}
