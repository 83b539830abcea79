package nova

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/image"
)

// filterImages applies the image proxy's list filters as Nova hands them
// to the Image service: name, status (Nova's status, any case), changes-since
// (updated at or after), server (the snapshot's instance_uuid; a server
// link counts by its last segment), type (image_type), minRam, minDisk
// (at least), property-<key>; then marker and limit.
func filterImages(r *http.Request, list []image.Image) ([]image.Image, error) {
	q := r.URL.Query()
	var since time.Time
	if s := q.Get("changes-since"); s != "" {
		t, err := parseChangesSince(s)
		if err != nil {
			return nil, badRequest("Invalid changes-since value")
		}
		since = t
	}
	atLeast := func(name string) (int64, error) {
		s := q.Get(name)
		if s == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, badRequest("Invalid %s filter [%s]", name, s)
		}
		return n, nil
	}
	minRAM, err := atLeast("minRam")
	if err != nil {
		return nil, err
	}
	minDisk, err := atLeast("minDisk")
	if err != nil {
		return nil, err
	}
	server := q.Get("server")
	if i := strings.LastIndex(server, "/"); i >= 0 {
		server = server[i+1:]
	}
	props := map[string]string{}
	for k, v := range q {
		if strings.HasPrefix(k, "property-") && len(v) > 0 {
			props[strings.TrimPrefix(k, "property-")] = v[0]
		}
	}
	if server != "" {
		props["instance_uuid"] = server
	}
	if t := q.Get("type"); t != "" {
		props["image_type"] = t
	}
	out := list[:0:0]
	for _, im := range list {
		if name := q.Get("name"); name != "" && (im.Name == nil || *im.Name != name) {
			continue
		}
		if st := q.Get("status"); st != "" {
			s, ok := imageStatus[im.Status]
			if !ok {
				s = "UNKNOWN"
			}
			if !strings.EqualFold(st, s) && !strings.EqualFold(st, im.Status) {
				continue
			}
		}
		if !since.IsZero() && im.UpdatedAt.Before(since) {
			continue
		}
		if im.MinRAM < minRAM || im.MinDisk < minDisk {
			continue
		}
		match := true
		for k, v := range props {
			if im.Properties[k] != v {
				match = false
				break
			}
		}
		if match {
			out = append(out, im)
		}
	}
	if m := q.Get("marker"); m != "" {
		found := false
		for i := range out {
			if out[i].ID == m {
				out, found = out[i+1:], true
				break
			}
		}
		if !found {
			return nil, badRequest("marker [%s] not found", m)
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, badRequest("limit param must be an integer")
		}
		out = out[:min(n, len(out))]
	}
	return out, nil
}

// parseChangesSince reads an ISO 8601 timestamp as Nova accepts it.
func parseChangesSince(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badRequest("Invalid changes-since value")
}
