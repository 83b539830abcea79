package glance

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
)

// Glance's api_limit_max and limit_param_default.
const (
	maxLimit     = 1000
	defaultLimit = 25
)

func (a *api) createImage(w http.ResponseWriter, r *http.Request) error {
	var attrs map[string]any
	if err := apihttp.Decode(w, r, &attrs); err != nil {
		return err
	}
	if attrs == nil {
		return fault.New(fault.BadRequest, "Body expected in request.")
	}
	im, err := a.img.Create(r.Context(), attrs)
	if err != nil {
		return err
	}
	w.Header().Set("Location", apihttp.BaseURL(r)+v2+"/images/"+im.ID)
	apihttp.WriteJSON(w, http.StatusCreated, imageView(im))
	return nil
}

func (a *api) showImage(w http.ResponseWriter, r *http.Request) error {
	im, err := a.img.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, imageView(im))
	return nil
}

// listParams are the query parameters with a meaning of their own; any
// other is an attribute or extra property filter.
var listParams = map[string]bool{"limit": true, "marker": true, "sort": true, "sort_key": true, "sort_dir": true,
	"visibility": true, "member_status": true, "tag": true, "size_min": true, "size_max": true,
	"created_at": true, "updated_at": true, "os_hidden": true}

func parseListOptions(q url.Values) (image.ListOptions, error) {
	o := image.ListOptions{Visibility: q.Get("visibility"), MemberStatus: q.Get("member_status"), Tags: q["tag"],
		CreatedAt: q.Get("created_at"), UpdatedAt: q.Get("updated_at"), Marker: q.Get("marker"), Limit: defaultLimit,
		Filters: map[string]string{}}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return o, fault.New(fault.BadRequest, "limit param must be an integer")
		}
		if n < 0 {
			return o, fault.New(fault.BadRequest, "limit param must be positive")
		}
		o.Limit = n
	}
	o.Limit = min(o.Limit, maxLimit)
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"size_min", &o.SizeMin}, {"size_max", &o.SizeMax}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return o, fault.New(fault.BadRequest, "%s param must be an integer", p.name)
			}
			*p.dst = &n
		}
	}
	if v := q.Get("os_hidden"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fault.New(fault.BadRequest, "Invalid value '%s' for 'os_hidden' filter. Valid values are 'true' or 'false'.", v)
		}
		o.Hidden = &b
	}
	if s := q.Get("sort"); s != "" {
		if len(q["sort_key"]) > 0 || len(q["sort_dir"]) > 0 {
			return o, fault.New(fault.BadRequest, "The 'sort' parameter cannot be used with the 'sort_key' or 'sort_dir' parameters.")
		}
		for part := range strings.SplitSeq(s, ",") {
			k, d, ok := strings.Cut(strings.TrimSpace(part), ":")
			if !ok {
				d = "desc"
			}
			o.SortKeys = append(o.SortKeys, k)
			o.SortDirs = append(o.SortDirs, d)
		}
	} else {
		o.SortKeys = q["sort_key"]
		o.SortDirs = q["sort_dir"]
		if len(o.SortDirs) > 1 && len(o.SortDirs) != len(o.SortKeys) {
			return o, fault.New(fault.BadRequest, "Number of sort dirs does not match the number of sort keys")
		}
	}
	for k, vs := range q {
		if !listParams[k] && len(vs) > 0 {
			o.Filters[k] = vs[0]
		}
	}
	return o, nil
}

func (a *api) listImages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	o, err := parseListOptions(q)
	if err != nil {
		return err
	}
	ims, more, err := a.img.List(r.Context(), o)
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(ims))
	for i := range ims {
		views = append(views, imageView(&ims[i]))
	}
	first := url.URL{Path: "/v2/images"}
	fq := url.Values{}
	for k, vs := range q {
		if k != "marker" {
			fq[k] = vs
		}
	}
	first.RawQuery = fq.Encode()
	body := map[string]any{"images": views, "first": first.String(), "schema": "/v2/schemas/images"}
	if more && len(ims) > 0 {
		nq := url.Values{}
		for k, vs := range fq {
			nq[k] = vs
		}
		nq.Set("marker", ims[len(ims)-1].ID)
		next := url.URL{Path: "/v2/images", RawQuery: nq.Encode()}
		body["next"] = next.String()
	}
	apihttp.WriteJSON(w, http.StatusOK, body)
	return nil
}

