package keystone

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

// view is a rendered resource. Views are maps because Keystone resources
// carry arbitrary extra attributes next to their own.
type view = map[string]any

// timeFormat is Keystone's timestamp format.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func self(r *http.Request, path string) map[string]any {
	return map[string]any{"self": apihttp.BaseURL(r) + v3 + path}
}

func withExtra(v view, extra map[string]any) view {
	for k, x := range extra {
		if _, ok := v[k]; !ok {
			v[k] = x
		}
	}
	return v
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// reserved query parameters that are not attribute filters.
var reserved = []string{"limit", "marker", "sort_key", "sort_dir", "include_names", "effective", "include_subtree",
	"parents_as_list", "subtree_as_list", "parents_as_ids", "subtree_as_ids", "nocatalog", "allow_expired",
	"tags", "tags-any", "not-tags", "not-tags-any"}

// filter keeps the views whose attributes match the request's query
// parameters, with Keystone's inexact operators (name__contains, …).
func filter(r *http.Request, views []view) []view {
	q := r.URL.Query()
	out := views[:0:0]
next:
	for _, v := range views {
		for key, vals := range q {
			if slices.Contains(reserved, key) || len(vals) == 0 || strings.Contains(key, ".") {
				continue
			}
			attr, op, _ := strings.Cut(key, "__")
			got, ok := v[attr]
			if !ok {
				continue
			}
			if !matches(got, op, vals[0]) {
				continue next
			}
		}
		out = append(out, v)
	}
	return out
}

func matches(got any, op, want string) bool {
	var s string
	switch g := got.(type) {
	case nil:
		s = ""
	case bool:
		b, err := strconv.ParseBool(want)
		if err != nil {
			b = want != "0" && !strings.EqualFold(want, "false")
		}
		return g == b
	case string:
		s = g
	default:
		return true
	}
	switch op {
	case "":
		return s == want
	case "contains":
		return strings.Contains(s, want)
	case "icontains":
		return strings.Contains(strings.ToLower(s), strings.ToLower(want))
	case "startswith":
		return strings.HasPrefix(s, want)
	case "istartswith":
		return strings.HasPrefix(strings.ToLower(s), strings.ToLower(want))
	case "endswith":
		return strings.HasSuffix(s, want)
	case "iendswith":
		return strings.HasSuffix(strings.ToLower(s), strings.ToLower(want))
	}
	return true
}

// writeList writes {"<name>": [...], "links": {...}} after filtering.
func writeList(w http.ResponseWriter, r *http.Request, name string, views []view) {
	views = filter(r, views)
	if views == nil {
		views = []view{}
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{
		name:    views,
		"links": map[string]any{"self": apihttp.BaseURL(r) + r.URL.RequestURI(), "previous": nil, "next": nil},
	})
}

func writeOne(w http.ResponseWriter, status int, name string, v view) {
	apihttp.WriteJSON(w, status, map[string]any{name: v})
}
