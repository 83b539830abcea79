package contract

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

// metadefAPI sends raw requests to the metadefs API (gophercloud has no
// client for it) as one token.
type metadefAPI struct {
	t     *testing.T
	base  string // .../image/v2
	token string
}

func newMetadefAPI(t *testing.T, c *cloudtest.Cloud, admin bool) metadefAPI {
	t.Helper()
	opts := c.AdminOptions()
	if !admin {
		_, opts = imageProject(t, c, "mdmember", "member")
	}
	sc := imageClient(t, c, opts)
	return metadefAPI{t: t, base: strings.TrimSuffix(sc.Endpoint, "/") + "/v2", token: sc.ProviderClient.Token()}
}

// do sends body (marshalled unless nil) and decodes a JSON answer into a map.
func (m metadefAPI) do(method, path string, body any, header map[string]string) (int, map[string]any) {
	m.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			m.t.Fatal(err)
		}
	}
	h := map[string]string{"Accept": "application/json"}
	for k, v := range header {
		h[k] = v
	}
	resp := raw(m.t, method, m.base+path, m.token, b, h)
	var out map[string]any
	if len(resp.Body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			m.t.Fatalf("%s %s: %v: %s", method, path, err, resp.Body)
		}
	}
	return resp.Status, out
}

func (m metadefAPI) want(status int, method, path string, body any) map[string]any {
	m.t.Helper()
	got, out := m.do(method, path, body, nil)
	if got != status {
		m.t.Fatalf("%s %s = %d %v, want %d", method, path, got, out, status)
	}
	return out
}

func names(list any, key string) []string {
	var out []string
	items, _ := list.([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m[key].(string))
		}
	}
	return out
}

