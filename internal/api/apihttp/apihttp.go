package apihttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// MaxBodyBytes is the default cap on JSON request bodies.
const MaxBodyBytes = 1 << 20

// HeaderRequestID is the response header carrying the request ID.
const HeaderRequestID = "X-Openstack-Request-Id"

// FaultWriter renders a fault in a service's own dialect.
type FaultWriter func(w http.ResponseWriter, r *http.Request, status int, fe *fault.Error)

// HandlerFunc is an API handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// API adapts HandlerFuncs of one service.
type API struct {
	Faults FaultWriter
	Log    *slog.Logger
	// ServiceType (catalog type, e.g. "compute") and Prefix (where the
	// service is mounted, e.g. "/compute") let RequireToken enforce
	// application-credential access rules.
	ServiceType, Prefix string
}

// H returns an http.Handler that runs h and renders its error as a fault.
func (a *API) H(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.Fail(w, r, err)
		}
	})
}

// Fail renders err: a *fault.Error as itself, anything else as a 500 with a
// generic message (the cause is logged with the request ID).
func (a *API) Fail(w http.ResponseWriter, r *http.Request, err error) {
	fe := fault.As(err)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		fe = fault.New(fault.TooLarge, "Request is too large.")
	case fe == nil:
		a.Log.ErrorContext(r.Context(), "request failed", logkey.Err, err)
		fe = fault.Wrap(fault.Internal, err, "An unexpected error prevented the server from fulfilling your request.")
	case fe.Kind == fault.Internal:
		a.Log.ErrorContext(r.Context(), "request failed", logkey.Err, err)
	}
	a.Faults(w, r, fe.Kind.Status(), fe)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the client went away
}

// Decode reads a JSON body of at most MaxBodyBytes into v. Malformed JSON
// and wrong types are 400; an oversized body is 413.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json") && !strings.HasPrefix(mt, "application/openstack")) {
			return fault.New(fault.UnsupportedMediaType, "The request media type %s is not supported by this server.", ct)
		}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fault.New(fault.TooLarge, "Request is too large.")
		}
		return fault.Wrap(fault.BadRequest, err, "Could not read the request body.")
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return fault.New(fault.BadRequest, "Malformed request body: the body is empty.")
	}
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fault.Wrap(fault.BadRequest, err, fmt.Sprintf("Invalid input for field '%s': expected %s, got a JSON %s.", te.Field, te.Type, te.Value))
		}
		return fault.Wrap(fault.BadRequest, err, "Malformed request body: "+err.Error()+".")
	}
	return nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes through to the wrapped writer, for streaming handlers.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Outer wraps the whole server: request ID, access log and panic recovery.
// 4xx responses log at Debug, 5xx at Error.
func Outer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := "req-" + uuid.NewString()
		w.Header().Set(HeaderRequestID, id)
		ctx := logkey.WithRequestID(r.Context(), id)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					http.Error(sw, `{"error": {"code": 500, "title": "Internal Server Error", "message": "An unexpected error prevented the server from fulfilling your request."}}`, http.StatusInternalServerError)
				}
			}
			level := slog.LevelDebug
			if sw.status >= 500 {
				level = slog.LevelError
			}
			if log.Enabled(ctx, level) {
				log.Log(ctx, level, "request", logkey.Method, r.Method, logkey.Path, r.URL.Path, logkey.Status, sw.status,
					logkey.Duration, float64(time.Since(start).Microseconds())/1000)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// Authenticator validates a token and returns the caller's credentials.
type Authenticator interface {
	Authorize(ctx context.Context, token string) (*policy.Credentials, error)
}

// RequireToken returns a handler that validates X-Auth-Token and puts the
// caller's credentials in the request context; a missing or invalid token
// is a 401 fault.
func (a *API) RequireToken(auth Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("X-Auth-Token")
		if tok == "" {
			a.Fail(w, r, fault.New(fault.Unauthorized, "The request you have made requires authentication."))
			return
		}
		c, err := auth.Authorize(r.Context(), tok)
		if err != nil {
			a.Fail(w, r, err)
			return
		}
		if c.AccessRules != nil && !a.allowedByRules(c, r) {
			// As keystonemiddleware: a call outside the access rules is 401.
			a.Fail(w, r, fault.New(fault.Unauthorized, "The request you have made requires authentication."))
			return
		}
		next.ServeHTTP(w, r.WithContext(policy.NewContext(r.Context(), c)))
	})
}

func (a *API) allowedByRules(c *policy.Credentials, r *http.Request) bool {
	path := strings.TrimPrefix(r.URL.Path, a.Prefix)
	for _, rule := range c.AccessRules {
		if rule.Allows(a.ServiceType, r.Method, path) {
			return true
		}
	}
	return false
}
