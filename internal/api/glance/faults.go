package glance

import (
	"encoding/json"
	"fmt"
	"html"
	"mime"
	"net/http"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// writeFault renders a fault as Glance does. Glance raises webob HTTP
// exceptions, whose body follows the Accept header: HTML when text/html is
// acceptable (also for */* or no Accept), JSON {"message", "code", "title"}
// when only application/json is, plain text otherwise. A 401 comes from
// keystonemiddleware, in Keystone's JSON shape.
func writeFault(w http.ResponseWriter, r *http.Request, status int, fe *fault.Error) {
	title := http.StatusText(status)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+apihttp.BaseURL(r)+`/identity"`)
		apihttp.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": status, "title": title, "message": fe.Msg}})
		return
	}
	code := fmt.Sprintf("%d %s", status, title)
	var body []byte
	var ctype string
	switch bestOffer(r.Header.Get("Accept")) {
	case "text/html":
		ctype = "text/html; charset=UTF-8"
		body = fmt.Appendf(nil, "<html>\n <head>\n  <title>%s</title>\n </head>\n <body>\n  <h1>%s</h1>\n  %s<br /><br />\n\n\n\n </body>\n</html>",
			code, code, html.EscapeString(fe.Msg))
	case "application/json":
		ctype = "application/json"
		body, _ = json.Marshal(map[string]string{"message": fe.Msg + "<br /><br />\n\n\n", "code": code, "title": title})
	default:
		ctype = "text/plain; charset=UTF-8"
		body = fmt.Appendf(nil, "%s\n\n%s\n\n   ", code, fe.Msg)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away
}

// bestOffer picks text/html or application/json from an Accept header the
// way webob's acceptable_offers does (highest q wins, text/html first on a
// tie); "" when neither is acceptable.
func bestOffer(accept string) string {
	if strings.TrimSpace(accept) == "" {
		return "text/html"
	}
	best, bestQ := "", 0.0
	for _, offer := range []string{"text/html", "application/json"} {
		q := 0.0
		for part := range strings.SplitSeq(accept, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			pq := 1.0
			if v, ok := params["q"]; ok {
				fmt.Sscanf(v, "%g", &pq)
			}
			typ, _, _ := strings.Cut(offer, "/")
			if mt == offer || mt == "*/*" || mt == typ+"/*" {
				q = max(q, pq)
			}
		}
		if q > bestQ {
			best, bestQ = offer, q
		}
	}
	return best
}
