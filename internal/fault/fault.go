package fault

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error the way OpenStack APIs report it.
type Kind int

// The kinds, each with its HTTP status.
const (
	Internal Kind = iota
	BadRequest
	Unauthorized
	Forbidden
	NotFound
	MethodNotAllowed
	Conflict
	TooLarge
	UnsupportedMediaType
	OverLimit
	NotImplemented
	Unavailable
)

var statuses = map[Kind]int{
	Internal:             http.StatusInternalServerError,
	BadRequest:           http.StatusBadRequest,
	Unauthorized:         http.StatusUnauthorized,
	Forbidden:            http.StatusForbidden,
	NotFound:             http.StatusNotFound,
	MethodNotAllowed:     http.StatusMethodNotAllowed,
	Conflict:             http.StatusConflict,
	TooLarge:             http.StatusRequestEntityTooLarge,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	OverLimit:            http.StatusRequestEntityTooLarge,
	NotImplemented:       http.StatusNotImplemented,
	Unavailable:          http.StatusServiceUnavailable,
}

// Status returns the HTTP status code of k.
func (k Kind) Status() int {
	if s, ok := statuses[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is an error whose Msg may be shown to clients.
type Error struct {
	Kind Kind
	// Msg is shown to the client.
	Msg string
	// Type is an optional machine name some dialects carry (Neutron's
	// "type", for example "PortNotFound").
	Type string
	// Err is the cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error of kind with a formatted message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of kind with message msg and cause err.
func Wrap(kind Kind, err error, msg string) *Error {
	return &Error{Kind: kind, Msg: msg, Err: err}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

// Is reports whether err carries a fault of kind.
func Is(err error, kind Kind) bool {
	fe := As(err)
	return fe != nil && fe.Kind == kind
}
