package nova

import (
	"net/http"
	"net/url"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
)

// consoleURL is the noVNC page of the console proxy (internal/consoleproxy)
// for a token; its path parameter is where noVNC opens the WebSocket,
// relative to the host.
func consoleURL(r *http.Request, tok *compute.ConsoleToken) string {
	return apihttp.BaseURL(r) + "/console/vnc_lite.html?path=" + url.QueryEscape("console/websockify?token="+tok.ID)
}

// createRemoteConsole is POST /servers/{id}/remote-consoles (2.6).
func (a *api) createRemoteConsole(w http.ResponseWriter, r *http.Request) error {
	if !mv(r).AtLeast(2, 6) {
		return notFoundf("The resource could not be found.")
	}
	m, err := decodeBody(w, r, "remote_console")
	if err != nil {
		return err
	}
	proto, err := stringField(m, "protocol")
	if err != nil {
		return err
	}
	typ, err := stringField(m, "type")
	if err != nil {
		return err
	}
	if proto == nil || typ == nil {
		return badRequest("Invalid input for field/attribute remote_console. 'protocol' and 'type' are required properties")
	}
	switch *proto {
	case "vnc", "spice", "rdp", "serial", "mks":
	default:
		return badRequest("Invalid input for field/attribute protocol. Value: %s.", *proto)
	}
	tok, err := a.c.RemoteConsole(r.Context(), r.PathValue("id"), *proto, *typ)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"remote_console": map[string]string{"protocol": *proto, "type": *typ, "url": consoleURL(r, tok)}})
	return nil
}
