package glance

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
)

// The metadata definitions catalog (/v2/metadefs), as Glance serves it.
// Bodies are checked against Glance's schemas here (read-only attributes
// 403, unknown attributes and wrong types 400); the rules are in
// internal/image (metadefs.go, metadef_items.go).

const metadefs = v2 + "/metadefs"

// registerMetadefs adds the metadefs routes and the metadefs schemas
// (exact paths, so they win over the generic /v2/schemas/metadefs/{name}).
func (a *api) registerMetadefs(mux *http.ServeMux, authed func(apihttp.HandlerFunc) http.Handler) {
	ns := metadefs + "/namespaces/{ns}"
	for _, r := range []struct {
		pattern string
		h       apihttp.HandlerFunc
	}{
		{"GET " + metadefs + "/namespaces", a.listNamespaces},
		{"POST " + metadefs + "/namespaces", a.createNamespace},
		{"GET " + ns, a.showNamespace},
		{"PUT " + ns, a.updateNamespace},
		{"DELETE " + ns, a.deleteNamespace},

		{"GET " + ns + "/objects", a.listMetadefObjects},
		{"POST " + ns + "/objects", a.createMetadefObject},
		{"DELETE " + ns + "/objects", a.deleteNamespaceObjects},
		{"GET " + ns + "/objects/{name}", a.showMetadefObject},
		{"PUT " + ns + "/objects/{name}", a.updateMetadefObject},
		{"DELETE " + ns + "/objects/{name}", a.deleteMetadefObject},

		{"GET " + ns + "/properties", a.listMetadefProperties},
		{"POST " + ns + "/properties", a.createMetadefProperty},
		{"DELETE " + ns + "/properties", a.deleteNamespaceProperties},
		{"GET " + ns + "/properties/{name}", a.showMetadefProperty},
		{"PUT " + ns + "/properties/{name}", a.updateMetadefProperty},
		{"DELETE " + ns + "/properties/{name}", a.deleteMetadefProperty},

		{"GET " + ns + "/tags", a.listMetadefTags},
		{"POST " + ns + "/tags", a.createMetadefTags},
		{"DELETE " + ns + "/tags", a.deleteNamespaceTags},
		{"GET " + ns + "/tags/{name}", a.showMetadefTag},
		{"POST " + ns + "/tags/{name}", a.createMetadefTag},
		{"PUT " + ns + "/tags/{name}", a.updateMetadefTag},
		{"DELETE " + ns + "/tags/{name}", a.deleteMetadefTag},

		{"GET " + ns + "/resource_types", a.listAssociations},
		{"POST " + ns + "/resource_types", a.createAssociation},
		{"DELETE " + ns + "/resource_types/{name}", a.deleteAssociation},
		{"GET " + metadefs + "/resource_types", a.listResourceTypes},
	} {
		mux.Handle(r.pattern, authed(r.h))
	}
	for path := range metadefSchemaDocs {
		mux.Handle("GET "+v2+"/schemas/metadefs/"+path, authed(a.showMetadefSchemaDoc))
	}
}

// ---------------------------------------------------------------- body checks

// metadefBody decodes a JSON object body; readOnly attributes are 403 and,
// when allowed is not nil, any attribute outside it is 400.
func metadefBody(w http.ResponseWriter, r *http.Request, readOnly, allowed []string) (map[string]any, error) {
	var body map[string]any
	if err := apihttp.Decode(w, r, &body); err != nil {
		return nil, err
	}
	if body == nil {
		return nil, fault.New(fault.BadRequest, "Body expected in request.")
	}
	for _, k := range readOnly {
		if _, ok := body[k]; ok {
			return nil, fault.New(fault.Forbidden, "Attribute '%s' is read-only.", k)
		}
	}
	if allowed != nil {
		for _, k := range sortedAttrs(body) {
			if !slices.Contains(allowed, k) && !slices.Contains(readOnly, k) {
				return nil, fault.New(fault.BadRequest, "Additional properties are not allowed ('%s' was unexpected)", k)
			}
		}
	}
	return body, nil
}

