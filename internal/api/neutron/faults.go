package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

type neutronError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

// statusByType overrides the status a fault kind implies for the Neutron
// error types that have their own.
var statusByType = map[string]int{
	"RevisionNumberConstraintFailed": http.StatusPreconditionFailed,
}

var typeByStatus = map[int]string{
	http.StatusBadRequest:            "HTTPBadRequest",
	http.StatusUnauthorized:          "HTTPUnauthorized",
	http.StatusForbidden:             "HTTPForbidden",
	http.StatusNotFound:              "HTTPNotFound",
	http.StatusMethodNotAllowed:      "HTTPMethodNotAllowed",
	http.StatusConflict:              "HTTPConflict",
	http.StatusRequestEntityTooLarge: "HTTPRequestEntityTooLarge",
	http.StatusUnsupportedMediaType:  "HTTPUnsupportedMediaType",
	http.StatusInternalServerError:   "HTTPInternalServerError",
	http.StatusNotImplemented:        "HTTPNotImplemented",
	http.StatusServiceUnavailable:    "HTTPServiceUnavailable",
}

// writeFault renders Neutron's fault body.
func writeFault(w http.ResponseWriter, r *http.Request, status int, fe *fault.Error) {
	if s, ok := statusByType[fe.Type]; ok {
		status = s
	}
	typ := fe.Type
	if typ == "" {
		typ = typeByStatus[status]
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+apihttp.BaseURL(r)+`/identity"`)
	}
	apihttp.WriteJSON(w, status, map[string]neutronError{"NeutronError": {Type: typ, Message: fe.Msg, Detail: ""}})
}

func notFound(what string) error {
	return &fault.Error{Kind: fault.NotFound, Type: "HTTPNotFound", Msg: "The resource could not be found. " + what}
}

func badRequest(format string, args ...any) error {
	fe := fault.New(fault.BadRequest, format, args...)
	fe.Type = "HTTPBadRequest"
	return fe
}
