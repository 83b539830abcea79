package keystone

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

type errorBody struct {
	Error errorView `json:"error"`
}

type errorView struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Message string `json:"message"`
}

// writeFault renders Keystone's fault body.
func writeFault(w http.ResponseWriter, r *http.Request, status int, fe *fault.Error) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+apihttp.BaseURL(r)+prefix+`"`)
	}
	apihttp.WriteJSON(w, status, errorBody{Error: errorView{Code: status, Title: http.StatusText(status), Message: fe.Msg}})
}
