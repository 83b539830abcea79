package apihttp

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/nubo-cloud/nubo/internal/fault"
)

// Page is one page of a collection.
type Page[T any] struct {
	Items []T
	// Next is the marker for the next page, "" on the last page.
	Next string
}

// Paginate cuts items (sorted as the client should see them) by the
// request's limit and marker. A marker that names no item is a 400 fault,
// as OpenStack services answer. maxLimit caps limit (0 means no cap).
func Paginate[T any](r *http.Request, items []T, id func(T) string, maxLimit int) (Page[T], error) {
	q := r.URL.Query()
	start := 0
	if m := q.Get("marker"); m != "" {
		start = -1
		for i, it := range items {
			if id(it) == m {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return Page[T]{}, fault.New(fault.BadRequest, "marker [%s] not found", m)
		}
	}
	limit := len(items)
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return Page[T]{}, fault.New(fault.BadRequest, "limit param must be a non-negative integer")
		}
		limit = n
	}
	if maxLimit > 0 && limit > maxLimit {
		limit = maxLimit
	}
	end := min(start+limit, len(items))
	p := Page[T]{Items: items[start:end]}
	if end < len(items) && end > start {
		p.Next = id(items[end-1])
	}
	return p, nil
}

// NextLink returns the request URL with marker set to next, for "links".
func NextLink(base string, r *http.Request, next string) string {
	q := r.URL.Query()
	q.Set("marker", next)
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return base + u.String()
}

// BaseURL returns scheme://host of the request, honouring X-Forwarded-Proto.
func BaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host
}
