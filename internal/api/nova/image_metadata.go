package nova

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// /images/{id}/metadata (before 2.39): the image's extra properties,
// proxied to the Image service.

// imageMetadataQuota is Nova's default metadata_items quota, which also
// bounds an image's properties through this API.
const imageMetadataQuota = 128

func imageNotFound(err error) error {
	if fault.Is(err, fault.NotFound) {
		return notFoundf("Image not found.")
	}
	return err
}

func (a *api) imageProperties(r *http.Request) (map[string]string, error) {
	im, err := a.c.Image(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	md := map[string]string{}
	for k, v := range im.Properties {
		md[k] = v
	}
	return md, nil
}

func (a *api) listImageMetadata(w http.ResponseWriter, r *http.Request) error {
	md, err := a.imageProperties(r)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"metadata": md})
	return nil
}

func (a *api) setImageMetadata(replace bool) apihttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := a.px()
		if err != nil {
			return err
		}
		md, err := decodeMetadata(w, r, "metadata")
		if err != nil {
			return err
		}
		cur, err := a.imageProperties(r)
		if err != nil {
			return err
		}
		n := len(md)
		if !replace {
			for k := range cur {
				if _, ok := md[k]; !ok {
					n++
				}
			}
		}
		if n > imageMetadataQuota {
			return fault.New(fault.Forbidden, "Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items", n, imageMetadataQuota)
		}
		im, err := p.SetImageProperties(r.Context(), r.PathValue("id"), md, replace)
		if err != nil {
			return imageNotFound(err)
		}
		out := md
		if !replace {
			out = map[string]string{}
			for k, v := range im.Properties {
				out[k] = v
			}
		}
		apihttp.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
		return nil
	}
}

func (a *api) getImageMetadataItem(w http.ResponseWriter, r *http.Request) error {
	md, err := a.imageProperties(r)
	if err != nil {
		return err
	}
	k := r.PathValue("key")
	v, ok := md[k]
	if !ok {
		return notFoundf("Invalid metadata key")
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{k: v}})
	return nil
}

func (a *api) setImageMetadataItem(w http.ResponseWriter, r *http.Request) error {
	p, err := a.px()
	if err != nil {
		return err
	}
	meta, err := decodeMetadata(w, r, "meta")
	if err != nil {
		return err
	}
	k := r.PathValue("key")
	if len(meta) > 1 {
		return badRequest("Request body contains too many items")
	}
	if _, ok := meta[k]; !ok {
		return badRequest("Request body and URI mismatch")
	}
	cur, err := a.imageProperties(r)
	if err != nil {
		return err
	}
	if _, ok := cur[k]; !ok && len(cur)+1 > imageMetadataQuota {
		return fault.New(fault.Forbidden, "Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items", len(cur)+1, imageMetadataQuota)
	}
	if _, err := p.SetImageProperties(r.Context(), r.PathValue("id"), meta, false); err != nil {
		return imageNotFound(err)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"meta": meta})
	return nil
}

func (a *api) deleteImageMetadataItem(w http.ResponseWriter, r *http.Request) error {
	p, err := a.px()
	if err != nil {
		return err
	}
	cur, err := a.imageProperties(r)
	if err != nil {
		return err
	}
	k := r.PathValue("key")
	if _, ok := cur[k]; !ok {
		return notFoundf("Invalid metadata key")
	}
	if err := p.DeleteImageProperty(r.Context(), r.PathValue("id"), k); err != nil {
		return imageNotFound(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
