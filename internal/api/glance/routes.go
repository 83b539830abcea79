package glance

import (
	"log/slog"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
)

// prefix is where the Image service lives on the shared listener.
const prefix = "/image"

const v2 = prefix + "/v2"

type api struct {
	apihttp.API
	img *image.Service
}

// Register adds the Image v2 routes to mux; auth validates X-Auth-Token.
func Register(mux *http.ServeMux, img *image.Service, auth apihttp.Authenticator, log *slog.Logger) {
	a := &api{API: apihttp.API{Faults: writeFault, Log: log.With("component", "api.glance")}, img: img}
	open := a.H
	authed := func(h apihttp.HandlerFunc) http.Handler { return a.RequireToken(auth, a.H(h)) }

	// Version documents.
	mux.Handle("GET "+prefix, open(a.versions))
	mux.Handle("GET "+prefix+"/{$}", open(a.versions))
	mux.Handle("GET "+prefix+"/versions", open(a.versionsOK))
	mux.Handle("GET "+v2, open(a.versions))
	mux.Handle("GET "+v2+"/{$}", open(a.versions))

	// Images.
	mux.Handle("POST "+v2+"/images", authed(a.createImage))
	mux.Handle("GET "+v2+"/images", authed(a.listImages))
	mux.Handle("GET "+v2+"/images/{id}", authed(a.showImage))
	mux.Handle("PATCH "+v2+"/images/{id}", authed(a.updateImage))
	mux.Handle("DELETE "+v2+"/images/{id}", authed(a.deleteImage))
	mux.Handle("POST "+v2+"/images/{id}/actions/deactivate", authed(a.deactivateImage))
	mux.Handle("POST "+v2+"/images/{id}/actions/reactivate", authed(a.reactivateImage))
	mux.Handle("PUT "+v2+"/images/{id}/tags/{tag}", authed(a.addTag))
	mux.Handle("DELETE "+v2+"/images/{id}/tags/{tag}", authed(a.deleteTag))

	// Image data.
	mux.Handle("PUT "+v2+"/images/{id}/file", authed(a.uploadData))
	mux.Handle("GET "+v2+"/images/{id}/file", authed(a.downloadData))

	// Interoperable import.
	mux.Handle("GET "+v2+"/info/import", authed(a.importInfo))
	mux.Handle("GET "+v2+"/info/stores", authed(a.storesInfo))
	mux.Handle("PUT "+v2+"/images/{id}/stage", authed(a.stageData))
	mux.Handle("POST "+v2+"/images/{id}/import", authed(a.importImage))
	mux.Handle("GET "+v2+"/images/{id}/tasks", authed(a.listImageTasks))

	// Members.
	mux.Handle("POST "+v2+"/images/{id}/members", authed(a.createMember))
	mux.Handle("GET "+v2+"/images/{id}/members", authed(a.listMembers))
	mux.Handle("GET "+v2+"/images/{id}/members/{member}", authed(a.showMember))
	mux.Handle("PUT "+v2+"/images/{id}/members/{member}", authed(a.updateMember))
	mux.Handle("DELETE "+v2+"/images/{id}/members/{member}", authed(a.deleteMember))

	// Schemas.
	mux.Handle("GET "+v2+"/schemas/{name}", authed(a.showSchema))
	mux.Handle("GET "+v2+"/schemas/metadefs/{name}", authed(a.showMetadefSchema))

	// Metadata definitions (metadefs.go).
	a.registerMetadefs(mux, authed)

	// Anything else under /image is a 404.
	mux.Handle(prefix+"/", open(func(w http.ResponseWriter, r *http.Request) error {
		return fault.New(fault.NotFound, "The resource could not be found.")
	}))
}