func TestImageMetadefs_NamespaceLifecycle(t *testing.T) {
	c := cloudtest.New(t)
	api := newMetadefAPI(t, c, true)

	rts := api.want(200, "GET", "/metadefs/resource_types", nil)
	rtNames := names(rts["resource_types"], "name")
	if !slices.Contains(rtNames, "OS::Glance::Image") {
		t.Fatalf("resource types = %v", rtNames)
	}

	ns := api.want(201, "POST", "/metadefs/namespaces", map[string]any{
		"namespace": "OS::Compute::Test", "display_name": "Test", "description": "d", "visibility": "public",
		"protected": true, "resource_type_associations": []any{map[string]any{"name": "OS::Glance::Image", "prefix": "hw_"}},
		"properties": map[string]any{"cpu": map[string]any{"title": "CPU", "type": "integer", "minimum": 1}},
		"objects":    []any{map[string]any{"name": "obj", "properties": map[string]any{"a": map[string]any{"title": "A", "type": "string"}}, "required": []string{"a"}}},
		"tags":       []any{map[string]any{"name": "t1"}},
	})
	if ns["namespace"] != "OS::Compute::Test" || ns["visibility"] != "public" || ns["protected"] != true ||
		ns["self"] != "/v2/metadefs/namespaces/OS::Compute::Test" || ns["schema"] != "/v2/schemas/metadefs/namespace" || ns["owner"] == nil {
		t.Fatalf("created: %v", ns)
	}
	api.want(409, "POST", "/metadefs/namespaces", map[string]any{"namespace": "OS::Compute::Test"})
	api.want(400, "POST", "/metadefs/namespaces", map[string]any{"display_name": "no name"})
	api.want(400, "POST", "/metadefs/namespaces", map[string]any{"namespace": "x", "visibility": "shared"})
	api.want(400, "POST", "/metadefs/namespaces", map[string]any{"namespace": "x", "bogus": 1})
	api.want(403, "POST", "/metadefs/namespaces", map[string]any{"namespace": "x", "created_at": "now"})

	list := api.want(200, "GET", "/metadefs/namespaces", nil)
	if !slices.Contains(names(list["namespaces"], "namespace"), "OS::Compute::Test") || list["first"] != "/v2/metadefs/namespaces" {
		t.Fatalf("list: %v", list)
	}
	byRT := api.want(200, "GET", "/metadefs/namespaces?resource_types=OS::Nova::Flavor", nil)
	if len(byRT["namespaces"].([]any)) != 0 {
		t.Fatalf("filtered by another resource type: %v", byRT)
	}

	// Show with a resource type prefixes property names.
	show := api.want(200, "GET", "/metadefs/namespaces/OS::Compute::Test?resource_type=OS::Glance::Image", nil)
	props, _ := show["properties"].(map[string]any)
	if _, ok := props["hw_cpu"]; !ok || names(show["tags"], "name")[0] != "t1" || len(show["objects"].([]any)) != 1 {
		t.Fatalf("show: %v", show)
	}
	obj := show["objects"].([]any)[0].(map[string]any)
	if obj["required"].([]any)[0] != "hw_a" {
		t.Fatalf("object in show: %v", obj)
	}

	// Protected: neither the namespace nor its content can be deleted.
	api.want(403, "DELETE", "/metadefs/namespaces/OS::Compute::Test", nil)
	api.want(403, "DELETE", "/metadefs/namespaces/OS::Compute::Test/objects/obj", nil)
	api.want(403, "DELETE", "/metadefs/namespaces/OS::Compute::Test/tags", nil)
	api.want(403, "DELETE", "/metadefs/namespaces/OS::Compute::Test/resource_types/OS::Glance::Image", nil)

	// Update (full replace): unprotect, make private, rename.
	upd := api.want(200, "PUT", "/metadefs/namespaces/OS::Compute::Test", map[string]any{"namespace": "OS::Compute::Renamed", "protected": false})
	if upd["visibility"] != "private" || upd["protected"] != false || upd["namespace"] != "OS::Compute::Renamed" {
		t.Fatalf("updated: %v", upd)
	}
	api.want(404, "GET", "/metadefs/namespaces/OS::Compute::Test", nil)
	api.want(200, "GET", "/metadefs/namespaces/OS::Compute::Renamed/objects/obj", nil)

	api.want(204, "DELETE", "/metadefs/namespaces/OS::Compute::Renamed", nil)
	api.want(404, "GET", "/metadefs/namespaces/OS::Compute::Renamed", nil)
	api.want(404, "GET", "/metadefs/namespaces/OS::Compute::Renamed/objects", nil)
}

