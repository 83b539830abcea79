package image

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// readOnly are attributes only the service sets.
var readOnly = []string{"status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
	"created_at", "updated_at", "file", "self", "schema", "direct_url", "stores", "locations"}

// baseAttrs are the attributes of every image (not extra properties);
// none can be removed.
var baseAttrs = []string{"id", "name", "visibility", "protected", "os_hidden", "owner", "disk_format",
	"container_format", "min_disk", "min_ram", "tags", "status", "size", "virtual_size", "checksum",
	"os_hash_algo", "os_hash_value", "created_at", "updated_at", "file", "self", "schema", "direct_url",
	"stores", "locations"}

// nullableProps are schema properties stored as extra properties whose
// value is a UUID or null.
var nullableProps = []string{"kernel_id", "ramdisk_id"}

var uuidRE = regexp.MustCompile(`^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$`)

func isReserved(name string) bool { return strings.HasPrefix(name, "os_glance") }

func invalid(name string, v any) error {
	return badRequest("Invalid value '%v' for attribute '%s'.", v, name)
}

func asString(name string, v any, max int, nullable bool) (*string, error) {
	if v == nil {
		if nullable {
			return nil, nil
		}
		return nil, invalid(name, v)
	}
	s, ok := v.(string)
	if !ok {
		return nil, badRequest("Invalid type for attribute '%s': %v is not of type 'string'.", name, v)
	}
	if max > 0 && len([]rune(s)) > max {
		return nil, badRequest("Attribute '%s' is longer than %d characters.", name, max)
	}
	return &s, nil
}

func asInt(name string, v any) (int64, error) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < 0 || f > math.MaxInt32 {
		return 0, badRequest("Invalid value '%v' for attribute '%s': it must be a non-negative integer.", v, name)
	}
	return int64(f), nil
}

func asBool(name string, v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, badRequest("Invalid type for attribute '%s': %v is not of type 'boolean'.", name, v)
	}
	return b, nil
}

func oneOf(name string, v any, allowed []string, nullable bool) (string, error) {
	s, err := asString(name, v, 0, nullable)
	if err != nil || s == nil {
		return "", err
	}
	if !slices.Contains(allowed, *s) {
		return "", badRequest("Invalid value '%s' for parameter '%s': it must be one of %s.", *s, name, strings.Join(allowed, ", "))
	}
	return *s, nil
}

// has reports whether the image has an attribute or extra property name
// (what a JSON-patch "replace" needs).
func has(im *Image, name string) bool {
	if slices.Contains(baseAttrs, name) {
		return true
	}
	_, ok := im.Properties[name]
	return ok
}

