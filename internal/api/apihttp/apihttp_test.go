package apihttp

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nubo-cloud/nubo/internal/fault"
)

func testAPI() (*API, *[]int) {
	var got []int
	return &API{
		Log: slog.New(slog.DiscardHandler),
		Faults: func(w http.ResponseWriter, r *http.Request, status int, fe *fault.Error) {
			got = append(got, status)
			WriteJSON(w, status, map[string]string{"message": fe.Msg})
		},
	}, &got
}

func TestDecode_Faults(t *testing.T) {
	tests := []struct {
		name, body, ct string
		want           int
	}{
		{name: "valid", body: `{"a": 1}`, want: http.StatusOK},
		{name: "malformed json", body: `{"a": `, want: http.StatusBadRequest},
		{name: "wrong type", body: `{"a": "x"}`, want: http.StatusBadRequest},
		{name: "empty body", body: ``, want: http.StatusBadRequest},
		{name: "oversized body", body: `{"a": 1, "pad": "` + strings.Repeat("x", MaxBodyBytes) + `"}`, want: http.StatusRequestEntityTooLarge},
		{name: "wrong content type", body: `{"a": 1}`, ct: "text/plain", want: http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, got := testAPI()
			h := a.H(func(w http.ResponseWriter, r *http.Request) error {
				var v struct {
					A int `json:"a"`
				}
				if err := Decode(w, r, &v); err != nil {
					return err
				}
				w.WriteHeader(http.StatusOK)
				return nil
			})
			req := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d (faults %v)", rec.Code, tt.want, *got)
			}
		})
	}
}

func TestFail_HidesInternalErrors(t *testing.T) {
	a, _ := testAPI()
	h := a.H(func(w http.ResponseWriter, r *http.Request) error { return errors.New("disk on fire at /secret/path") })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 500 || strings.Contains(string(body), "secret") {
		t.Fatalf("got %d %s, want a 500 without the cause", rec.Code, body)
	}
}

func TestOuter_SetsRequestIDAndRecovers(t *testing.T) {
	h := Outer(slog.New(slog.DiscardHandler), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	id := rec.Header().Get(HeaderRequestID)
	if !strings.HasPrefix(id, "req-") || len(id) != len("req-")+36 {
		t.Fatalf("request id = %q", id)
	}
	if rec.Code != 500 {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
}

func TestPaginate(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	id := func(s string) string { return s }
	tests := []struct {
		name, query string
		want        []string
		next        string
		status      int
	}{
		{name: "all", query: "", want: items},
		{name: "first page", query: "limit=2", want: []string{"a", "b"}, next: "b"},
		{name: "after marker", query: "limit=2&marker=b", want: []string{"c", "d"}, next: "d"},
		{name: "last page", query: "limit=2&marker=d", want: []string{"e"}},
		{name: "unknown marker", query: "marker=zz", status: 400},
		{name: "bad limit", query: "limit=-1", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/x?"+tt.query, nil)
			p, err := Paginate(r, items, id, 0)
			if tt.status != 0 {
				if fe := fault.As(err); fe == nil || fe.Kind.Status() != tt.status {
					t.Fatalf("err = %v, want status %d", err, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(p.Items, ",") != strings.Join(tt.want, ",") || p.Next != tt.next {
				t.Fatalf("got %v next %q, want %v next %q", p.Items, p.Next, tt.want, tt.next)
			}
		})
	}
}