func TestImageMetadefs_Content(t *testing.T) {
	c := cloudtest.New(t)
	api := newMetadefAPI(t, c, true)
	api.want(201, "POST", "/metadefs/namespaces", map[string]any{"namespace": "ns1"})
	base := "/metadefs/namespaces/ns1"

	// Objects.
	o := api.want(201, "POST", base+"/objects", map[string]any{"name": "o1", "description": "first"})
	if o["self"] != "/v2/metadefs/namespaces/ns1/objects/o1" || o["schema"] != "/v2/schemas/metadefs/object" {
		t.Fatalf("object: %v", o)
	}
	api.want(409, "POST", base+"/objects", map[string]any{"name": "o1"})
	api.want(201, "POST", base+"/objects", map[string]any{"name": "o2"})
	api.want(409, "PUT", base+"/objects/o2", map[string]any{"name": "o1"})
	u := api.want(200, "PUT", base+"/objects/o1", map[string]any{"name": "o1b"})
	if u["name"] != "o1b" || u["description"] != nil {
		t.Fatalf("object update replaces: %v", u)
	}
	objs := api.want(200, "GET", base+"/objects", nil)
	if got := names(objs["objects"], "name"); len(got) != 2 || !slices.Contains(got, "o1b") {
		t.Fatalf("objects: %v", objs)
	}
	api.want(204, "DELETE", base+"/objects/o1b", nil)
	api.want(404, "GET", base+"/objects/o1b", nil)
	api.want(204, "DELETE", base+"/objects", nil)
	if objs := api.want(200, "GET", base+"/objects", nil); len(objs["objects"].([]any)) != 0 {
		t.Fatalf("objects after delete all: %v", objs)
	}

	// Properties.
	api.want(400, "POST", base+"/properties", map[string]any{"name": "p", "title": "P"})
	api.want(400, "POST", base+"/properties", map[string]any{"name": "p", "title": "P", "type": "float"})
	p := api.want(201, "POST", base+"/properties", map[string]any{"name": "p", "title": "P", "type": "string", "enum": []string{"a", "b"}})
	if p["name"] != "p" || p["title"] != "P" || len(p["enum"].([]any)) != 2 {
		t.Fatalf("property: %v", p)
	}
	api.want(409, "POST", base+"/properties", map[string]any{"name": "p", "title": "P", "type": "string"})
	p = api.want(200, "PUT", base+"/properties/p", map[string]any{"name": "p2", "title": "P2", "type": "integer"})
	if p["name"] != "p2" || p["enum"] != nil {
		t.Fatalf("property update: %v", p)
	}
	props := api.want(200, "GET", base+"/properties", nil)
	if _, ok := props["properties"].(map[string]any)["p2"]; !ok {
		t.Fatalf("properties: %v", props)
	}
	api.want(201, "POST", base+"/resource_types", map[string]any{"name": "OS::Nova::Flavor", "prefix": "x_"})
	api.want(409, "POST", base+"/resource_types", map[string]any{"name": "OS::Nova::Flavor"})
	api.want(200, "GET", base+"/properties/x_p2?resource_type=OS::Nova::Flavor", nil)
	api.want(400, "GET", base+"/properties/p2?resource_type=OS::Nova::Flavor", nil)
	api.want(204, "DELETE", base+"/properties/p2", nil)
	api.want(404, "GET", base+"/properties/p2", nil)

	// Resource types: a new name creates the resource type.
	api.want(201, "POST", base+"/resource_types", map[string]any{"name": "Custom::Thing"})
	if rts := api.want(200, "GET", "/metadefs/resource_types", nil); !slices.Contains(names(rts["resource_types"], "name"), "Custom::Thing") {
		t.Fatalf("resource types: %v", rts)
	}
	assoc := api.want(200, "GET", base+"/resource_types", nil)
	if got := names(assoc["resource_type_associations"], "name"); len(got) != 2 {
		t.Fatalf("associations: %v", assoc)
	}
	api.want(204, "DELETE", base+"/resource_types/Custom::Thing", nil)
	api.want(404, "DELETE", base+"/resource_types/Custom::Thing", nil)

	// Tags: replace, append, case-insensitive duplicates, rename.
	tags := map[string]any{"tags": []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}}}
	api.want(201, "POST", base+"/tags", tags)
	api.want(201, "POST", base+"/tags", map[string]any{"tags": []any{map[string]any{"name": "c"}}})
	if got := names(api.want(200, "GET", base+"/tags", nil)["tags"], "name"); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("tags after replace: %v", got)
	}
	if st, _ := api.do("POST", base+"/tags", tags, map[string]string{"X-Openstack-Append": "true"}); st != 201 {
		t.Fatalf("append: %d", st)
	}
	if got := names(api.want(200, "GET", base+"/tags", nil)["tags"], "name"); len(got) != 3 {
		t.Fatalf("tags after append: %v", got)
	}
	api.want(409, "POST", base+"/tags/A", nil)
	tg := api.want(201, "POST", base+"/tags/d", nil)
	if tg["name"] != "d" || tg["created_at"] == nil {
		t.Fatalf("tag: %v", tg)
	}
	if tg = api.want(200, "PUT", base+"/tags/d", map[string]any{"name": "e"}); tg["name"] != "e" {
		t.Fatalf("tag rename: %v", tg)
	}
	api.want(200, "GET", base+"/tags/E", nil)
	api.want(204, "DELETE", base+"/tags/e", nil)
	api.want(404, "GET", base+"/tags/e", nil)
	api.want(204, "DELETE", base+"/tags", nil)
	if got := names(api.want(200, "GET", base+"/tags", nil)["tags"], "name"); len(got) != 0 {
		t.Fatalf("tags after delete all: %v", got)
	}
	api.want(204, "DELETE", base, nil)
}