// setAttr sets one attribute or extra property of im with Glance's rules;
// creating is true inside image create.
func (s *Service) setAttr(c *policy.Credentials, im *Image, name string, v any, creating bool) error {
	if name == "id" && creating {
		id, err := asString(name, v, 0, false)
		if err != nil {
			return err
		}
		if !uuidRE.MatchString(*id) {
			return badRequest("Invalid value '%s' for attribute 'id': it is not a valid UUID.", *id)
		}
		im.ID = strings.ToLower(*id)
		return nil
	}
	if slices.Contains(readOnly, name) || name == "id" {
		return forbidden("Attribute '%s' is read-only.", name)
	}
	if isReserved(name) {
		return forbidden("Attribute '%s' is reserved.", name)
	}
	switch name {
	case "name":
		n, err := asString(name, v, 255, true)
		if err != nil {
			return err
		}
		im.Name = n
	case "visibility":
		vis, err := oneOf(name, v, []string{Public, Private, Shared, Community}, false)
		if err != nil {
			return err
		}
		if vis == Public && vis != im.Visibility && !c.IsAdmin() {
			return forbidden("You are not authorized to complete publicize_image action.")
		}
		im.Visibility = vis
	case "disk_format", "container_format":
		allowed := DiskFormats
		if name == "container_format" {
			allowed = ContainerFormats
		}
		f, err := oneOf(name, v, allowed, true)
		if err != nil {
			return err
		}
		cur := &im.DiskFormat
		if name == "container_format" {
			cur = &im.ContainerFormat
		}
		if !creating && im.Status != StatusQueued && f != *cur {
			return forbidden("Attribute %s can be only replaced for a queued image.", name)
		}
		*cur = f
	case "min_disk", "min_ram":
		n, err := asInt(name, v)
		if err != nil {
			return err
		}
		if name == "min_disk" {
			im.MinDisk = n
		} else {
			im.MinRAM = n
		}
	case "protected", "os_hidden":
		b, err := asBool(name, v)
		if err != nil {
			return err
		}
		if name == "protected" {
			im.Protected = b
		} else {
			im.Hidden = b
		}
	case "owner":
		o, err := asString(name, v, 255, true)
		if err != nil {
			return err
		}
		owner := ""
		if o != nil {
			owner = *o
		}
		if owner != im.Owner && !c.IsAdmin() {
			return forbidden("You are not permitted to set the owner of an image to %s.", owner)
		}
		im.Owner = owner
	case "tags":
		list, ok := v.([]any)
		if !ok {
			return badRequest("Invalid type for attribute 'tags': it must be a list of strings.")
		}
		tags := []string{}
		for _, t := range list {
			ts, err := asString("tags", t, 255, false)
			if err != nil {
				return err
			}
			if !slices.Contains(tags, *ts) {
				tags = append(tags, *ts)
			}
		}
		if len(tags) > s.cfg.MaxTags {
			return fault.New(fault.OverLimit, "Attempted: %d, Maximum: %d", len(tags), s.cfg.MaxTags)
		}
		im.Tags = tags
	default:
		if len(name) > 255 || name == "" {
			return badRequest("Invalid property name '%s'.", name)
		}
		if slices.Contains(nullableProps, name) {
			p, err := asString(name, v, 0, true)
			if err != nil {
				return err
			}
			if p == nil {
				delete(im.Properties, name)
				return nil
			}
			if !uuidRE.MatchString(*p) {
				return badRequest("Invalid value '%s' for attribute '%s': it is not a valid UUID.", *p, name)
			}
			v = *p
		}
		sv, ok := v.(string)
		if !ok {
			return badRequest("Invalid type for property '%s': %s is not of type 'string'.", name, fmt.Sprint(v))
		}
		if im.Properties == nil {
			im.Properties = map[string]string{}
		}
		if _, exists := im.Properties[name]; !exists && len(im.Properties) >= s.cfg.MaxProperties {
			return fault.New(fault.OverLimit, "Attempted: %d, Maximum: %d", len(im.Properties)+1, s.cfg.MaxProperties)
		}
		im.Properties[name] = sv
	}
	return nil
}

// PatchOp is one JSON-patch operation on an image.
type PatchOp struct {
	// Op is add, replace or remove.
	Op string
	// Path is the decoded JSON pointer, split on "/" ("name", or
	// "locations", "-").
	Path []string
	// Value is the decoded JSON value (add and replace).
	Value any
	// Strict is true for the v2.0 patch dialect, where "add" of an existing
	// attribute is a conflict.
	Strict bool
}

// applyPatch applies ops to im in order with Glance's rules.
func (s *Service) applyPatch(c *policy.Credentials, im *Image, ops []PatchOp) error {
	for _, op := range ops {
		if len(op.Path) == 0 || op.Path[0] == "" {
			return badRequest("Invalid JSON pointer for this resource: '/'")
		}
		name := op.Path[0]
		if name == "locations" {
			return forbidden("It's not allowed to update locations if locations are invisible.")
		}
		if len(op.Path) > 1 {
			return badRequest("Invalid JSON pointer for this resource: '/%s'", strings.Join(op.Path, "/"))
		}
		if slices.Contains(readOnly, name) || name == "id" {
			return forbidden("Attribute '%s' is read-only.", name)
		}
		if isReserved(name) {
			return forbidden("Attribute '%s' is reserved.", name)
		}
		switch op.Op {
		case "add":
			if op.Strict && has(im, name) && !slices.Contains(baseAttrs, name) {
				return fault.New(fault.Conflict, "Property %s already present.", name)
			}
			if err := s.setAttr(c, im, name, op.Value, false); err != nil {
				return err
			}
		case "replace":
			if !has(im, name) && !slices.Contains(nullableProps, name) {
				return fault.New(fault.Conflict, "Property %s does not exist.", name)
			}
			if err := s.setAttr(c, im, name, op.Value, false); err != nil {
				return err
			}
		case "remove":
			if slices.Contains(baseAttrs, name) {
				return forbidden("Property %s may not be removed.", name)
			}
			if _, ok := im.Properties[name]; !ok {
				return fault.New(fault.Conflict, "Property %s does not exist.", name)
			}
			delete(im.Properties, name)
		default:
			return badRequest("Unable to find '%s' in JSON Schema change", op.Op)
		}
	}
	return nil
}
