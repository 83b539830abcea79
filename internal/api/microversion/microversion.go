package microversion

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
)

// Version is a microversion, such as 2.47.
type Version struct{ Major, Minor int }

// String renders v as "2.47".
func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// Less reports whether v < o.
func (v Version) Less(o Version) bool { return !v.AtLeast(o.Major, o.Minor) }

// Parse reads "X.Y" (no leading zeros, as OpenStack requires). "latest" is
// not a version by itself: Range.Resolve maps it to the range's maximum.
func Parse(s string) (Version, error) {
	maj, min, ok := strings.Cut(strings.TrimSpace(s), ".")
	a, errA := parseNum(maj)
	b, errB := parseNum(min)
	if !ok || errA != nil || errB != nil || a == 0 {
		return Version{}, fault.New(fault.BadRequest, "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", s)
	}
	return Version{a, b}, nil
}

func parseNum(s string) (int, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.ContainsAny(s, "+- ") {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return strconv.Atoi(s)
}

// MustParse is Parse for constants; it panics on a malformed version.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Range is what a service accepts.
type Range struct {
	// Service is the name in "OpenStack-API-Version: <service> X.Y".
	Service string
	// Legacy is the service's older header ("" for none).
	Legacy   string
	Min, Max Version
}

// Resolve turns a requested version string into a version of r: "" is the
// minimum, "latest" the maximum; a malformed string is 400, a version
// outside r is 406.
func (r Range) Resolve(s string) (Version, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return r.Min, nil
	case "latest":
		return r.Max, nil
	}
	v, err := Parse(s)
	if err != nil {
		return Version{}, err
	}
	if v.Less(r.Min) || r.Max.Less(v) {
		return Version{}, &NotAcceptableError{fault.New(fault.BadRequest, "Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, r.Min, r.Max)}
	}
	return v, nil
}

// Requested returns the version string a request asks r's service for: the
// OpenStack-API-Version entry naming the service wins over the legacy header.
func (r Range) Requested(h http.Header) string {
	for _, line := range h.Values("OpenStack-API-Version") {
		for _, entry := range strings.Split(line, ",") {
			svc, ver, ok := strings.Cut(strings.TrimSpace(entry), " ")
			if ok && strings.EqualFold(svc, r.Service) {
				return strings.TrimSpace(ver)
			}
		}
	}
	if r.Legacy != "" {
		return h.Get(r.Legacy)
	}
	return ""
}

// NotAcceptableError is a well-formed version outside the range: HTTP 406
// (fault has no kind for it; only version negotiation answers 406).
type NotAcceptableError struct{ Fault *fault.Error }

func (e *NotAcceptableError) Error() string { return e.Fault.Msg }

// Middleware resolves the request's version once, puts it in the context and
// sets the response headers; faults renders a 400 or 406 in the service's
// dialect.
func (r Range) Middleware(faults func(http.ResponseWriter, *http.Request, int, *fault.Error), next http.Handler) http.Handler {
	vary := "OpenStack-API-Version"
	if r.Legacy != "" {
		vary += ", " + r.Legacy
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := w.Header()
		h.Set("Vary", vary)
		v, err := r.Resolve(r.Requested(req.Header))
		var na *NotAcceptableError
		switch {
		case errors.As(err, &na):
			faults(w, req, http.StatusNotAcceptable, na.Fault)
			return
		case err != nil:
			fe := fault.As(err)
			faults(w, req, fe.Kind.Status(), fe)
			return
		}
		h.Set("OpenStack-API-Version", r.Service+" "+v.String())
		if r.Legacy != "" {
			h.Set(r.Legacy, v.String())
		}
		next.ServeHTTP(w, req.WithContext(NewContext(req.Context(), v)))
	})
}

type ctxKey struct{}

// NewContext returns ctx carrying v.
func NewContext(ctx context.Context, v Version) context.Context {
	return context.WithValue(ctx, ctxKey{}, v)
}

// FromContext returns the request's version; 2.1 (the base of every
// microversioned OpenStack API this package serves) if none was set.
func FromContext(ctx context.Context) Version {
	if v, ok := ctx.Value(ctxKey{}).(Version); ok {
		return v
	}
	return Version{2, 1}
}
