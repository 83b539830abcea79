// Package scheduler places a server on a host. It is pure: Place runs
// filters (enabled host, availability zone, capacity, server-group affinity
// and anti-affinity, aggregate/flavor extra-spec match, image properties)
// and then weighers (free RAM, free vCPU, instance count) over a read-only
// Snapshot and returns a Placement. Its capacity model is Placement's: each
// host is a resource provider with inventories (total, reserved,
// allocation_ratio, max_unit) per resource class and the usages of its
// allocations. It reads no store, starts no goroutine and imports nothing
// from Nubo; internal/compute builds snapshots and commits claims, re-checking
// capacity with Fits in the same transaction.
package scheduler
