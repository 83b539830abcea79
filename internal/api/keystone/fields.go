package keystone

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// fields is one resource object of a request body, decoded lazily so that
// PATCH can tell an absent field from a null one and keep unknown
// attributes as extras (as Keystone does).
type fields map[string]json.RawMessage

// decodeResource decodes {"<name>": {...}}.
func decodeResource(w http.ResponseWriter, r *http.Request, name string) (fields, error) {
	var env map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &env); err != nil {
		return nil, err
	}
	raw, ok := env[name]
	if !ok {
		return nil, invalid("'%s' is a required property", name)
	}
	var f fields
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return nil, invalid("Invalid input for field '%s': expected an object.", name)
	}
	return f, nil
}

func invalid(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return fault.New(fault.BadRequest, "Invalid input for field/attribute. Value: %s. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.", msg)
}

func (f fields) has(name string) bool { _, ok := f[name]; return ok }

func (f fields) isNull(name string) bool { return string(f[name]) == "null" }

// str sets *dst when the field is present; null clears it when nullable.
func (f fields) str(name string, dst *string, nullable bool) error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	if string(raw) == "null" {
		if !nullable {
			return invalid("Invalid input for field '%s': None is not of type 'string'", name)
		}
		*dst = ""
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return invalid("Invalid input for field '%s': %s is not of type 'string'", name, string(raw))
	}
	return nil
}

// name reads a required-when-creating name of 1..255 characters.
func (f fields) name(dst *string, required bool) error { return f.nameMax(dst, required, 255) }

// nameMax reads a name of 1..max characters (Keystone: 64 for domains,
// projects and groups; 255 for users and roles).
func (f fields) nameMax(dst *string, required bool, max int) error {
	if !f.has("name") {
		if required {
			return invalid("'name' is a required property")
		}
		return nil
	}
	if err := f.str("name", dst, false); err != nil {
		return err
	}
	if strings.TrimSpace(*dst) == "" || len([]rune(*dst)) > max {
		return invalid("Invalid input for field 'name': '%s' is not a valid name (1 to 255 characters, not blank)", *dst)
	}
	return nil
}

func (f fields) boolean(name string, dst *bool) error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil || string(raw) == "null" {
		return invalid("Invalid input for field '%s': %s is not of type 'boolean'", name, string(raw))
	}
	return nil
}

func (f fields) strs(name string, dst *[]string) error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	var v []string
	if err := json.Unmarshal(raw, &v); err != nil {
		return invalid("Invalid input for field '%s': %s is not of type 'array' of strings", name, string(raw))
	}
	if v == nil {
		v = []string{}
	}
	*dst = v
	return nil
}

func (f fields) object(name string, dst *map[string]any) error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return invalid("Invalid input for field '%s': %s is not of type 'object'", name, string(raw))
	}
	if v == nil {
		v = map[string]any{}
	}
	*dst = v
	return nil
}

// extra merges the fields not in known into m (null removes a key).
func (f fields) extra(m map[string]any, known ...string) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	for k, raw := range f {
		if slices.Contains(known, k) || k == "links" || k == "id" {
			continue
		}
		var v any
		if json.Unmarshal(raw, &v) != nil {
			continue
		}
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

// tags validates project/domain tags as Keystone does.
func (f fields) tags(dst *[]string) error {
	if err := f.strs("tags", dst); err != nil {
		return err
	}
	if len(*dst) > 80 {
		return invalid("Invalid input for field 'tags': too many tags (at most 80)")
	}
	seen := map[string]bool{}
	for _, t := range *dst {
		if t == "" || len(t) > 255 || strings.ContainsAny(t, "/,") {
			return invalid("Invalid input for field 'tags': '%s' is not a valid tag", t)
		}
		if seen[t] {
			return invalid("Invalid input for field 'tags': duplicate tag '%s'", t)
		}
		seen[t] = true
	}
	return nil
}
