package glance

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
)

func checkOctetStream(r *http.Request) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/octet-stream" {
		return fault.New(fault.UnsupportedMediaType, "Content-Type must be application/octet-stream")
	}
	return nil
}

// uploadData streams PUT /v2/images/{id}/file (sized or chunked) to the
// image service; the body is never buffered.
func (a *api) uploadData(w http.ResponseWriter, r *http.Request) error {
	if err := checkOctetStream(r); err != nil {
		return err
	}
	if _, err := a.img.Upload(r.Context(), r.PathValue("id"), r.Body, r.ContentLength); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stageData streams PUT /v2/images/{id}/stage to the staging area.
func (a *api) stageData(w http.ResponseWriter, r *http.Request) error {
	if err := checkOctetStream(r); err != nil {
		return err
	}
	if _, err := a.img.Stage(r.Context(), r.PathValue("id"), r.Body, r.ContentLength); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// parseRange reads a single "bytes=a-b" range (Glance serves one range).
func parseRange(h string, size int64) (start, end int64, err error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, fmt.Errorf("unsupported range %q", h)
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, fmt.Errorf("bad range %q", h)
	}
	switch {
	case a == "": // suffix: the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, fmt.Errorf("bad range %q", h)
		}
		return max(size-n, 0), size - 1, nil
	default:
		start, err = strconv.ParseInt(a, 10, 64)
		if err != nil || start < 0 {
			return 0, 0, fmt.Errorf("bad range %q", h)
		}
		end = size - 1
		if b != "" {
			if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
				return 0, 0, fmt.Errorf("bad range %q", h)
			}
			end = min(end, size-1)
		}
	}
	if start >= size {
		return 0, 0, fmt.Errorf("range %q not satisfiable", h)
	}
	return start, end, nil
}

// downloadData streams GET /v2/images/{id}/file: 204 while the image has
// no data, 200 with Content-MD5, or 206 for a Range request.
func (a *api) downloadData(w http.ResponseWriter, r *http.Request) error {
	rc, size, im, err := a.img.Download(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if rc == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	start, n, status := int64(0), size, http.StatusOK
	if rh := r.Header.Get("Range"); rh != "" {
		s, e, err := parseRange(rh, size)
		if err != nil {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			// fault has no kind for 416; render it directly.
			writeFault(w, r, http.StatusRequestedRangeNotSatisfiable, fault.Wrap(fault.BadRequest, err, "Requested range not satisfiable"))
			return nil
		}
		start, n, status = s, e-s+1, http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", s, e, size))
		if _, err := rc.Seek(start, io.SeekStart); err != nil {
			return err
		}
	} else if im.Checksum != "" {
		h.Set("Content-MD5", im.Checksum)
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	// Past the middleware's wrappers, the server's own writer copies a file
	// to the socket with sendfile(2): no user-space buffer at all.
	if _, err := io.Copy(unwrap(w), io.LimitReader(rc, n)); err != nil {
		a.Log.DebugContext(r.Context(), "image download cut off", "image_id", im.ID, "err", err)
	}
	return nil
}

// unwrap returns the innermost ResponseWriter (headers are already sent).
func unwrap(w http.ResponseWriter) io.Writer {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}
