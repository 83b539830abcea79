package nova

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/api/microversion"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// timeFormat is Nova's timestamp format (no zone: UTC).
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

func badRequest(format string, args ...any) error {
	return fault.New(fault.BadRequest, format, args...)
}

// decodeBody decodes the JSON body into a map of raw fields under envelope
// ("" for none).
func decodeBody(w http.ResponseWriter, r *http.Request, envelope string) (map[string]json.RawMessage, error) {
	var outer map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &outer); err != nil {
		return nil, err
	}
	if envelope == "" {
		return outer, nil
	}
	raw, ok := outer[envelope]
	if !ok {
		return nil, badRequest("Invalid input for field/attribute %s. Value: None. '%s' is a required property.", envelope, envelope)
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(raw, &inner); err != nil || inner == nil {
		return nil, badRequest("Invalid input for field/attribute %s. It must be an object.", envelope)
	}
	return inner, nil
}

// intField reads an integer that Nova also accepts as a numeric string.
// A missing field is def; "" is def when allowEmpty.
func intField(m map[string]json.RawMessage, name string, def int64, allowEmpty bool) (int64, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" && allowEmpty {
		return def, nil
	}
	var n json.Number
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, badRequest("Invalid input for field/attribute %s.", name)
	}
	switch x := v.(type) {
	case json.Number:
		n = x
	case string:
		if x == "" && allowEmpty {
			return def, nil
		}
		n = json.Number(strings.TrimSpace(x))
	default:
		return 0, badRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'integer', 'string'.", name, raw, raw)
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, badRequest("Invalid input for field/attribute %s. Value: %s. It must be an integer.", name, raw)
	}
	return i, nil
}

func stringField(m map[string]json.RawMessage, name string) (*string, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, badRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'string'.", name, raw, raw)
	}
	return &s, nil
}

func boolField(m map[string]json.RawMessage, name string) (*bool, error) {
	raw, ok := m[name]
	if !ok {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, badRequest("Invalid input for field/attribute %s.", name)
	}
	switch x := v.(type) {
	case bool:
		return &x, nil
	case string:
		if b, ok := parseBool(x); ok {
			return &b, nil
		}
	}
	return nil, badRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'boolean'.", name, raw, raw)
}

// parseBool reads oslo's boolean strings.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, true
	case "0", "f", "false", "off", "n", "no":
		return false, true
	}
	return false, false
}

// onlyFields refuses fields outside allowed (Nova's additionalProperties: false).
func onlyFields(m map[string]json.RawMessage, allowed ...string) error {
outer:
	for k := range m {
		for _, a := range allowed {
			if k == a {
				continue outer
			}
		}
		return badRequest("Invalid input for field/attribute. Additional properties are not allowed ('%s' was unexpected).", k)
	}
	return nil
}

func linkSelf(r *http.Request, kind, id string) []link {
	base := apihttp.BaseURL(r)
	return []link{
		{Rel: "self", Href: base + v21 + "/" + kind + "/" + id},
		{Rel: "bookmark", Href: base + prefix + "/" + kind + "/" + id},
	}
}
