package glance

import (
	"maps"
	"net/http"
	"path"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
)

// The JSON schemas of the metadefs catalog (/v2/schemas/metadefs/*), with
// Glance's names, properties, required attributes and definitions.

func typ(t string, extra ...any) map[string]any {
	m := map[string]any{"type": t}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func readOnlyString(desc string) map[string]any {
	m := typ("string", "readOnly", true, "format", "date-time")
	if desc != "" {
		m["description"] = desc
	}
	return m
}

// metadefDefinitions are the shared definitions: a property definition
// (Glance's PropertyType) and its building blocks.
func metadefDefinitions() map[string]any {
	types := []any{"array", "boolean", "integer", "number", "object", "string", nil}
	return map[string]any{
		"positiveInteger":         typ("integer", "minimum", 0),
		"positiveIntegerDefault0": map[string]any{"allOf": []any{map[string]any{"$ref": "#/definitions/positiveInteger"}, map[string]any{"default": 0}}},
		"stringArray":             typ("array", "items", typ("string"), "uniqueItems", true),
		"property": typ("object", "additionalProperties", typ("object", "required", []string{"title", "type"}, "properties", map[string]any{
			"name": typ("string", "maxLength", image.MetadefNameMax), "title": typ("string"), "description": typ("string"),
			"operators": typ("array", "items", typ("string")), "type": typ("string", "enum", types),
			"required": map[string]any{"$ref": "#/definitions/stringArray"},
			"minimum":  typ("number"), "maximum": typ("number"),
			"maxLength": map[string]any{"$ref": "#/definitions/positiveInteger"},
			"minLength": map[string]any{"$ref": "#/definitions/positiveIntegerDefault0"},
			"pattern":   typ("string", "format", "regex"), "enum": typ("array"), "readonly": typ("boolean"), "default": map[string]any{},
			"items":       typ("object", "properties", map[string]any{"type": typ("string", "enum", types), "enum": typ("array")}),
			"maxItems":    map[string]any{"$ref": "#/definitions/positiveInteger"},
			"minItems":    map[string]any{"$ref": "#/definitions/positiveIntegerDefault0"},
			"uniqueItems": typ("boolean", "default", false), "additionalItems": typ("boolean"),
		})),
	}
}

func namespaceSchemaProps() map[string]any {
	return map[string]any{
		"namespace":    typ("string", "description", "The unique namespace text.", "maxLength", image.MetadefNameMax),
		"display_name": typ("string", "description", "The user friendly name for the namespace. Used by UI if available.", "maxLength", 80),
		"description":  typ("string", "description", "Provides a user friendly description of the namespace.", "maxLength", 500),
		"visibility":   typ("string", "description", "Scope of namespace accessibility.", "enum", []string{image.NamespacePublic, image.NamespacePrivate}),
		"protected":    typ("boolean", "description", "If true, namespace will not be deletable."),
		"owner":        typ("string", "description", "Owner of the namespace.", "maxLength", 255),
		"created_at":   readOnlyString("Date and time of namespace creation"),
		"updated_at":   readOnlyString("Date and time of the last namespace modification"),
		"schema":       typ("string", "readOnly", true),
		"self":         typ("string", "readOnly", true),
		"resource_type_associations": typ("array", "items", typ("object", "properties", map[string]any{
			"name": typ("string"), "prefix": typ("string"), "properties_target": typ("string")})),
		"properties": map[string]any{"$ref": "#/definitions/property"},
		"objects": typ("array", "items", typ("object", "properties", map[string]any{
			"name": typ("string"), "description": typ("string"),
			"required":   map[string]any{"$ref": "#/definitions/stringArray"},
			"properties": map[string]any{"$ref": "#/definitions/property"}})),
		"tags": typ("array", "items", typ("object", "properties", map[string]any{"name": typ("string")})),
	}
}

func objectSchemaProps() map[string]any {
	return map[string]any{
		"name":        typ("string", "maxLength", image.MetadefNameMax),
		"description": typ("string"),
		"required":    map[string]any{"$ref": "#/definitions/stringArray"},
		"properties":  map[string]any{"$ref": "#/definitions/property"},
		"schema":      typ("string", "readOnly", true),
		"self":        typ("string", "readOnly", true),
		"created_at":  readOnlyString("Date and time of object creation"),
		"updated_at":  readOnlyString("Date and time of the last object modification"),
	}
}

func propertySchemaProps() map[string]any {
	p := metadefDefinitions()["property"].(map[string]any)["additionalProperties"].(map[string]any)["properties"].(map[string]any)
	return p
}

func tagSchemaProps() map[string]any {
	return map[string]any{
		"name":       typ("string", "maxLength", image.MetadefNameMax),
		"created_at": readOnlyString("Date and time of tag creation"),
		"updated_at": readOnlyString("Date and time of the last tag modification"),
	}
}

func associationSchemaProps() map[string]any {
	return map[string]any{
		"name":              typ("string", "description", "Resource type names should be aligned with Heat resource types whenever possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html", "maxLength", 80),
		"prefix":            typ("string", "description", "Specifies the prefix to use for the given resource type. Any properties in the namespace should be prefixed with this prefix when being applied to the specified resource type. Must include prefix separator (e.g. a colon :).", "maxLength", 80),
		"properties_target": typ("string", "description", "Some resource types allow more than one key / value pair per instance.  For example, Cinder allows user and image metadata on volumes. Only the image properties metadata is evaluated by Nova (scheduling or drivers). This property allows a namespace target to remove the ambiguity.", "maxLength", 80),
		"created_at":        readOnlyString("Date and time of resource type association"),
		"updated_at":        readOnlyString("Date and time of the last resource type association modification"),
	}
}

// metadefItemSchema is a Glance Schema: no other attributes allowed.
func metadefItemSchema(name string, props map[string]any, required []string, defs map[string]any) map[string]any {
	m := map[string]any{"name": name, "properties": props, "additionalProperties": false}
	if required != nil {
		m["required"] = required
	}
	if defs != nil {
		m["definitions"] = defs
	}
	return m
}

// metadefCollectionSchema is a Glance CollectionSchema (or a plain list
// schema without links, as for properties and resource types).
func metadefCollectionSchema(name string, item map[string]any, links bool) map[string]any {
	defs, hasDefs := item["definitions"]
	item = cloneWithout(item, "definitions")
	props := map[string]any{name: typ("array", "items", item), "schema": typ("string")}
	m := map[string]any{"name": name, "properties": props}
	if links {
		props["first"], props["next"] = typ("string"), typ("string")
		m["links"] = []map[string]string{{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}}
	}
	if hasDefs {
		m["definitions"] = defs
	}
	return m
}

func cloneWithout(m map[string]any, key string) map[string]any {
	out := maps.Clone(m)
	delete(out, key)
	return out
}

func namespaceSchemaDoc() map[string]any {
	return metadefItemSchema("namespace", namespaceSchemaProps(), []string{"namespace"}, metadefDefinitions())
}

func objectSchemaDoc() map[string]any {
	return metadefItemSchema("object", objectSchemaProps(), []string{"name"}, metadefDefinitions())
}

func propertySchemaDoc() map[string]any {
	return metadefItemSchema("property", propertySchemaProps(), []string{"name", "title", "type"}, metadefDefinitions())
}

func tagSchemaDoc() map[string]any {
	return metadefItemSchema("tag", tagSchemaProps(), []string{"name"}, nil)
}

func associationSchemaDoc() map[string]any {
	return metadefItemSchema("resource_type_association", associationSchemaProps(), []string{"name"}, nil)
}

// metadefSchemaDocs are the schemas by path under /v2/schemas/metadefs/.
var metadefSchemaDocs = map[string]func() map[string]any{
	"namespace": namespaceSchemaDoc,
	"namespaces": func() map[string]any {
		return metadefCollectionSchema("namespaces", namespaceSchemaDoc(), true)
	},
	"object": objectSchemaDoc,
	"objects": func() map[string]any {
		return metadefCollectionSchema("objects", objectSchemaDoc(), true)
	},
	"property": propertySchemaDoc,
	"properties": func() map[string]any {
		m := metadefCollectionSchema("properties", propertySchemaDoc(), true)
		m["properties"].(map[string]any)["properties"] = map[string]any{"$ref": "#/definitions/property"}
		return m
	},
	"tag":           tagSchemaDoc,
	"tags":          func() map[string]any { return metadefCollectionSchema("tags", tagSchemaDoc(), true) },
	"resource_type": associationSchemaDoc,
	"resource_types": func() map[string]any {
		return metadefCollectionSchema("resource_type_associations", associationSchemaDoc(), true)
	},
}

func (a *api) showMetadefSchemaDoc(w http.ResponseWriter, r *http.Request) error {
	doc, ok := metadefSchemaDocs[path.Base(r.URL.Path)]
	if !ok {
		return fault.New(fault.NotFound, "The resource could not be found.")
	}
	apihttp.WriteJSON(w, http.StatusOK, doc())
	return nil
}
