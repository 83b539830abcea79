package neutron

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

// view is one resource as rendered on the wire.
type view = map[string]any

// control parameters are not filters.
var control = map[string]bool{"fields": true, "sort_key": true, "sort_dir": true, "limit": true, "marker": true,
	"page_reverse": true, "tags": true, "tags-any": true, "not-tags": true, "not-tags-any": true, "verbose": true}

// scalar renders a view value for comparison with a query value.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case *int:
		if x == nil {
			return "", true
		}
		return strconv.Itoa(*x), true
	case fmt.Stringer:
		return x.String(), true
	}
	return "", false
}

func matchValue(v any, want []string) bool {
	if s, ok := scalar(v); ok {
		for _, w := range want {
			if w == s || strings.EqualFold(w, s) && (s == "true" || s == "false") {
				return true
			}
			if (w == "None" || w == "null") && s == "" {
				return true
			}
		}
		return false
	}
	switch x := v.(type) {
	case []string:
		for _, s := range x {
			if slices.Contains(want, s) {
				return true
			}
		}
		return false
	case []view:
		// fixed_ips=ip_address=1.2.3.4 / subnet_id=… / ip_address_substr=…
		for _, w := range want {
			k, val, ok := strings.Cut(w, "=")
			if !ok {
				return false
			}
			found := false
			for _, m := range x {
				s, _ := scalar(m[k])
				if k == "ip_address_substr" {
					s, _ = scalar(m["ip_address"])
					if strings.Contains(s, val) {
						found = true
					}
				} else if s == val {
					found = true
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	return true
}

func splitTags(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, t := range strings.Split(v, ",") {
			if t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

func tagsOf(v view) []string {
	t, _ := v["tags"].([]string)
	return t
}

// filter keeps the views matching every filter in the query.
func filter(q url.Values, items []view) []view {
	out := items[:0:0]
	for _, it := range items {
		ok := true
		for k, want := range q {
			if control[k] {
				continue
			}
			if strings.HasSuffix(k, "_substr") {
				// not supported beyond fixed_ips; ignore
				continue
			}
			v, present := it[k]
			if !present {
				continue
			}
			if k == "fixed_ips" {
				if !matchValue(v, want) {
					ok = false
				}
				continue
			}
			if !matchValue(v, want) {
				ok = false
			}
		}
		if ok {
			tags := tagsOf(it)
			if all := splitTags(q["tags"]); len(all) > 0 && !containsAll(tags, all) {
				ok = false
			}
			if any := splitTags(q["tags-any"]); len(any) > 0 && !containsAny(tags, any) {
				ok = false
			}
			if not := splitTags(q["not-tags"]); len(not) > 0 && containsAll(tags, not) {
				ok = false
			}
			if notAny := splitTags(q["not-tags-any"]); len(notAny) > 0 && containsAny(tags, notAny) {
				ok = false
			}
		}
		if ok {
			out = append(out, it)
		}
	}
	return out
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func containsAny(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

func compareValues(a, b any) int {
	sa, _ := scalar(a)
	sb, _ := scalar(b)
	fa, ea := strconv.ParseFloat(sa, 64)
	fb, eb := strconv.ParseFloat(sb, 64)
	if ea == nil && eb == nil {
		return cmp.Compare(fa, fb)
	}
	return cmp.Compare(sa, sb)
}

// sortViews applies sort_key/sort_dir (default: by id, ascending).
func sortViews(q url.Values, items []view) error {
	keys, dirs := q["sort_key"], q["sort_dir"]
	for _, d := range dirs {
		if d != "asc" && d != "desc" {
			return badRequest("%s is an invalid value for sort_dir, valid values are 'asc' and 'desc'", d)
		}
	}
	if len(keys) == 0 {
		keys = []string{"id"}
	}
	for _, k := range keys {
		if len(items) > 0 {
			if _, ok := items[0][k]; !ok {
				return badRequest("%s is an invalid attribute for sort_keys", k)
			}
		}
	}
	slices.SortStableFunc(items, func(a, b view) int {
		for i, k := range keys {
			c := compareValues(a[k], b[k])
			if i < len(dirs) && dirs[i] == "desc" {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a["id"].(string), b["id"].(string))
	})
	return nil
}

// project keeps only the fields asked for.
func project(q url.Values, v view) view {
	fields := q["fields"]
	if len(fields) == 0 {
		return v
	}
	out := view{}
	for _, f := range fields {
		for _, f := range strings.Split(f, ",") {
			if x, ok := v[f]; ok {
				out[f] = x
			}
		}
	}
	return out
}

// writeList renders a collection after filtering, sorting, paging and
// field selection.
func writeList(w http.ResponseWriter, r *http.Request, collection string, items []view) error {
	q := r.URL.Query()
	items = filter(q, items)
	if err := sortViews(q, items); err != nil {
		return err
	}
	reverse := strings.EqualFold(q.Get("page_reverse"), "true")
	if reverse {
		slices.Reverse(items)
	}
	page, err := apihttp.Paginate(r, items, func(v view) string { return v["id"].(string) }, 0)
	if err != nil {
		return err
	}
	out := make([]view, 0, len(page.Items))
	for _, it := range page.Items {
		out = append(out, project(q, it))
	}
	if reverse {
		slices.Reverse(out)
	}
	body := map[string]any{collection: out}
	if q.Get("limit") != "" {
		var links []map[string]string
		if page.Next != "" {
			links = append(links, map[string]string{"rel": "next", "href": apihttp.NextLink(apihttp.BaseURL(r), r, page.Next)})
		}
		if q.Get("marker") != "" && len(page.Items) > 0 {
			pq := r.URL.Query()
			pq.Set("marker", page.Items[0]["id"].(string))
			pq.Set("page_reverse", "True")
			links = append(links, map[string]string{"rel": "previous", "href": apihttp.BaseURL(r) + r.URL.Path + "?" + pq.Encode()})
		}
		if links != nil {
			body[collection+"_links"] = links
		}
	}
	apihttp.WriteJSON(w, http.StatusOK, body)
	return nil
}

// writeOne renders one resource, honouring fields=.
func writeOne(w http.ResponseWriter, r *http.Request, status int, key string, v view) error {
	apihttp.WriteJSON(w, status, map[string]any{key: project(r.URL.Query(), v)})
	return nil
}

// ifMatch parses If-Match: revision_number=N.
func ifMatch(r *http.Request) (*int64, error) {
	h := r.Header.Get("If-Match")
	if h == "" {
		return nil, nil
	}
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == "revision_number" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, badRequest("Invalid If-Match header: %s", h)
			}
			return &n, nil
		}
	}
	return nil, nil
}