func sortedAttrs(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func typeError(k string, v any, typ string) error {
	return fault.New(fault.BadRequest, "Invalid input for field/attribute %s. Value: %v. %v is not of type '%s'", k, v, v, typ)
}

func required(body map[string]any, keys ...string) error {
	for _, k := range keys {
		if _, ok := body[k]; !ok {
			return fault.New(fault.BadRequest, "'%s' is a required property", k)
		}
	}
	return nil
}

// optString reads a string attribute; absent or null is "".
func optString(body map[string]any, k string) (string, error) {
	switch v := body[k].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", typeError(k, v, "string")
	}
}

func optBool(body map[string]any, k string) (bool, error) {
	switch v := body[k].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	default:
		return false, typeError(k, v, "boolean")
	}
}

func optStrings(body map[string]any, k string) ([]string, error) {
	v, ok := body[k]
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, typeError(k, v, "array")
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, typeError(k, item, "string")
		}
		if slices.Contains(out, s) {
			return nil, fault.New(fault.BadRequest, "Invalid input for field/attribute %s: %v has non-unique elements", k, list)
		}
		out = append(out, s)
	}
	return out, nil
}

// propertyDefs reads a {name: definition} attribute.
func propertyDefs(body map[string]any, k string) (map[string]image.PropertyDef, error) {
	v, ok := body[k]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, typeError(k, v, "object")
	}
	out := make(map[string]image.PropertyDef, len(m))
	for name, def := range m {
		d, ok := def.(map[string]any)
		if !ok {
			return nil, typeError(k+"/"+name, def, "object")
		}
		delete(d, "name")
		out[name] = d
	}
	return out, nil
}

var namespaceAttrs = []string{"namespace", "display_name", "description", "visibility", "protected", "owner",
	"resource_type_associations", "properties", "objects", "tags"}

var namespaceReadOnly = []string{"self", "schema", "created_at", "updated_at"}

func namespaceInput(body map[string]any) (image.NamespaceInput, error) {
	var in image.NamespaceInput
	if err := required(body, "namespace"); err != nil {
		return in, err
	}
	var err error
	for _, f := range []struct {
		k   string
		dst *string
	}{{"namespace", &in.Namespace}, {"display_name", &in.DisplayName}, {"description", &in.Description},
		{"visibility", &in.Visibility}, {"owner", &in.Owner}} {
		if *f.dst, err = optString(body, f.k); err != nil {
			return in, err
		}
	}
	if in.Protected, err = optBool(body, "protected"); err != nil {
		return in, err
	}
	if in.Properties, err = propertyDefs(body, "properties"); err != nil {
		return in, err
	}
	if v, ok := body["resource_type_associations"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return in, typeError("resource_type_associations", v, "array")
		}
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				return in, typeError("resource_type_associations", item, "object")
			}
			a, err := associationInput(m)
			if err != nil {
				return in, err
			}
			in.Associations = append(in.Associations, a)
		}
	}
	if v, ok := body["objects"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return in, typeError("objects", v, "array")
		}
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				return in, typeError("objects", item, "object")
			}
			o, err := objectInput(m)
			if err != nil {
				return in, err
			}
			in.Objects = append(in.Objects, o)
		}
	}
	if v, ok := body["tags"]; ok && v != nil {
		if in.Tags, err = tagNames(v); err != nil {
			return in, err
		}
	}
	return in, nil
}

func tagNames(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, typeError("tags", v, "array")
	}
	var out []string
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, typeError("tags", item, "object")
		}
		for k := range m {
			if k != "name" {
				return nil, fault.New(fault.BadRequest, "Additional properties are not allowed ('%s' was unexpected)", k)
			}
		}
		name, ok := m["name"].(string)
		if !ok {
			return nil, fault.New(fault.BadRequest, "'name' is a required property")
		}
		out = append(out, name)
	}
	return out, nil
}

