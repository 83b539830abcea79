package nova

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/image"
)

// Nova's image proxy (/images), removed at 2.36 (404 from there on).

var imageStatus = map[string]string{image.StatusActive: "ACTIVE", image.StatusQueued: "SAVING", image.StatusSaving: "SAVING",
	image.StatusImporting: "SAVING", image.StatusUploading: "SAVING", image.StatusDeleted: "DELETED", image.StatusKilled: "ERROR"}

var imageProgress = map[string]int{"SAVING": 50, "ACTIVE": 100, "DELETED": 0, "ERROR": 0, "UNKNOWN": 0}

func requireImageProxy(r *http.Request) error {
	if mv(r).AtLeast(2, 36) {
		return notFoundf("The resource could not be found.")
	}
	return nil
}

func imageView(r *http.Request, im *image.Image, detail bool) map[string]any {
	v := map[string]any{"id": im.ID, "name": im.Name, "links": linkSelf(r, "images", im.ID)}
	if !detail {
		return v
	}
	st, ok := imageStatus[im.Status]
	if !ok {
		st = "UNKNOWN"
	}
	md := map[string]string{}
	for k, val := range im.Properties {
		md[k] = val
	}
	v["status"], v["progress"] = st, imageProgress[st]
	if im.Status == image.StatusQueued {
		v["progress"] = 25
	}
	v["created"], v["updated"] = im.CreatedAt.UTC().Format(serverTime), im.UpdatedAt.UTC().Format(serverTime)
	v["minDisk"], v["minRam"], v["metadata"] = im.MinDisk, im.MinRAM, md
	v["OS-EXT-IMG-SIZE:size"] = im.Size
	if sid := im.Properties["instance_uuid"]; sid != "" {
		v["server"] = map[string]any{"id": sid, "links": linkSelf(r, "servers", sid)}
	}
	return v
}

func (a *api) getImage(w http.ResponseWriter, r *http.Request) error {
	if err := requireImageProxy(r); err != nil {
		return err
	}
	im, err := a.c.Image(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"image": imageView(r, im, true)})
	return nil
}

func (a *api) listImagesProxy(detail bool) apihttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireImageProxy(r); err != nil {
			return err
		}
		list, err := a.c.ListImages(r.Context())
		if err != nil {
			return err
		}
		if list, err = filterImages(r, list); err != nil {
			return err
		}
		out := make([]map[string]any, 0, len(list))
		for i := range list {
			out = append(out, imageView(r, &list[i], detail))
		}
		apihttp.WriteJSON(w, http.StatusOK, map[string]any{"images": out})
		return nil
	}
}

func (a *api) deleteImage(w http.ResponseWriter, r *http.Request) error {
	if err := requireImageProxy(r); err != nil {
		return err
	}
	if err := a.c.DeleteImage(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
