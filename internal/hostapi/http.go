package hostapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/logkey"
)

// The HTTP API, relative to where it is mounted (/host/v1 on the control
// plane's listener):
//
//	POST /hosts                        Register        Host → {"host_id"}
//	GET  /hosts/{id}/state             State           → State
//	GET  /wait?after=N                 Wait            → {"revision"} (long-poll, bounded)
//	POST /hosts/{id}/servers/report    ReportServer    ServerReport → 204
//	POST /hosts/{id}/ports/report      ReportPorts     {"ports": [PortReport]} → 204
//	POST /hosts/{id}/volumes/report    ReportVolume    VolumeReport → 204
//	POST /hosts/{id}/consoles/report   ReportConsole   ConsoleReport → 204
//	POST /hosts/{id}/tunnels/{tunnel}  Tunnel          Upgrade: nubo-tunnel → 101, then raw bytes
//	POST /metadata                     Metadata        MetadataQuery → Metadata
//	GET  /images/{id}                  Image           → bytes, ImageInfo in X-Image-* headers
//	PUT  /images/{id}                  UploadImage     bytes (Content-Length required) → 204
//
// Errors are {"error": "message"}: 404 for ErrNotFound, 400 for bad input,
// a fault.Error's own status, 500 (with a generic message; the cause is
// logged) otherwise.

// DefaultWaitBound is how long the server holds one Wait before answering
// with the revision unchanged; Client.WaitTimeout must be longer.
const DefaultWaitBound = 25 * time.Second

// maxJSONBytes caps JSON request bodies (a network node's port report can
// be long, but not this long).
const maxJSONBytes = 16 << 20

// Image metadata travels in these headers next to the bytes.
const (
	headerImageID    = "X-Image-Id"
	headerImageSize  = "X-Image-Size"
	headerDiskFormat = "X-Image-Disk-Format"
	headerChecksum   = "X-Image-Checksum"
)

// ErrUnauthorized (401: no valid token) and ErrForbidden (403: a valid
// token without the right role) are what Options.Authorize returns to
// refuse a call, and what Client returns when refused.
var (
	ErrUnauthorized = errors.New("hostapi: unauthorized")
	ErrForbidden    = errors.New("hostapi: forbidden")
)

// StatusError is a non-2xx answer: the Client returns it (errors.Is maps
// 404, 401 and 403 to ErrNotFound, ErrUnauthorized and ErrForbidden), and
// the Handler answers with Status when Control or Authorize returns one.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("hostapi: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Is lets errors.Is(err, ErrNotFound) and friends see through a status.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	}
	return false
}