func associationInput(body map[string]any) (image.ResourceTypeAssociation, error) {
	var a image.ResourceTypeAssociation
	if err := required(body, "name"); err != nil {
		return a, err
	}
	var err error
	if a.Name, err = optString(body, "name"); err != nil {
		return a, err
	}
	if a.Prefix, err = optString(body, "prefix"); err != nil {
		return a, err
	}
	a.PropertiesTarget, err = optString(body, "properties_target")
	return a, err
}

var objectAttrs = []string{"name", "description", "required", "properties"}

func objectInput(body map[string]any) (image.ObjectInput, error) {
	var o image.ObjectInput
	if err := required(body, "name"); err != nil {
		return o, err
	}
	var err error
	if o.Name, err = optString(body, "name"); err != nil {
		return o, err
	}
	if o.Description, err = optString(body, "description"); err != nil {
		return o, err
	}
	if o.Required, err = optStrings(body, "required"); err != nil {
		return o, err
	}
	o.Properties, err = propertyDefs(body, "properties")
	return o, err
}

// ---------------------------------------------------------------- views

func isotime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func namespaceHref(name string) string { return "/v2/metadefs/namespaces/" + name }

func putIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func namespaceView(d *image.NamespaceDetail) map[string]any {
	ns := &d.Namespace
	m := map[string]any{"namespace": ns.Namespace, "visibility": ns.Visibility, "protected": ns.Protected,
		"created_at": isotime(ns.CreatedAt), "updated_at": isotime(ns.UpdatedAt),
		"self": namespaceHref(ns.Namespace), "schema": "/v2/schemas/metadefs/namespace"}
	putIf(m, "display_name", ns.DisplayName)
	putIf(m, "description", ns.Description)
	putIf(m, "owner", ns.Owner)
	if len(d.Associations) > 0 {
		as := make([]map[string]any, 0, len(d.Associations))
		for i := range d.Associations {
			as = append(as, associationView(&d.Associations[i]))
		}
		m["resource_type_associations"] = as
	}
	if len(d.Properties) > 0 {
		props := make(map[string]any, len(d.Properties))
		for i := range d.Properties {
			props[d.Properties[i].Name] = propertyDefView(d.Properties[i].Schema)
		}
		m["properties"] = props
	}
	if len(d.Objects) > 0 {
		objs := make([]map[string]any, 0, len(d.Objects))
		for i := range d.Objects {
			objs = append(objs, objectView(ns.Namespace, &d.Objects[i]))
		}
		m["objects"] = objs
	}
	if len(d.Tags) > 0 {
		tags := make([]map[string]any, 0, len(d.Tags))
		for _, t := range d.Tags {
			tags = append(tags, map[string]any{"name": t.Name})
		}
		m["tags"] = tags
	}
	return m
}

func associationView(a *image.ResourceTypeAssociation) map[string]any {
	m := map[string]any{"name": a.Name, "created_at": isotime(a.CreatedAt), "updated_at": isotime(a.UpdatedAt)}
	putIf(m, "prefix", a.Prefix)
	putIf(m, "properties_target", a.PropertiesTarget)
	return m
}

func propertyDefView(def image.PropertyDef) map[string]any {
	m := make(map[string]any, len(def))
	for k, v := range def {
		if v != nil {
			m[k] = v
		}
	}
	return m
}

func propertyView(p *image.MetadefProperty) map[string]any {
	m := propertyDefView(p.Schema)
	m["name"] = p.Name
	return m
}

