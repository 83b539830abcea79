// Package image is Nubo's Image service domain (what Glance v2 exposes):
// image records and their state machine, visibility and sharing rules,
// members, tags and extra properties, JSON-patch updates, per-project storage
// quota, and the streaming of image data to and from a blob.Store while its
// checksums (MD5 and SHA-512) are computed.
//
// Records live in the main store under kinds "image.image" and
// "image.member". Policy checks use the caller's policy.Credentials from
// the context. This package holds no wire format: it imports neither
// net/http nor a store or blob implementation.
package image
