// Package placement is a read-only Placement API (admins only) under
// /placement: the version document, resource providers (one per compute
// host), their inventories and usages, and allocations by consumer, all read
// from internal/compute's host and allocation records. Writes go through
// Compute (host registration, claims), never through this API. It imports
// no store implementation and no driver.
package placement