func objectView(namespace string, o *image.MetadefObject) map[string]any {
	m := map[string]any{"name": o.Name, "created_at": isotime(o.CreatedAt), "updated_at": isotime(o.UpdatedAt),
		"self": namespaceHref(namespace) + "/objects/" + o.Name, "schema": "/v2/schemas/metadefs/object"}
	putIf(m, "description", o.Description)
	if o.Required != nil {
		m["required"] = o.Required
	}
	if o.Properties != nil {
		props := make(map[string]any, len(o.Properties))
		for k, v := range o.Properties {
			props[k] = propertyDefView(v)
		}
		m["properties"] = props
	}
	return m
}

func tagView(t *image.MetadefTag) map[string]any {
	return map[string]any{"name": t.Name, "created_at": isotime(t.CreatedAt), "updated_at": isotime(t.UpdatedAt)}
}

// ---------------------------------------------------------------- namespaces

func (a *api) listNamespaces(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	o := image.NamespaceListOptions{Visibility: q.Get("visibility"), Marker: q.Get("marker"),
		SortKey: q.Get("sort_key"), SortDir: q.Get("sort_dir"), Limit: defaultLimit}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return fault.New(fault.BadRequest, "limit param must be an integer")
		}
		if n < 0 {
			return fault.New(fault.BadRequest, "limit param must be positive")
		}
		o.Limit = n
	}
	o.Limit = min(o.Limit, maxLimit)
	if rt := q.Get("resource_types"); rt != "" {
		for name := range strings.SplitSeq(rt, ",") {
			if name = strings.TrimSpace(name); name != "" {
				o.ResourceTypes = append(o.ResourceTypes, name)
			}
		}
	}
	list, more, err := a.img.ListNamespaces(r.Context(), o)
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(list))
	for i := range list {
		views = append(views, namespaceView(&list[i]))
	}
	params := url.Values{}
	for k, vs := range q {
		if k != "marker" {
			params[k] = vs
		}
	}
	first := "/v2/metadefs/namespaces"
	if len(params) > 0 {
		first += "?" + params.Encode()
	}
	body := map[string]any{"namespaces": views, "first": first, "schema": "/v2/schemas/metadefs/namespaces"}
	if more && len(list) > 0 {
		params.Set("marker", list[len(list)-1].Namespace.Namespace)
		body["next"] = "/v2/metadefs/namespaces?" + params.Encode()
	}
	apihttp.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (a *api) createNamespace(w http.ResponseWriter, r *http.Request) error {
	body, err := metadefBody(w, r, namespaceReadOnly, namespaceAttrs)
	if err != nil {
		return err
	}
	in, err := namespaceInput(body)
	if err != nil {
		return err
	}
	d, err := a.img.CreateNamespace(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", namespaceHref(d.Namespace.Namespace))
	apihttp.WriteJSON(w, http.StatusCreated, namespaceView(d))
	return nil
}

func (a *api) showNamespace(w http.ResponseWriter, r *http.Request) error {
	d, err := a.img.GetNamespace(r.Context(), r.PathValue("ns"), r.URL.Query().Get("resource_type"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, namespaceView(d))
	return nil
}

func (a *api) updateNamespace(w http.ResponseWriter, r *http.Request) error {
	body, err := metadefBody(w, r, namespaceReadOnly, namespaceAttrs)
	if err != nil {
		return err
	}
	in, err := namespaceInput(body)
	if err != nil {
		return err
	}
	ns, err := a.img.UpdateNamespace(r.Context(), r.PathValue("ns"), in)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, namespaceView(&image.NamespaceDetail{Namespace: *ns}))
	return nil
}

func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) deleteNamespace(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.img.DeleteNamespace(r.Context(), r.PathValue("ns")))
}

func (a *api) deleteNamespaceObjects(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.img.DeleteNamespaceObjects(r.Context(), r.PathValue("ns")))
}

func (a *api) deleteNamespaceProperties(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.img.DeleteNamespaceProperties(r.Context(), r.PathValue("ns")))
}

func (a *api) deleteNamespaceTags(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.img.DeleteNamespaceTags(r.Context(), r.PathValue("ns")))
}

// ---------------------------------------------------------------- objects