func TestImageMetadefs_VisibilityAndPolicy(t *testing.T) {
	c := cloudtest.New(t)
	admin := newMetadefAPI(t, c, true)
	member := newMetadefAPI(t, c, false)
	admin.want(201, "POST", "/metadefs/namespaces", map[string]any{"namespace": "pub", "visibility": "public"})
	admin.want(201, "POST", "/metadefs/namespaces", map[string]any{"namespace": "priv"})

	// Another project's private namespace is invisible; public ones are readable.
	list := member.want(200, "GET", "/metadefs/namespaces", nil)
	got := names(list["namespaces"], "namespace")
	if !slices.Contains(got, "pub") || slices.Contains(got, "priv") {
		t.Fatalf("member sees %v", got)
	}
	member.want(404, "GET", "/metadefs/namespaces/priv", nil)
	member.want(404, "GET", "/metadefs/namespaces/priv/objects", nil)
	member.want(200, "GET", "/metadefs/namespaces/pub/tags", nil)
	if l := admin.want(200, "GET", "/metadefs/namespaces?visibility=private", nil); !slices.Equal(names(l["namespaces"], "namespace"), []string{"priv"}) {
		t.Fatalf("visibility filter: %v", l)
	}
	admin.want(400, "GET", "/metadefs/namespaces?visibility=shared", nil)

	// Writes are admin-only (Glance's metadef_admin).
	member.want(403, "POST", "/metadefs/namespaces", map[string]any{"namespace": "mine"})
	member.want(403, "PUT", "/metadefs/namespaces/pub", map[string]any{"namespace": "pub"})
	member.want(403, "DELETE", "/metadefs/namespaces/pub", nil)
	member.want(403, "POST", "/metadefs/namespaces/pub/tags/x", nil)
	member.want(404, "DELETE", "/metadefs/namespaces/priv", nil)

	// Pagination.
	page := admin.want(200, "GET", "/metadefs/namespaces?limit=1&sort_key=namespace&sort_dir=asc", nil)
	if got := names(page["namespaces"], "namespace"); !slices.Equal(got, []string{"priv"}) || page["next"] == nil {
		t.Fatalf("page 1: %v", page)
	}
	next := strings.TrimPrefix(page["next"].(string), "/v2")
	page = admin.want(200, "GET", next, nil)
	if got := names(page["namespaces"], "namespace"); !slices.Equal(got, []string{"pub"}) {
		t.Fatalf("page 2: %v", page)
	}
}

func TestImageMetadefs_Schemas(t *testing.T) {
	c := cloudtest.New(t)
	api := newMetadefAPI(t, c, false)
	for path, name := range map[string]string{"namespace": "namespace", "namespaces": "namespaces",
		"resource_type": "resource_type_association", "resource_types": "resource_type_associations",
		"object": "object", "objects": "objects", "property": "property", "properties": "properties",
		"tag": "tag", "tags": "tags"} {
		s := api.want(http.StatusOK, "GET", "/schemas/metadefs/"+path, nil)
		if s["name"] != name || s["properties"] == nil {
			t.Fatalf("schema %s: %v", path, s)
		}
	}
	ns := api.want(200, "GET", "/schemas/metadefs/namespace", nil)
	if ns["additionalProperties"] != false || ns["definitions"] == nil || !slices.Contains(names2(ns["required"]), "namespace") {
		t.Fatalf("namespace schema: %v", ns)
	}
	api.want(404, "GET", "/schemas/metadefs/bogus", nil)
}

func names2(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}
