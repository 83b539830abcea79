package nova

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nubo-cloud/nubo/internal/fault"
)

func TestWriteFault(t *testing.T) {
	for _, tc := range []struct {
		status int
		name   string
	}{
		{400, "badRequest"}, {401, "unauthorized"}, {403, "forbidden"}, {404, "itemNotFound"},
		{405, "badMethod"}, {409, "conflictingRequest"}, {413, "overLimit"}, {429, "overLimit"},
		{501, "notImplemented"}, {503, "serviceUnavailable"}, {500, "computeFault"}, {406, "computeFault"},
	} {
		rec := httptest.NewRecorder()
		writeFault(rec, httptest.NewRequest("GET", "/compute/v2.1/flavors/x", nil), tc.status, fault.New(fault.NotFound, "Flavor x could not be found."))
		var body map[string]faultView
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		got, ok := body[tc.name]
		if rec.Code != tc.status || !ok || got.Code != tc.status || got.Message != "Flavor x could not be found." || len(body) != 1 {
			t.Errorf("%d: status %d body %s", tc.status, rec.Code, rec.Body)
		}
		if tc.status == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
	}
}
