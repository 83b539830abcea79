package consoleproxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/coder/websocket"
)

// Prefix is where the handler is mounted on the API listener.
const Prefix = "/console/"

// ErrInvalidToken is what Resolve returns for a token that opens nothing
// (unknown, expired, its server gone or on no host).
var ErrInvalidToken = errors.New("consoleproxy: invalid console token")

// Target is the console a token opens.
type Target struct {
	ServerID string
	HostID   string
}

// Options configure the handler.
type Options struct {
	// Dir holds noVNC's files (vnc.html, vnc_lite.html, app/, core/, …);
	// "" or a missing directory serves no page (404), the WebSocket still
	// works for other clients.
	Dir string
	// Resolve returns the console a token opens.
	Resolve func(ctx context.Context, token string) (Target, error)
	// Dial connects to the target's VNC server.
	Dial func(ctx context.Context, t Target) (net.Conn, error)
	Log  *slog.Logger
}

// DefaultDirs are where noVNC's files are looked for, in order: Debian's
// novnc package, then where scripts/install-deps.sh unpacks them.
var DefaultDirs = []string{"/usr/share/novnc", "/usr/share/nubo/novnc"}

// FindDir returns the first of dirs that holds noVNC's vnc_lite.html, or "".
func FindDir(dirs ...string) string {
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "vnc_lite.html")); err == nil {
			return d
		}
	}
	return ""
}

// Handler serves the console proxy under Prefix.
func Handler(o Options) http.Handler {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	var files http.Handler = http.NotFoundHandler()
	if o.Dir != "" {
		files = http.StripPrefix(strings.TrimSuffix(Prefix, "/"), http.FileServer(http.Dir(o.Dir)))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == Prefix+"websockify":
			o.serveWebSocket(w, r)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		default:
			files.ServeHTTP(w, r)
		}
	})
}

// token reads the console token from the query, or from a token= cookie
// (how noVNC before 1.1 passed it).
func token(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	if c, err := r.Cookie("token"); err == nil {
		return c.Value
	}
	return ""
}

// refuse answers a WebSocket request that opens nothing: a bare 403 that
// closes the connection, so a client sees no data at all.
func refuse(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusForbidden)
}

func (o *Options) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := o.Resolve(ctx, token(r))
	if err != nil {
		if !errors.Is(err, ErrInvalidToken) {
			o.Log.WarnContext(ctx, "console token", "err", err)
		}
		refuse(w)
		return
	}
	vnc, err := o.Dial(ctx, t)
	if err != nil {
		o.Log.WarnContext(ctx, "console unreachable", "server_id", t.ServerID, "host_id", t.HostID, "err", err)
		refuse(w)
		return
	}
	defer vnc.Close()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		return // Accept has answered
	}
	ws.SetReadLimit(1 << 20)
	// The request's context ends when the handler returns; the session
	// lives until either side closes.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	conn := websocket.NetConn(sctx, ws, websocket.MessageBinary)
	defer conn.Close()
	o.Log.InfoContext(ctx, "console opened", "server_id", t.ServerID)
	relay(conn, vnc)
	o.Log.InfoContext(ctx, "console closed", "server_id", t.ServerID)
}

// relay copies both ways until one side ends, then closes both.
func relay(a, b net.Conn) {
	var once sync.Once
	done := make(chan struct{})
	stop := func() { once.Do(func() { a.Close(); b.Close(); close(done) }) }
	go func() { _, _ = io.Copy(a, b); stop() }()
	go func() { _, _ = io.Copy(b, a); stop() }()
	<-done
}