// badRequest is a 400 with a message for the client.
func badRequest(format string, args ...any) error {
	return &StatusError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// Options tune Handler; the zero value serves every call unauthenticated
// (for tests, or behind a middleware that authenticates).
type Options struct {
	// Authorize, when set, runs before every call; an error refuses it:
	// ErrUnauthorized or a fault.Unauthorized is a 401 (the client
	// re-authenticates), ErrForbidden or a fault.Forbidden a 403, any
	// other fault or StatusError its own status, anything else a 500.
	Authorize func(*http.Request) error
	// WaitBound caps how long one Wait is held (DefaultWaitBound if 0).
	WaitBound time.Duration
	// Shutdown, when set, ends pending Waits (answering with the revision
	// unchanged) once it is done, so that a draining server does not hold
	// long-polls until their bound.
	Shutdown context.Context
}

type handler struct {
	c    Control
	log  *slog.Logger
	opts Options
}

// Handler serves c over HTTP, with paths relative to the handler's mount
// point (strip the prefix, e.g. with http.StripPrefix("/host/v1", …)).
// At most one Options is used.
func Handler(c Control, log *slog.Logger, opts ...Options) http.Handler {
	h := &handler{c: c, log: log.With(logkey.Component, "hostapi")}
	if len(opts) > 0 {
		h.opts = opts[0]
	}
	if h.opts.WaitBound <= 0 {
		h.opts.WaitBound = DefaultWaitBound
	}
	mux := http.NewServeMux()
	handle := func(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r); err != nil {
				h.fail(w, r, err)
			}
		})
	}
	handle("POST /hosts", h.register)
	handle("GET /hosts/{id}/state", h.state)
	handle("GET /wait", h.wait)
	handle("POST /hosts/{id}/servers/report", h.reportServer)
	handle("POST /hosts/{id}/ports/report", h.reportPorts)
	handle("POST /hosts/{id}/volumes/report", h.reportVolume)
	handle("POST /hosts/{id}/consoles/report", h.reportConsole)
	handle("POST /hosts/{id}/tunnels/{tunnel}", h.tunnel)
	handle("POST /metadata", h.metadata)
	handle("GET /images/{id}", h.image)
	handle("PUT /images/{id}", h.uploadImage)
	handle("/", func(w http.ResponseWriter, r *http.Request) error {
		return &StatusError{Status: http.StatusNotFound, Message: "no such host API call: " + r.Method + " " + r.URL.Path}
	})
	if h.opts.Authorize == nil {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.opts.Authorize(r); err != nil {
			h.fail(w, r, err)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// status classifies err and returns the message the client may see.
func status(err error) (int, string) {
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return se.Status, se.Message
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, "The request you have made requires authentication."
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "The host API requires the admin role."
	}
	if fe := fault.As(err); fe != nil && fe.Kind != fault.Internal {
		return fe.Kind.Status(), fe.Msg
	}
	return http.StatusInternalServerError, "An unexpected error prevented the server from fulfilling your request."
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := status(err)
	if code >= 500 {
		h.log.ErrorContext(r.Context(), "host API call failed", logkey.Method, r.Method, logkey.Path, r.URL.Path, logkey.Err, err)
	}
	writeJSON(w, code, errorBody{Error: msg})
}

type errorBody struct {
	Error string `json:"error"`
}

type registerResponse struct {
	HostID string `json:"host_id"`
}

type waitResponse struct {
	Revision int64 `json:"revision"`
}

type portsReport struct {
	Ports []PortReport `json:"ports"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error": "encoding error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the client went away
}

// decode reads a JSON body of at most maxJSONBytes into v.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return &StatusError{Status: http.StatusRequestEntityTooLarge, Message: "request body too large"}
		case errors.Is(err, io.EOF):
			return badRequest("request body is empty")
		}
		return badRequest("malformed request body: %v", err)
	}
	return nil
}

func (h *handler) register(w http.ResponseWriter, r *http.Request) error {
	var host Host
	if err := decode(w, r, &host); err != nil {
		return err
	}
	switch {
	case host.Name == "":
		return badRequest("name is required")
	case host.VCPUs < 0 || host.MemoryMB < 0 || host.DiskGB < 0:
		return badRequest("vcpus, memory_mb and disk_gb must not be negative")
	}
	id, err := h.c.Register(r.Context(), host)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, registerResponse{HostID: id})
	return nil
}

func (h *handler) state(w http.ResponseWriter, r *http.Request) error {
	st, err := h.c.State(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// wait holds the call until the revision passes after or the bound ends;
// either way the answer is 200 with the revision seen (after itself when
// nothing changed), so the client simply polls again.
func (h *handler) wait(w http.ResponseWriter, r *http.Request) error {
	var after int64
	if s := r.URL.Query().Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return badRequest("after must be a revision (a non-negative integer), not %q", s)
		}
		after = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.WaitBound)
	defer cancel()
	if h.opts.Shutdown != nil {
		stop := context.AfterFunc(h.opts.Shutdown, cancel)
		defer stop()
	}
	rev, err := h.c.Wait(ctx, after)
	if err != nil {
		if r.Context().Err() != nil {
			return nil // the client went away; nobody to answer
		}
		if ctx.Err() == nil {
			return err
		}
		// The bound (or shutdown) ended the wait: not an error.
		if rev == 0 {
			rev = after
		}
	}
	writeJSON(w, http.StatusOK, waitResponse{Revision: rev})
	return nil
}

func (h *handler) reportServer(w http.ResponseWriter, r *http.Request) error {
	var rep ServerReport
	if err := decode(w, r, &rep); err != nil {
		return err
	}
	if rep.ServerID == "" {
		return badRequest("server_id is required")
	}
	if err := h.c.ReportServer(r.Context(), r.PathValue("id"), rep); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) reportPorts(w http.ResponseWriter, r *http.Request) error {
	var rep portsReport
	if err := decode(w, r, &rep); err != nil {
		return err
	}
	for i, p := range rep.Ports {
		if p.PortID == "" {
			return badRequest("ports[%d]: port_id is required", i)
		}
	}
	if err := h.c.ReportPorts(r.Context(), r.PathValue("id"), rep.Ports); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) reportConsole(w http.ResponseWriter, r *http.Request) error {
	var rep ConsoleReport
	if err := decode(w, r, &rep); err != nil {
		return err
	}
	if rep.ID == "" {
		return badRequest("id is required")
	}
	if len(rep.Output) > MaxConsoleOutput {
		return badRequest("output is longer than %d bytes", MaxConsoleOutput)
	}
	if err := h.c.ReportConsole(r.Context(), r.PathValue("id"), rep); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TunnelProtocol is the Upgrade token of a tunnel call.
const TunnelProtocol = "nubo-tunnel"

// tunnel upgrades the call (Upgrade: nubo-tunnel) to a raw byte stream
// joined to the control plane's end of the tunnel.
func (h *handler) tunnel(w http.ResponseWriter, r *http.Request) error {
	if !strings.EqualFold(r.Header.Get("Upgrade"), TunnelProtocol) {
		return &StatusError{Status: http.StatusUpgradeRequired, Message: "a tunnel needs Upgrade: " + TunnelProtocol}
	}
	end, err := h.c.Tunnel(r.Context(), r.PathValue("id"), r.PathValue("tunnel"))
	if err != nil {
		return err
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		end.Close()
		return fmt.Errorf("hijack: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	if _, err := brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + TunnelProtocol + "\r\nConnection: Upgrade\r\n\r\n"); err != nil || brw.Flush() != nil {
		conn.Close()
		end.Close()
		return nil
	}
	// Bytes the client sent after its headers are in brw's reader.
	go func() { _, _ = io.Copy(end, brw.Reader); end.Close() }()
	_, _ = io.Copy(conn, end)
	conn.Close()
	end.Close()
	return nil
}

func (h *handler) reportVolume(w http.ResponseWriter, r *http.Request) error {
	var rep VolumeReport
	if err := decode(w, r, &rep); err != nil {
		return err
	}
	if rep.ServerID == "" || rep.VolumeID == "" {
		return badRequest("server_id and volume_id are required")
	}
	if err := h.c.ReportVolume(r.Context(), r.PathValue("id"), rep); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) metadata(w http.ResponseWriter, r *http.Request) error {
	var q MetadataQuery
	if err := decode(w, r, &q); err != nil {
		return err
	}
	if q.ServerID == "" && (q.NetworkID == "" || q.Address == "") {
		return badRequest("server_id, or network_id and address, are required")
	}
	md, err := h.c.Metadata(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, md)
	return nil
}

// image streams the bytes. Once the 200 is out an error can only abort the
// connection, which the client sees as an unexpected EOF (never as a
// short image that ended cleanly).
func (h *handler) image(w http.ResponseWriter, r *http.Request) error {
	rc, info, err := h.c.Image(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	defer rc.Close()
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	if info != nil {
		hd.Set(headerImageID, info.ID)
		hd.Set(headerImageSize, strconv.FormatInt(info.Size, 10))
		hd.Set(headerDiskFormat, info.DiskFormat)
		if info.Checksum != "" {
			hd.Set(headerChecksum, info.Checksum)
		}
		if info.Size > 0 {
			hd.Set("Content-Length", strconv.FormatInt(info.Size, 10))
		}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, rc); err != nil {
		if r.Context().Err() == nil {
			h.log.WarnContext(r.Context(), "image stream failed", "image_id", r.PathValue("id"), logkey.Err, err)
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (h *handler) uploadImage(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength < 0 {
		return &StatusError{Status: http.StatusLengthRequired, Message: "Content-Length is required"}
	}
	if err := h.c.UploadImage(r.Context(), r.PathValue("id"), r.Body, r.ContentLength); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
