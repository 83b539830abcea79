// Package glance is the Image v2 (Glance) front-end: it translates
// OpenStack's Image API wire format (version documents, images, JSON-patch
// updates, image data, members, tags, interoperable import, schemas) to
// calls on the image domain service, and renders faults as Glance does
// (webob's HTML, JSON or plain bodies, chosen by the Accept header).
//
// It holds no rules of its own and never imports a store or blob
// implementation; routes.go is the table of contents.
package glance
