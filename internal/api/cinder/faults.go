package cinder

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// faultName is Cinder's name for a fault body's key, by status (the same
// dialect as Nova's).
func faultName(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "badRequest"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "itemNotFound"
	case http.StatusMethodNotAllowed:
		return "badMethod"
	case http.StatusNotAcceptable:
		return "notAcceptable"
	case http.StatusConflict:
		return "conflictingRequest"
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return "overLimit"
	case http.StatusUnsupportedMediaType:
		return "badMediaType"
	case http.StatusNotImplemented:
		return "notImplemented"
	case http.StatusServiceUnavailable:
		return "serviceUnavailable"
	}
	return "computeFault"
}

type faultView struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// writeFault renders Cinder's fault body: {"itemNotFound": {"code": 404, "message": "..."}}.
func writeFault(w http.ResponseWriter, r *http.Request, status int, fe *fault.Error) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+apihttp.BaseURL(r)+`/identity"`)
	}
	apihttp.WriteJSON(w, status, map[string]faultView{faultName(status): {Code: status, Message: fe.Msg}})
}