var objectReadOnly = []string{"self", "schema", "created_at", "updated_at"}

func (a *api) listMetadefObjects(w http.ResponseWriter, r *http.Request) error {
	ns := r.PathValue("ns")
	list, err := a.img.ListMetadefObjects(r.Context(), ns)
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(list))
	for i := range list {
		views = append(views, objectView(ns, &list[i]))
	}
	// Glance's schema link here has no leading slash.
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"objects": views, "schema": "v2/schemas/metadefs/objects"})
	return nil
}

func (a *api) createMetadefObject(w http.ResponseWriter, r *http.Request) error {
	body, err := metadefBody(w, r, objectReadOnly, objectAttrs)
	if err != nil {
		return err
	}
	in, err := objectInput(body)
	if err != nil {
		return err
	}
	ns := r.PathValue("ns")
	o, err := a.img.CreateMetadefObject(r.Context(), ns, in)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusCreated, objectView(ns, o))
	return nil
}

func (a *api) showMetadefObject(w http.ResponseWriter, r *http.Request) error {
	ns := r.PathValue("ns")
	o, err := a.img.GetMetadefObject(r.Context(), ns, r.PathValue("name"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, objectView(ns, o))
	return nil
}

func (a *api) updateMetadefObject(w http.ResponseWriter, r *http.Request) error {
	body, err := metadefBody(w, r, objectReadOnly, objectAttrs)
	if err != nil {
		return err
	}
	in, err := objectInput(body)
	if err != nil {
		return err
	}
	ns := r.PathValue("ns")
	o, err := a.img.UpdateMetadefObject(r.Context(), ns, r.PathValue("name"), in)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, objectView(ns, o))
	return nil
}

func (a *api) deleteMetadefObject(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.img.DeleteMetadefObject(r.Context(), r.PathValue("ns"), r.PathValue("name")))
}

// ---------------------------------------------------------------- properties

var propertyReadOnly = []string{"created_at", "updated_at"}

// propertyBody reads a property definition body: its name and the rest.
func propertyBody(w http.ResponseWriter, r *http.Request) (string, image.PropertyDef, error) {
	body, err := metadefBody(w, r, propertyReadOnly, nil)
	if err != nil {
		return "", nil, err
	}
	if err := required(body, "name"); err != nil {
		return "", nil, err
	}
	name, err := optString(body, "name")
	if err != nil {
		return "", nil, err
	}
	delete(body, "name")
	return name, body, nil
}

func (a *api) listMetadefProperties(w http.ResponseWriter, r *http.Request) error {
	list, err := a.img.ListMetadefProperties(r.Context(), r.PathValue("ns"))
	if err != nil {
		return err
	}
	props := make(map[string]any, len(list))
	for i := range list {
		props[list[i].Name] = propertyDefView(list[i].Schema)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"properties": props})
	return nil
}

func (a *api) createMetadefProperty(w http.ResponseWriter, r *http.Request) error {
	name, def, err := propertyBody(w, r)
	if err != nil {
		return err
	}
	p, err := a.img.CreateMetadefProperty(r.Context(), r.PathValue("ns"), name, def)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusCreated, propertyView(p))
	return nil
}

func (a *api) showMetadefProperty(w http.ResponseWriter, r *http.Request) error {
	p, err := a.img.GetMetadefProperty(r.Context(), r.PathValue("ns"), r.PathValue("name"), r.URL.Query().Get("resource_type"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, propertyView(p))
	return nil
}

func (a *api) updateMetadefProperty(w http.ResponseWriter, r *http.Request) error {
	name, def, err := propertyBody(w, r)
	if err != nil {
		return err
	}
	p, err := a.img.UpdateMetadefProperty(r.Context(), r.PathValue("ns"), r.PathValue("name"), name, def)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, propertyView(p))
	return nil
}

func (a *api) deleteMetadefProperty(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.img.DeleteMetadefProperty(r.Context(), r.PathValue("ns"), r.PathValue("name")))
}

