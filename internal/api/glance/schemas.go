package glance

import (
	"net/http"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
)

func str(desc string, extra ...any) map[string]any {
	m := map[string]any{"type": "string", "description": desc}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func nullableEnum(desc string, values []string) map[string]any {
	enum := []any{nil}
	for _, v := range values {
		enum = append(enum, v)
	}
	return map[string]any{"type": []any{"null", "string"}, "description": desc, "enum": enum}
}

func imageSchema() map[string]any {
	uuidPattern := "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"
	ro := true
	props := map[string]any{
		"id":               str("An identifier for the image", "pattern", uuidPattern),
		"name":             map[string]any{"type": []any{"null", "string"}, "description": "Descriptive name for the image", "maxLength": 255},
		"status":           str("Status of the image", "readOnly", ro, "enum", []string{"queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"}),
		"visibility":       str("Scope of image accessibility", "enum", []string{"community", "public", "private", "shared"}),
		"protected":        map[string]any{"type": "boolean", "description": "If true, image will not be deletable."},
		"os_hidden":        map[string]any{"type": "boolean", "description": "If true, image will not appear in default image list response."},
		"checksum":         map[string]any{"type": []any{"null", "string"}, "readOnly": ro, "description": "md5 hash of image contents.", "maxLength": 32},
		"os_hash_algo":     map[string]any{"type": []any{"null", "string"}, "readOnly": ro, "description": "Algorithm to calculate the os_hash_value", "maxLength": 64},
		"os_hash_value":    map[string]any{"type": []any{"null", "string"}, "readOnly": ro, "description": "Hexdigest of the image contents using the algorithm specified by the os_hash_algo", "maxLength": 128},
		"owner":            map[string]any{"type": []any{"null", "string"}, "description": "Owner of the image", "maxLength": 255},
		"size":             map[string]any{"type": []any{"null", "integer"}, "readOnly": ro, "description": "Size of image file in bytes"},
		"virtual_size":     map[string]any{"type": []any{"null", "integer"}, "readOnly": ro, "description": "Virtual size of image in bytes"},
		"container_format": nullableEnum("Format of the container", image.ContainerFormats),
		"disk_format":      nullableEnum("Format of the disk", image.DiskFormats),
		"created_at":       str("Date and time of image registration", "readOnly", ro),
		"updated_at":       str("Date and time of the last image modification", "readOnly", ro),
		"tags":             map[string]any{"type": "array", "description": "List of strings related to the image", "items": map[string]any{"type": "string", "maxLength": 255}},
		"direct_url":       str("URL to access the image file kept in external store", "readOnly", ro),
		"min_ram":          map[string]any{"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
		"min_disk":         map[string]any{"type": "integer", "description": "Amount of disk space (in GB) required to boot image."},
		"self":             str("An image self url", "readOnly", ro),
		"file":             str("An image file url", "readOnly", ro),
		"stores":           str("Store in which image data resides.  Only present when the operator has enabled multiple stores.", "readOnly", ro),
		"schema":           str("An image schema url", "readOnly", ro),
		"locations":        map[string]any{"type": "array", "description": "A set of URLs to access the image file kept in external store", "items": map[string]any{"type": "object"}},
		"kernel_id":        map[string]any{"type": []any{"null", "string"}, "pattern": uuidPattern, "description": "ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.", "is_base": false},
		"ramdisk_id":       map[string]any{"type": []any{"null", "string"}, "pattern": uuidPattern, "description": "ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.", "is_base": false},
	}
	return map[string]any{
		"name": "image", "properties": props, "additionalProperties": map[string]any{"type": "string"},
		"links": []map[string]string{{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"}, {"rel": "describedby", "href": "{schema}"}},
	}
}

func memberSchema() map[string]any {
	return map[string]any{"name": "member", "properties": map[string]any{
		"created_at": str("Date and time of image member creation"),
		"image_id":   str("An identifier for the image"),
		"member_id":  str("An identifier for the image member (tenantId)"),
		"status":     str("The status of this image member", "enum", []string{"pending", "accepted", "rejected"}),
		"updated_at": str("Date and time of last modification of image member"),
		"schema":     str("", "readOnly", true),
	}}
}

// metadefSchemas are the metadata-definition schemas, by path under
// /v2/schemas/metadefs/ → schema name. Nubo serves the schemas (clients
// read them to build forms) but not the metadefs catalog itself.
var metadefSchemas = map[string]string{
	"namespace": "namespace", "namespaces": "namespaces", "resource_type": "resource_type_association",
	"resource_types": "resource_type_associations", "object": "object", "objects": "objects",
	"property": "property", "properties": "properties", "tag": "tag", "tags": "tags",
}

func metadefSchema(name string) map[string]any {
	item := map[string]any{"type": "object", "properties": map[string]any{
		"name": str("The name of the definition", "maxLength", 255), "description": str("Description", "maxLength", 8192),
		"created_at": str("Date and time of creation", "readOnly", true, "format", "date-time"),
		"updated_at": str("Date and time of the last modification", "readOnly", true, "format", "date-time"),
	}}
	if strings.HasSuffix(name, "s") {
		return map[string]any{"name": name, "properties": map[string]any{
			name: map[string]any{"type": "array", "items": item}, "first": map[string]any{"type": "string"},
			"next": map[string]any{"type": "string"}, "schema": map[string]any{"type": "string"}},
			"links": []map[string]string{{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}}}
	}
	item["name"] = name
	item["additionalProperties"] = false
	return item
}

func (a *api) showMetadefSchema(w http.ResponseWriter, r *http.Request) error {
	name, ok := metadefSchemas[r.PathValue("name")]
	if !ok {
		return fault.New(fault.NotFound, "The resource could not be found.")
	}
	apihttp.WriteJSON(w, http.StatusOK, metadefSchema(name))
	return nil
}

func (a *api) showSchema(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	switch r.PathValue("name") {
	case "image":
		body = imageSchema()
	case "images":
		body = map[string]any{"name": "images", "properties": map[string]any{
			"images": map[string]any{"type": "array", "items": imageSchema()},
			"schema": map[string]any{"type": "string"}, "first": map[string]any{"type": "string"}, "next": map[string]any{"type": "string"}},
			"links": []map[string]string{{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}}}
	case "member":
		body = memberSchema()
	case "members":
		body = map[string]any{"name": "members", "properties": map[string]any{
			"members": map[string]any{"type": "array", "items": memberSchema()}, "schema": map[string]any{"type": "string"}},
			"links": []map[string]string{{"rel": "schema", "href": "{schema}"}}}
	default:
		return fault.New(fault.NotFound, "The resource could not be found.")
	}
	apihttp.WriteJSON(w, http.StatusOK, body)
	return nil
}
