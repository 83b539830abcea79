package cinder

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/nubo-cloud/nubo/internal/fault"
)

func TestWriteFault(t *testing.T) {
	for status, name := range map[int]string{400: "badRequest", 403: "forbidden", 404: "itemNotFound", 406: "notAcceptable", 413: "overLimit", 500: "computeFault"} {
		w := httptest.NewRecorder()
		writeFault(w, httptest.NewRequest(http.MethodGet, "/volume/v3/volumes", nil), status, fault.New(fault.BadRequest, "m"))
		want := `{"` + name + `":{"code":` + strconv.Itoa(status) + `,"message":"m"}}`
		if w.Code != status || w.Body.String() != want {
			t.Errorf("%d: %d %s, want %s", status, w.Code, w.Body, want)
		}
	}
}

func TestStripProject(t *testing.T) {
	inner := http.NewServeMux()
	var got string
	inner.HandleFunc("GET /volume/v3/volumes/{id}", func(w http.ResponseWriter, r *http.Request) { got = r.PathValue("id") })
	h := stripProject(inner, &api{})
	for _, path := range []string{"/volume/v3/volumes/abc", "/volume/v3/0123456789abcdef0123456789abcdef/volumes/abc"} {
		got = ""
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		if got != "abc" {
			t.Errorf("%s: routed to %q", path, got)
		}
	}
}
