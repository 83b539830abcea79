package microversion

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nubo-cloud/nubo/internal/fault"
)

var nova = Range{Service: "compute", Legacy: "X-OpenStack-Nova-API-Version", Min: Version{2, 1}, Max: Version{2, 79}}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		ok   bool
	}{
		{"2.1", Version{2, 1}, true},
		{"2.79", Version{2, 79}, true},
		{" 2.10 ", Version{2, 10}, true},
		{"1.0", Version{1, 0}, true},
		{"2", Version{}, false},
		{"2.", Version{}, false},
		{"2.01", Version{}, false},
		{"0.1", Version{}, false},
		{"a.b", Version{}, false},
		{"2.-1", Version{}, false},
		{"2.1.1", Version{}, false},
		{"", Version{}, false},
	} {
		got, err := Parse(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestAtLeast(t *testing.T) {
	v := Version{2, 47}
	if !v.AtLeast(2, 47) || !v.AtLeast(2, 1) || v.AtLeast(2, 48) || v.AtLeast(3, 0) || !v.AtLeast(1, 99) {
		t.Fatal("AtLeast wrong")
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   Version
		status int // 0 ok, 400, 406
	}{
		{"", Version{2, 1}, 0},
		{"latest", Version{2, 79}, 0},
		{"LATEST", Version{2, 79}, 0},
		{"2.53", Version{2, 53}, 0},
		{"2.80", Version{}, 406},
		{"2.0", Version{}, 406},
		{"3.0", Version{}, 406},
		{"foo", Version{}, 400},
	} {
		got, err := nova.Resolve(tc.in)
		var na *NotAcceptableError
		status := 0
		switch {
		case errors.As(err, &na):
			status = 406
		case fault.Is(err, fault.BadRequest):
			status = 400
		case err != nil:
			t.Fatalf("Resolve(%q): unexpected %v", tc.in, err)
		}
		if status != tc.status || got != tc.want {
			t.Errorf("Resolve(%q) = %v, %d; want %v, %d", tc.in, got, status, tc.want, tc.status)
		}
	}
}

func TestRequested(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    map[string]string
		want string
	}{
		{"none", nil, ""},
		{"new header", map[string]string{"OpenStack-API-Version": "compute 2.10"}, "2.10"},
		{"other service", map[string]string{"OpenStack-API-Version": "volume 3.5"}, ""},
		{"list", map[string]string{"OpenStack-API-Version": "volume 3.5, compute 2.3"}, "2.3"},
		{"case", map[string]string{"OpenStack-API-Version": "Compute latest"}, "latest"},
		{"legacy", map[string]string{"X-OpenStack-Nova-API-Version": "2.11"}, "2.11"},
		{"new wins", map[string]string{"X-OpenStack-Nova-API-Version": "2.11", "OpenStack-API-Version": "compute 2.12"}, "2.12"},
	} {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got := nova.Requested(h); got != tc.want {
			t.Errorf("%s: Requested = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	var seen Version
	h := nova.Middleware(func(w http.ResponseWriter, r *http.Request, status int, fe *fault.Error) {
		w.WriteHeader(status)
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = FromContext(r.Context()) }))
	for _, tc := range []struct {
		hdr    string
		status int
		want   Version
	}{
		{"", 200, Version{2, 1}},
		{"compute 2.55", 200, Version{2, 55}},
		{"compute 2.99", 406, Version{}},
		{"compute x", 400, Version{}},
	} {
		seen = Version{}
		req := httptest.NewRequest("GET", "/", nil)
		if tc.hdr != "" {
			req.Header.Set("OpenStack-API-Version", tc.hdr)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || seen != tc.want {
			t.Errorf("%q: status %d version %v; want %d %v", tc.hdr, rec.Code, seen, tc.status, tc.want)
		}
		if rec.Header().Get("Vary") == "" {
			t.Errorf("%q: no Vary", tc.hdr)
		}
		if tc.status == 200 {
			if got := rec.Header().Get("OpenStack-API-Version"); got != "compute "+tc.want.String() {
				t.Errorf("OpenStack-API-Version = %q", got)
			}
			if got := rec.Header().Get("X-OpenStack-Nova-API-Version"); got != tc.want.String() {
				t.Errorf("X-OpenStack-Nova-API-Version = %q", got)
			}
		}
	}
}
