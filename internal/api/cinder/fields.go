package cinder

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/api/microversion"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// timeFormat is Cinder's timestamp format (no zone: UTC).
const timeFormat = "2006-01-02T15:04:05.000000"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func tsPtr(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := ts(*t)
	return &s
}

func mv(r *http.Request) microversion.Version { return microversion.FromContext(r.Context()) }

func creds(r *http.Request) *policy.Credentials { return policy.FromContext(r.Context()) }

func badRequest(format string, args ...any) error {
	return fault.New(fault.BadRequest, format, args...)
}

func notFoundPath() error { return fault.New(fault.NotFound, "The resource could not be found.") }

// body decodes the JSON body into a map of raw fields under envelope.
func body(w http.ResponseWriter, r *http.Request, envelope string) (map[string]json.RawMessage, error) {
	var outer map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &outer); err != nil {
		return nil, err
	}
	if envelope == "" {
		return outer, nil
	}
	raw, ok := outer[envelope]
	if !ok {
		return nil, badRequest("Missing required element '%s' in request body.", envelope)
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(raw, &inner); err != nil || inner == nil {
		return nil, badRequest("Invalid input for field/attribute %s. It must be an object.", envelope)
	}
	return inner, nil
}

// str reads an optional string field (null is nil).
func str(m map[string]json.RawMessage, name string) (*string, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, badRequest("Invalid input for field/attribute %s. Value: %s. It must be a string.", name, raw)
	}
	return &s, nil
}

func strOr(m map[string]json.RawMessage, names ...string) (string, error) {
	for _, n := range names {
		s, err := str(m, n)
		if err != nil {
			return "", err
		}
		if s != nil {
			return *s, nil
		}
	}
	return "", nil
}

// intField reads an integer that Cinder also accepts as a numeric string.
func intField(m map[string]json.RawMessage, name string) (int64, bool, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return 0, false, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, true, badRequest("Invalid input received: %s must be an integer, got %s.", name, raw)
		}
		n = json.Number(strings.TrimSpace(s))
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, true, badRequest("Invalid input received: %s must be an integer, got %s.", name, raw)
	}
	return i, true, nil
}

// boolField reads a boolean that Cinder also accepts as a string
// ("true", "False", "1", "yes", …).
func boolField(m map[string]json.RawMessage, name string) (bool, bool, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return false, false, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if v, ok := parseBool(s); ok {
			return v, true, nil
		}
	}
	return false, true, badRequest("Invalid input received: '%s' is not a valid boolean value for %s.", strings.Trim(string(raw), `"`), name)
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "1", "yes", "y", "on":
		return true, true
	case "false", "f", "0", "no", "n", "off":
		return false, true
	}
	return false, false
}

// strMap reads an object of string values.
func strMap(m map[string]json.RawMessage, name string) (map[string]string, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, badRequest("Invalid input received: %s must be a dictionary.", name)
	}
	out := make(map[string]string, len(generic))
	for k, v := range generic {
		switch x := v.(type) {
		case string:
			out[k] = x
		case nil:
			return nil, badRequest("Invalid input received: %s values must be strings.", name)
		default:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out, nil
}

// links builds Cinder's self and bookmark links of a resource.
func links(r *http.Request, project, collection, id string) []link {
	base := apihttp.BaseURL(r) + prefix
	return []link{{Rel: "self", Href: fmt.Sprintf("%s/v3/%s/%s/%s", base, project, collection, id)},
		{Rel: "bookmark", Href: fmt.Sprintf("%s/%s/%s/%s", base, project, collection, id)}}
}

// collectionLinks returns the "<x>_links" next link, or nil on the last page.
func collectionLinks(r *http.Request, next string) []link {
	if next == "" {
		return nil
	}
	return []link{{Rel: "next", Href: apihttp.NextLink(apihttp.BaseURL(r), r, next)}}
}

// query helpers

func allTenants(q url.Values) bool {
	v, ok := parseBool(q.Get("all_tenants"))
	return q.Has("all_tenants") && (q.Get("all_tenants") == "" || ok && v)
}

// sortParams reads sort=k1:d1,k2 or sort_key/sort_dir.
func sortParams(q url.Values) []string {
	if s := q.Get("sort"); s != "" {
		return strings.Split(s, ",")
	}
	keys := strings.Split(q.Get("sort_key"), ",")
	dirs := strings.Split(q.Get("sort_dir"), ",")
	var out []string
	for i, k := range keys {
		if k == "" {
			continue
		}
		d := ""
		if i < len(dirs) {
			d = dirs[i]
		} else if len(dirs) > 0 {
			d = dirs[len(dirs)-1]
		}
		out = append(out, k+":"+d)
	}
	return out
}

// metadataParam parses the metadata filter: JSON, or a Python dict repr
// ({'k': 'v'}) as python-cinderclient and Tempest send it.
func metadataParam(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err == nil {
		return m, nil
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(s, "'", `"`)), &m); err == nil {
		return m, nil
	}
	return nil, badRequest("Invalid input received: metadata filter %s is not a dictionary.", s)
}