// patchTypes are the JSON-patch media types of PATCH /v2/images/{id}.
const (
	patchV21 = "application/openstack-images-v2.1-json-patch"
	patchV20 = "application/openstack-images-v2.0-json-patch"
)

// decodePatch reads both of Glance's patch dialects: v2.1
// [{"op": "replace", "path": "/name", "value": …}] and v2.0
// [{"replace": "/name", "value": …}].
func decodePatch(w http.ResponseWriter, r *http.Request) ([]image.PatchOp, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != patchV21 && mt != patchV20 {
		w.Header().Set("Accept-Patch", patchV20+", "+patchV21)
		return nil, fault.New(fault.UnsupportedMediaType, "Unsupported Content-Type")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, apihttp.MaxBodyBytes))
	if err != nil {
		return nil, err
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fault.Wrap(fault.BadRequest, err, "Request body must be a JSON array of operation objects.")
	}
	ops := make([]image.PatchOp, 0, len(raw))
	for _, m := range raw {
		var op image.PatchOp
		var path string
		if mt == patchV21 {
			if json.Unmarshal(m["op"], &op.Op) != nil || json.Unmarshal(m["path"], &path) != nil {
				return nil, fault.New(fault.BadRequest, "Operation objects must contain exactly one member named \"op\" and \"path\".")
			}
		} else {
			op.Strict = true
			for _, name := range []string{"add", "replace", "remove"} {
				if v, ok := m[name]; ok {
					op.Op = name
					if json.Unmarshal(v, &path) != nil {
						return nil, fault.New(fault.BadRequest, "Unable to find a path in the JSON Schema change.")
					}
				}
			}
			if op.Op == "" {
				return nil, fault.New(fault.BadRequest, "Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".")
			}
		}
		switch op.Op {
		case "add", "replace":
			v, ok := m["value"]
			if !ok {
				return nil, fault.New(fault.BadRequest, "Operation \"%s\" requires a member named \"value\".", op.Op)
			}
			if err := json.Unmarshal(v, &op.Value); err != nil {
				return nil, fault.Wrap(fault.BadRequest, err, "Malformed value.")
			}
		case "remove":
		default:
			return nil, fault.New(fault.BadRequest, "Invalid operation: `%s`: Unable to find '%s' in JSON Schema change", op.Op, op.Op)
		}
		if !strings.HasPrefix(path, "/") {
			return nil, fault.New(fault.BadRequest, "Pointer `%s` does not start with \"/\".", path)
		}
		for _, seg := range strings.Split(path[1:], "/") {
			op.Path = append(op.Path, strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~"))
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func (a *api) updateImage(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fault.New(fault.TooLarge, "Request is too large.")
		}
		return err
	}
	im, err := a.img.Update(r.Context(), r.PathValue("id"), ops)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, imageView(im))
	return nil
}

func (a *api) deleteImage(w http.ResponseWriter, r *http.Request) error {
	if err := a.img.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) deactivateImage(w http.ResponseWriter, r *http.Request) error {
	if err := a.img.Deactivate(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) reactivateImage(w http.ResponseWriter, r *http.Request) error {
	if err := a.img.Reactivate(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) addTag(w http.ResponseWriter, r *http.Request) error {
	if err := a.img.AddTag(r.Context(), r.PathValue("id"), r.PathValue("tag")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) deleteTag(w http.ResponseWriter, r *http.Request) error {
	if err := a.img.DeleteTag(r.Context(), r.PathValue("id"), r.PathValue("tag")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
