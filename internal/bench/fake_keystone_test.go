package bench

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// fakeKeystone is a tiny stand-in for Nubo's Identity API, good enough to
// exercise the benchmark: it answers the four benchmarked endpoints with
// the right statuses and headers and checks the credentials (the password
// with bcrypt).
type fakeKeystone struct {
	hash   []byte
	tokens sync.Map // token id -> struct{}
	hits   sync.Map // "METHOD path" -> *atomic.Int64
	// breakValidate makes GET /auth/tokens answer 404.
	breakValidate bool
}

func newFakeKeystone(password string, cost int) *fakeKeystone {
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		panic(err)
	}
	return &fakeKeystone{hash: h}
}

func (f *fakeKeystone) count(key string) int64 {
	v, ok := f.hits.Load(key)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (f *fakeKeystone) valid(tok string) bool {
	_, ok := f.tokens.Load(tok)
	return tok != "" && ok
}

func (f *fakeKeystone) newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	t := hex.EncodeToString(b)
	f.tokens.Store(t, struct{}{})
	return t
}

func (f *fakeKeystone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	v, _ := f.hits.LoadOrStore(key, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	w.Header().Set("Content-Type", "application/json")
	fail := func(code int) {
		w.WriteHeader(code)
		io.WriteString(w, `{"error":{"code":`+http.StatusText(code)+`}}`)
	}
	switch key {
	case "GET /identity/v3":
		io.WriteString(w, `{"version":{"id":"v3.14","status":"stable"}}`)
	case "POST /identity/v3/auth/tokens":
		var req identityAuth
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(http.StatusBadRequest)
			return
		}
		id, scope := req.Auth.Identity, req.Auth.Scope.Project
		if scope.Name != "admin" || scope.Domain.Name != "Default" || len(id.Methods) != 1 {
			fail(http.StatusUnauthorized)
			return
		}
		switch {
		case id.Methods[0] == "password" && id.Password != nil:
			u := id.Password.User
			if u.Name != "admin" || u.Domain.Name != "Default" ||
				bcrypt.CompareHashAndPassword(f.hash, []byte(u.Password)) != nil {
				fail(http.StatusUnauthorized)
				return
			}
		case id.Methods[0] == "token" && id.Token != nil:
			if !f.valid(id.Token.ID) {
				fail(http.StatusNotFound)
				return
			}
		default:
			fail(http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Subject-Token", f.newToken())
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"token":{"methods":["password"],"project":{"name":"admin"}}}`)
	case "GET /identity/v3/auth/tokens":
		if !f.valid(r.Header.Get("X-Auth-Token")) {
			fail(http.StatusUnauthorized)
			return
		}
		if f.breakValidate || !f.valid(r.Header.Get("X-Subject-Token")) {
			fail(http.StatusNotFound)
			return
		}
		io.WriteString(w, `{"token":{"methods":["password"]}}`)
	case "GET /identity/v3/projects":
		if !f.valid(r.Header.Get("X-Auth-Token")) {
			fail(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"projects":[{"id":"1","name":"admin"}]}`)
	default:
		fail(http.StatusNotFound)
	}
}