// ---------------------------------------------------------------- tags

var tagReadOnly = []string{"created_at", "updated_at"}

func (a *api) listMetadefTags(w http.ResponseWriter, r *http.Request) error {
	list, err := a.img.ListMetadefTags(r.Context(), r.PathValue("ns"))
	if err != nil {
		return err
	}
	tags := make([]map[string]any, 0, len(list))
	for _, t := range list {
		tags = append(tags, map[string]any{"name": t.Name})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"tags": tags})
	return nil
}

// createMetadefTags replaces the tags of a namespace, or adds to them with
// X-Openstack-Append: true.
func (a *api) createMetadefTags(w http.ResponseWriter, r *http.Request) error {
	body, err := metadefBody(w, r, tagReadOnly, []string{"tags"})
	if err != nil {
		return err
	}
	if err := required(body, "tags"); err != nil {
		return err
	}
	names, err := tagNames(body["tags"])
	if err != nil {
		return err
	}
	appendTags, _ := strconv.ParseBool(strings.TrimSpace(r.Header.Get("X-Openstack-Append")))
	list, err := a.img.CreateMetadefTags(r.Context(), r.PathValue("ns"), names, appendTags)
	if err != nil {
		return err
	}
	tags := make([]map[string]any, 0, len(list))
	for _, t := range list {
		tags = append(tags, map[string]any{"name": t.Name})
	}
	apihttp.WriteJSON(w, http.StatusCreated, map[string]any{"tags": tags})
	return nil
}

func (a *api) createMetadefTag(w http.ResponseWriter, r *http.Request) error {
	t, err := a.img.CreateMetadefTag(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusCreated, tagView(t))
	return nil
}

func (a *api) showMetadefTag(w http.ResponseWriter, r *http.Request) error {
	t, err := a.img.GetMetadefTag(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, tagView(t))
	return nil
}

func (a *api) updateMetadefTag(w http.ResponseWriter, r *http.Request) error {
	body, err := metadefBody(w, r, tagReadOnly, []string{"name"})
	if err != nil {
		return err
	}
	if err := required(body, "name"); err != nil {
		return err
	}
	name, err := optString(body, "name")
	if err != nil {
		return err
	}
	t, err := a.img.UpdateMetadefTag(r.Context(), r.PathValue("ns"), r.PathValue("name"), name)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, tagView(t))
	return nil
}

func (a *api) deleteMetadefTag(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.img.DeleteMetadefTag(r.Context(), r.PathValue("ns"), r.PathValue("name")))
}

// ---------------------------------------------------------------- resource types

func (a *api) listResourceTypes(w http.ResponseWriter, r *http.Request) error {
	list, err := a.img.ListResourceTypes(r.Context())
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(list))
	for _, rt := range list {
		views = append(views, map[string]any{"name": rt.Name, "created_at": isotime(rt.CreatedAt), "updated_at": isotime(rt.UpdatedAt)})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"resource_types": views})
	return nil
}

func (a *api) listAssociations(w http.ResponseWriter, r *http.Request) error {
	list, err := a.img.ListAssociations(r.Context(), r.PathValue("ns"))
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(list))
	for i := range list {
		views = append(views, associationView(&list[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"resource_type_associations": views})
	return nil
}

func (a *api) createAssociation(w http.ResponseWriter, r *http.Request) error {
	body, err := metadefBody(w, r, []string{"created_at", "updated_at"}, []string{"name", "prefix", "properties_target"})
	if err != nil {
		return err
	}
	in, err := associationInput(body)
	if err != nil {
		return err
	}
	ra, err := a.img.CreateAssociation(r.Context(), r.PathValue("ns"), in)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusCreated, associationView(ra))
	return nil
}

func (a *api) deleteAssociation(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.img.DeleteAssociation(r.Context(), r.PathValue("ns"), r.PathValue("name")))
}
