package keystone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

// extrasEnv is an in-process Identity service over a real SQLite store.
type extrasEnv struct {
	t     *testing.T
	srv   *httptest.Server
	admin string
}

func newExtrasEnv(t *testing.T) *extrasEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nubo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	id := identity.New(st, identity.Config{BcryptCost: 4}, log)
	if err := id.Bootstrap(ctx, identity.BootstrapConfig{AdminPassword: "pw", Services: nil}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	Register(mux, id, log)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &extrasEnv{t: t, srv: srv}
	e.admin = e.token("admin", "pw", "admin")
	return e
}

// token issues a project-scoped token for a Default-domain user.
func (e *extrasEnv) token(user, password, project string) string {
	e.t.Helper()
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": user, "domain": map[string]any{"id": "default"}, "password": password}}},
		"scope": map[string]any{"project": map[string]any{"name": project, "domain": map[string]any{"id": "default"}}},
	}}
	b, _ := json.Marshal(body)
	resp, err := http.Post(e.srv.URL+"/identity/v3/auth/tokens", "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("token for %s: %d %s", user, resp.StatusCode, msg)
	}
	return resp.Header.Get("X-Subject-Token")
}

// do sends a request under /identity/v3 and returns the status and the
// decoded JSON body (nil when empty).
func (e *extrasEnv) do(tok, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/identity/v3"+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if len(data) == 0 {
		return resp.StatusCode, nil
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		e.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

// must sends a request and fails the test unless the status is want.
func (e *extrasEnv) must(tok, method, path string, body any, want int) map[string]any {
	e.t.Helper()
	st, out := e.do(tok, method, path, body)
	if st != want {
		e.t.Fatalf("%s %s: status %d, want %d: %v", method, path, st, want, out)
	}
	return out
}

func exObj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func exList(m map[string]any, key string) []map[string]any {
	var out []map[string]any
	for _, v := range m[key].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func exIDs(items []map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, it := range items {
		out[it["id"].(string)] = true
	}
	return out
}

// member creates a user with the member role on a new project and returns
// the user's ID, the project's ID and a token scoped to it.
func (e *extrasEnv) member(name string) (userID, projectID, tok string) {
	e.t.Helper()
	p := exObj(e.must(e.admin, "POST", "/projects", map[string]any{"project": map[string]any{"name": name + "-project", "domain_id": "default"}}, 201), "project")
	u := exObj(e.must(e.admin, "POST", "/users", map[string]any{"user": map[string]any{"name": name, "password": "secret-pw", "domain_id": "default"}}, 201), "user")
	roles := exList(e.must(e.admin, "GET", "/roles?name=member", nil, 200), "roles")
	if len(roles) != 1 {
		e.t.Fatalf("member role: %v", roles)
	}
	e.must(e.admin, "PUT", "/projects/"+p["id"].(string)+"/users/"+u["id"].(string)+"/roles/"+roles[0]["id"].(string), nil, 204)
	return u["id"].(string), p["id"].(string), e.token(name, "secret-pw", name+"-project")
}

func TestPolicies(t *testing.T) {
	e := newExtrasEnv(t)
	_, _, userTok := e.member("alice")

	e.must(e.admin, "POST", "/policies", map[string]any{"policy": map[string]any{"type": "application/json"}}, 400)
	e.must(e.admin, "POST", "/policies", map[string]any{"policy": map[string]any{"blob": 3, "type": "t"}}, 400)
	e.must(userTok, "POST", "/policies", map[string]any{"policy": map[string]any{"blob": "{}", "type": "t"}}, 403)
	if got := exList(e.must(e.admin, "GET", "/policies", nil, 200), "policies"); len(got) != 0 {
		t.Fatalf("rejected creates stored policies: %v", got)
	}

	p := exObj(e.must(e.admin, "POST", "/policies", map[string]any{"policy": map[string]any{"blob": `{"a": "b"}`, "type": "application/json", "colour": "blue"}}, 201), "policy")
	id := p["id"].(string)
	if p["blob"] != `{"a": "b"}` || p["type"] != "application/json" || p["colour"] != "blue" {
		t.Fatalf("created policy: %v", p)
	}
	if self := exObj(p, "links")["self"]; self != e.srv.URL+"/identity/v3/policies/"+id {
		t.Fatalf("self link %v", self)
	}

	if !exIDs(exList(e.must(e.admin, "GET", "/policies", nil, 200), "policies"))[id] {
		t.Fatal("policy not listed")
	}
	if got := exList(e.must(e.admin, "GET", "/policies?type=other", nil, 200), "policies"); len(got) != 0 {
		t.Fatalf("type filter: %v", got)
	}
	e.must(userTok, "GET", "/policies/"+id, nil, 403)

	e.must(e.admin, "PATCH", "/policies/"+id, map[string]any{"policy": map[string]any{}}, 400)
	e.must(userTok, "PATCH", "/policies/"+id, map[string]any{"policy": map[string]any{"type": "x"}}, 403)
	up := exObj(e.must(e.admin, "PATCH", "/policies/"+id, map[string]any{"policy": map[string]any{"type": "text/plain", "colour": nil}}, 200), "policy")
	if up["type"] != "text/plain" || up["blob"] != `{"a": "b"}` || up["colour"] != nil {
		t.Fatalf("updated policy: %v", up)
	}
	got := exObj(e.must(e.admin, "GET", "/policies/"+id, nil, 200), "policy")
	if got["type"] != "text/plain" {
		t.Fatalf("fetched policy: %v", got)
	}

	e.must(userTok, "DELETE", "/policies/"+id, nil, 403)
	e.must(e.admin, "DELETE", "/policies/"+id, nil, 204)
	e.must(e.admin, "GET", "/policies/"+id, nil, 404)
	e.must(e.admin, "DELETE", "/policies/"+id, nil, 404)
}

func TestOAuthConsumers(t *testing.T) {
	e := newExtrasEnv(t)
	_, _, userTok := e.member("bob")

	e.must(userTok, "POST", "/OS-OAUTH1/consumers", map[string]any{"consumer": map[string]any{"description": "d"}}, 403)
	c := exObj(e.must(e.admin, "POST", "/OS-OAUTH1/consumers", map[string]any{"consumer": map[string]any{"description": "my app"}}, 201), "consumer")
	id, _ := c["id"].(string)
	if id == "" || c["secret"] == nil || c["secret"] == "" || c["description"] != "my app" {
		t.Fatalf("created consumer: %v", c)
	}
	if self := exObj(c, "links")["self"]; self != e.srv.URL+"/identity/v3/OS-OAUTH1/consumers/"+id {
		t.Fatalf("self link %v", self)
	}
	plain := exObj(e.must(e.admin, "POST", "/OS-OAUTH1/consumers", map[string]any{"consumer": map[string]any{}}, 201), "consumer")
	if v, ok := plain["description"]; !ok || v != nil {
		t.Fatalf("consumer without description: %v", plain)
	}

	got := exObj(e.must(e.admin, "GET", "/OS-OAUTH1/consumers/"+id, nil, 200), "consumer")
	if _, ok := got["secret"]; ok || got["description"] != "my app" {
		t.Fatalf("shown consumer: %v", got)
	}
	cs := exList(e.must(e.admin, "GET", "/OS-OAUTH1/consumers", nil, 200), "consumers")
	if len(cs) != 2 || !exIDs(cs)[id] {
		t.Fatalf("listed consumers: %v", cs)
	}
	for _, c := range cs {
		if _, ok := c["secret"]; ok {
			t.Fatalf("listed consumer shows its secret: %v", c)
		}
	}

	e.must(e.admin, "PATCH", "/OS-OAUTH1/consumers/"+id, map[string]any{"consumer": map[string]any{"secret": "x"}}, 400)
	e.must(userTok, "PATCH", "/OS-OAUTH1/consumers/"+id, map[string]any{"consumer": map[string]any{"description": "x"}}, 403)
	up := exObj(e.must(e.admin, "PATCH", "/OS-OAUTH1/consumers/"+id, map[string]any{"consumer": map[string]any{"description": "new"}}, 200), "consumer")
	if up["description"] != "new" {
		t.Fatalf("updated consumer: %v", up)
	}
	if _, ok := up["secret"]; ok {
		t.Fatalf("updated consumer shows its secret: %v", up)
	}

	e.must(e.admin, "DELETE", "/OS-OAUTH1/consumers/"+id, nil, 204)
	e.must(e.admin, "GET", "/OS-OAUTH1/consumers/"+id, nil, 404)
	e.must(e.admin, "DELETE", "/OS-OAUTH1/consumers/"+id, nil, 404)
}

func TestEndpointGroups(t *testing.T) {
	e := newExtrasEnv(t)
	_, projectID, userTok := e.member("carol")

	svc := exObj(e.must(e.admin, "POST", "/services", map[string]any{"service": map[string]any{"type": "compute", "name": "nova"}}, 201), "service")
	other := exObj(e.must(e.admin, "POST", "/services", map[string]any{"service": map[string]any{"type": "image", "name": "glance"}}, 201), "service")
	ep := exObj(e.must(e.admin, "POST", "/endpoints", map[string]any{"endpoint": map[string]any{"service_id": svc["id"], "interface": "public", "url": "http://nova"}}, 201), "endpoint")
	ep2 := exObj(e.must(e.admin, "POST", "/endpoints", map[string]any{"endpoint": map[string]any{"service_id": other["id"], "interface": "public", "url": "http://glance"}}, 201), "endpoint")
	epID, ep2ID := ep["id"].(string), ep2["id"].(string)

	base := "/OS-EP-FILTER/endpoint_groups"
	e.must(e.admin, "POST", base, map[string]any{"endpoint_group": map[string]any{"name": "g"}}, 400)
	e.must(e.admin, "POST", base, map[string]any{"endpoint_group": map[string]any{"name": "g", "filters": map[string]any{}}}, 400)
	e.must(e.admin, "POST", base, map[string]any{"endpoint_group": map[string]any{"name": "g", "filters": map[string]any{"url": "x"}}}, 400)
	e.must(userTok, "POST", base, map[string]any{"endpoint_group": map[string]any{"name": "g", "filters": map[string]any{"service_id": svc["id"]}}}, 403)
	if got := exList(e.must(e.admin, "GET", base, nil, 200), "endpoint_groups"); len(got) != 0 {
		t.Fatalf("rejected creates stored groups: %v", got)
	}

	g := exObj(e.must(e.admin, "POST", base, map[string]any{"endpoint_group": map[string]any{
		"name": "nova-public", "description": "d", "filters": map[string]any{"service_id": svc["id"], "interface": "public"}}}, 201), "endpoint_group")
	gid := g["id"].(string)
	if g["name"] != "nova-public" || g["description"] != "d" || exObj(g, "filters")["service_id"] != svc["id"] {
		t.Fatalf("created group: %v", g)
	}
	listed := exList(e.must(e.admin, "GET", base+"?name=nova-public", nil, 200), "endpoint_groups")
	if len(listed) != 1 || !exJSONEqual(listed[0], g) {
		t.Fatalf("listed %v, created %v", listed, g)
	}
	if st, _ := e.do(e.admin, "HEAD", base+"/"+gid, nil); st != 200 {
		t.Fatalf("HEAD: %d", st)
	}
	e.must(e.admin, "GET", base+"/nope", nil, 404)

	eps := exList(e.must(e.admin, "GET", base+"/"+gid+"/endpoints", nil, 200), "endpoints")
	if len(eps) != 1 || eps[0]["id"] != epID {
		t.Fatalf("group endpoints: %v", eps)
	}

	// Updates: bad filters are rejected and change nothing.
	e.must(e.admin, "PATCH", base+"/"+gid, map[string]any{"endpoint_group": map[string]any{"filters": map[string]any{"bad": 1}}}, 400)
	e.must(e.admin, "PATCH", base+"/"+gid, map[string]any{"endpoint_group": map[string]any{}}, 400)
	got := exObj(e.must(e.admin, "GET", base+"/"+gid, nil, 200), "endpoint_group")
	if !exJSONEqual(got, g) {
		t.Fatalf("rejected update changed the group: %v", got)
	}
	up := exObj(e.must(e.admin, "PATCH", base+"/"+gid, map[string]any{"endpoint_group": map[string]any{
		"name": "glance", "description": nil, "filters": map[string]any{"service_id": other["id"]}}}, 200), "endpoint_group")
	if up["name"] != "glance" || up["description"] != nil || exObj(up, "filters")["service_id"] != other["id"] {
		t.Fatalf("updated group: %v", up)
	}

	// Project associations.
	pa := base + "/" + gid + "/projects/" + projectID
	e.must(e.admin, "GET", pa, nil, 404)
	e.must(userTok, "PUT", pa, nil, 403)
	e.must(e.admin, "PUT", base+"/"+gid+"/projects/nope", nil, 404)
	e.must(e.admin, "PUT", base+"/nope/projects/"+projectID, nil, 404)
	e.must(e.admin, "PUT", pa, nil, 204)
	e.must(e.admin, "PUT", pa, nil, 409)
	a := exObj(e.must(e.admin, "GET", pa, nil, 200), "project_endpoint_group")
	if a["endpoint_group_id"] != gid || a["project_id"] != projectID {
		t.Fatalf("association: %v", a)
	}
	if st, _ := e.do(e.admin, "HEAD", pa, nil); st != 200 {
		t.Fatalf("HEAD association: %d", st)
	}
	if ps := exList(e.must(e.admin, "GET", base+"/"+gid+"/projects", nil, 200), "projects"); len(ps) != 1 || ps[0]["id"] != projectID {
		t.Fatalf("group projects: %v", ps)
	}
	if gs := exList(e.must(e.admin, "GET", "/OS-EP-FILTER/projects/"+projectID+"/endpoint_groups", nil, 200), "endpoint_groups"); len(gs) != 1 || gs[0]["id"] != gid {
		t.Fatalf("project groups: %v", gs)
	}
	e.must(e.admin, "GET", "/OS-EP-FILTER/projects/nope/endpoint_groups", nil, 404)

	// Direct project-endpoint associations; the project's endpoints are the
	// direct ones plus those of its groups.
	pe := "/OS-EP-FILTER/projects/" + projectID + "/endpoints/" + epID
	if st, _ := e.do(e.admin, "HEAD", pe, nil); st != 404 {
		t.Fatalf("HEAD before association: %d", st)
	}
	e.must(userTok, "PUT", pe, nil, 403)
	e.must(e.admin, "PUT", "/OS-EP-FILTER/projects/"+projectID+"/endpoints/nope", nil, 404)
	e.must(e.admin, "PUT", pe, nil, 204)
	if st, _ := e.do(e.admin, "HEAD", pe, nil); st != 204 {
		t.Fatalf("HEAD after association: %d", st)
	}
	pes := exIDs(exList(e.must(e.admin, "GET", "/OS-EP-FILTER/projects/"+projectID+"/endpoints", nil, 200), "endpoints"))
	if len(pes) != 2 || !pes[epID] || !pes[ep2ID] {
		t.Fatalf("project endpoints: %v", pes)
	}
	if ps := exList(e.must(e.admin, "GET", "/OS-EP-FILTER/endpoints/"+epID+"/projects", nil, 200), "projects"); len(ps) != 1 || ps[0]["id"] != projectID {
		t.Fatalf("endpoint projects: %v", ps)
	}
	e.must(e.admin, "DELETE", pe, nil, 204)
	e.must(e.admin, "DELETE", pe, nil, 404)

	// Deleting the group drops its associations.
	e.must(userTok, "DELETE", base+"/"+gid, nil, 403)
	e.must(e.admin, "DELETE", base+"/"+gid, nil, 204)
	e.must(e.admin, "GET", base+"/"+gid, nil, 404)
	if gs := exList(e.must(e.admin, "GET", "/OS-EP-FILTER/projects/"+projectID+"/endpoint_groups", nil, 200), "endpoint_groups"); len(gs) != 0 {
		t.Fatalf("associations survive their group: %v", gs)
	}
}

func exJSONEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestDomainConfig(t *testing.T) {
	e := newExtrasEnv(t)
	_, _, userTok := e.member("dave")
	d := exObj(e.must(e.admin, "POST", "/domains", map[string]any{"domain": map[string]any{"name": "ldap-domain"}}, 201), "domain")
	cfgPath := "/domains/" + d["id"].(string) + "/config"

	cfg := map[string]any{
		"identity": map[string]any{"driver": "ldap"},
		"ldap":     map[string]any{"url": "ldap://myldap.com:389/", "user_tree_dn": "ou=Users,dc=org", "password": "s3cret"},
	}
	shown := map[string]any{
		"identity": map[string]any{"driver": "ldap"},
		"ldap":     map[string]any{"url": "ldap://myldap.com:389/", "user_tree_dn": "ou=Users,dc=org"},
	}

	// Rejected creates store nothing.
	e.must(e.admin, "GET", cfgPath, nil, 404)
	e.must(userTok, "PUT", cfgPath, map[string]any{"config": cfg}, 403)
	e.must(e.admin, "PUT", cfgPath, map[string]any{"config": map[string]any{}}, 403)
	e.must(e.admin, "PUT", cfgPath, map[string]any{"config": map[string]any{"assignment": map[string]any{"driver": "sql"}}}, 403)
	e.must(e.admin, "PUT", cfgPath, map[string]any{"config": map[string]any{"ldap": map[string]any{"url": "x", "bogus": 1}}}, 403)
	e.must(e.admin, "PUT", cfgPath, map[string]any{"config": map[string]any{"ldap": "x"}}, 403)
	e.must(e.admin, "PUT", "/domains/nope/config", map[string]any{"config": cfg}, 404)
	e.must(e.admin, "GET", cfgPath, nil, 404)

	if got := exObj(e.must(e.admin, "PUT", cfgPath, map[string]any{"config": cfg}, 201), "config"); !exJSONEqual(got, shown) {
		t.Fatalf("created config %v, want %v", got, shown)
	}
	if got := exObj(e.must(e.admin, "PUT", cfgPath, map[string]any{"config": cfg}, 200), "config"); !exJSONEqual(got, shown) {
		t.Fatalf("replaced config %v", got)
	}
	if got := exObj(e.must(e.admin, "GET", cfgPath, nil, 200), "config"); !exJSONEqual(got, shown) {
		t.Fatalf("shown config %v", got)
	}
	e.must(userTok, "GET", cfgPath, nil, 403)
	if got := exObj(e.must(e.admin, "GET", cfgPath+"/ldap", nil, 200), "config"); !exJSONEqual(got, map[string]any{"ldap": shown["ldap"]}) {
		t.Fatalf("ldap group %v", got)
	}
	if got := exObj(e.must(e.admin, "GET", cfgPath+"/ldap/url", nil, 200), "config"); !exJSONEqual(got, map[string]any{"url": "ldap://myldap.com:389/"}) {
		t.Fatalf("ldap url %v", got)
	}
	e.must(e.admin, "GET", cfgPath+"/ldap/password", nil, 404)
	e.must(e.admin, "GET", cfgPath+"/ldap/user", nil, 404)
	e.must(e.admin, "GET", cfgPath+"/ldap/bogus", nil, 403)
	e.must(e.admin, "GET", cfgPath+"/catalog", nil, 403)

	// Updates.
	e.must(e.admin, "PATCH", cfgPath+"/identity", map[string]any{"config": map[string]any{"ldap": map[string]any{"url": "x"}}}, 403)
	e.must(e.admin, "PATCH", cfgPath+"/identity/driver", map[string]any{"config": map[string]any{"list_limit": 5}}, 403)
	e.must(e.admin, "PATCH", cfgPath+"/identity/list_limit", map[string]any{"config": map[string]any{"list_limit": 5}}, 404)
	e.must(userTok, "PATCH", cfgPath, map[string]any{"config": map[string]any{"identity": map[string]any{"driver": "sql"}}}, 403)
	if got := exObj(e.must(e.admin, "GET", cfgPath, nil, 200), "config"); !exJSONEqual(got, shown) {
		t.Fatalf("rejected updates changed the config: %v", got)
	}
	got := exObj(e.must(e.admin, "PATCH", cfgPath+"/identity", map[string]any{"config": map[string]any{"identity": map[string]any{"driver": "d2", "list_limit": 42}}}, 200), "config")
	if !exJSONEqual(exObj(got, "identity"), map[string]any{"driver": "d2", "list_limit": 42}) || exObj(got, "ldap") == nil {
		t.Fatalf("group update: %v", got)
	}
	got = exObj(e.must(e.admin, "PATCH", cfgPath+"/identity/driver", map[string]any{"config": map[string]any{"driver": "d3"}}, 200), "config")
	if exObj(got, "identity")["driver"] != "d3" {
		t.Fatalf("option update: %v", got)
	}
	got = exObj(e.must(e.admin, "PATCH", cfgPath, map[string]any{"config": map[string]any{"ldap": map[string]any{"suffix": "dc=org"}}}, 200), "config")
	if exObj(got, "ldap")["suffix"] != "dc=org" || exObj(got, "ldap")["url"] != "ldap://myldap.com:389/" {
		t.Fatalf("config update: %v", got)
	}

	// Deletes.
	e.must(e.admin, "DELETE", cfgPath+"/identity/driver", nil, 204)
	e.must(e.admin, "GET", cfgPath+"/identity/driver", nil, 404)
	e.must(e.admin, "DELETE", cfgPath+"/identity/driver", nil, 404)
	e.must(e.admin, "DELETE", cfgPath+"/identity", nil, 204)
	e.must(e.admin, "GET", cfgPath+"/identity", nil, 404)
	e.must(e.admin, "DELETE", cfgPath+"/identity", nil, 404)
	e.must(userTok, "DELETE", cfgPath, nil, 403)
	e.must(e.admin, "DELETE", cfgPath, nil, 204)
	e.must(e.admin, "GET", cfgPath, nil, 404)

	// Defaults.
	def := exObj(e.must(e.admin, "GET", "/domains/config/default", nil, 200), "config")
	if exObj(def, "identity")["driver"] != "sql" || exObj(def, "ldap") == nil {
		t.Fatalf("default config: %v", def)
	}
	if _, ok := exObj(def, "ldap")["password"]; ok {
		t.Fatal("default config shows the ldap password")
	}
	if got := exObj(e.must(e.admin, "GET", "/domains/config/identity/default", nil, 200), "config"); len(got) != 1 || exObj(got, "identity") == nil {
		t.Fatalf("default identity group: %v", got)
	}
	if got := exObj(e.must(e.admin, "GET", "/domains/config/ldap/url/default", nil, 200), "config"); got["url"] != "ldap://localhost" {
		t.Fatalf("default ldap url: %v", got)
	}
	e.must(e.admin, "GET", "/domains/config/ldap/password/default", nil, 403)
	e.must(e.admin, "GET", "/domains/config/catalog/default", nil, 403)
	e.must(userTok, "GET", "/domains/config/default", nil, 403)

	// security_compliance is readable by anyone, on the default domain only.
	sc := exObj(e.must(userTok, "GET", "/domains/default/config/security_compliance", nil, 200), "config")
	if _, ok := exObj(sc, "security_compliance")["password_regex"]; !ok {
		t.Fatalf("security compliance: %v", sc)
	}
	e.must(userTok, "GET", "/domains/default/config/security_compliance/password_regex", nil, 200)
	e.must(userTok, "GET", cfgPath+"/security_compliance", nil, 403)

	e.must(e.admin, "GET", "/domains/"+d["id"].(string)+"/other/x", nil, 404)
}

func TestEC2Credentials(t *testing.T) {
	e := newExtrasEnv(t)
	userID, projectID, userTok := e.member("erin")
	otherID, _, otherTok := e.member("frank")
	base := "/users/" + userID + "/credentials/OS-EC2"

	e.must(userTok, "POST", base, map[string]any{}, 400)
	e.must(userTok, "POST", base, map[string]any{"tenant_id": "nope"}, 404)
	e.must(otherTok, "POST", base, map[string]any{"tenant_id": projectID}, 403)
	e.must(e.admin, "POST", "/users/nope/credentials/OS-EC2", map[string]any{"tenant_id": projectID}, 404)
	if got := exList(e.must(userTok, "GET", base, nil, 200), "credentials"); len(got) != 0 {
		t.Fatalf("rejected creates stored credentials: %v", got)
	}

	c := exObj(e.must(userTok, "POST", base, map[string]any{"tenant_id": projectID}, 201), "credential")
	access, _ := c["access"].(string)
	if access == "" || c["secret"] == "" || c["user_id"] != userID || c["tenant_id"] != projectID {
		t.Fatalf("created credential: %v", c)
	}
	if v, ok := c["trust_id"]; !ok || v != nil {
		t.Fatalf("trust_id: %v", c)
	}
	if self := exObj(c, "links")["self"]; self != e.srv.URL+"/identity/v3"+base+"/"+access {
		t.Fatalf("self link %v", self)
	}
	c2 := exObj(e.must(e.admin, "POST", base, map[string]any{"tenant_id": projectID}, 201), "credential")

	cs := exList(e.must(userTok, "GET", base, nil, 200), "credentials")
	if len(cs) != 2 {
		t.Fatalf("listed credentials: %v", cs)
	}
	e.must(otherTok, "GET", base, nil, 403)
	e.must(e.admin, "GET", base, nil, 200)

	got := exObj(e.must(userTok, "GET", base+"/"+access, nil, 200), "credential")
	for _, k := range []string{"access", "secret", "user_id", "tenant_id"} {
		if got[k] != c[k] {
			t.Fatalf("shown credential %v, created %v", got, c)
		}
	}
	e.must(otherTok, "GET", base+"/"+access, nil, 403)
	e.must(otherTok, "GET", "/users/"+otherID+"/credentials/OS-EC2/"+access, nil, 404)

	// The same record through /v3/credentials: ID sha256(access), type ec2.
	sum := sha256.Sum256([]byte(access))
	cr := exObj(e.must(e.admin, "GET", "/credentials/"+hex.EncodeToString(sum[:]), nil, 200), "credential")
	var blob map[string]any
	if err := json.Unmarshal([]byte(cr["blob"].(string)), &blob); err != nil {
		t.Fatal(err)
	}
	if cr["type"] != "ec2" || cr["project_id"] != projectID || blob["access"] != access || blob["secret"] != c["secret"] || blob["project_id"] != projectID {
		t.Fatalf("credential record %v", cr)
	}
	if v, ok := blob["trust_id"]; !ok || v != nil {
		t.Fatalf("blob trust_id: %v", blob)
	}

	e.must(otherTok, "DELETE", base+"/"+access, nil, 403)
	e.must(userTok, "DELETE", base+"/"+access, nil, 204)
	e.must(userTok, "GET", base+"/"+access, nil, 404)
	e.must(userTok, "DELETE", base+"/"+access, nil, 404)
	e.must(e.admin, "DELETE", base+"/"+c2["access"].(string), nil, 204)
	if got := exList(e.must(userTok, "GET", base, nil, 200), "credentials"); len(got) != 0 {
		t.Fatalf("credentials left: %v", got)
	}
}
