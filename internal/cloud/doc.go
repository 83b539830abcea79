// Package cloud assembles Nubo's control plane from a store: the domain
// services, the API front-ends on one http.Handler, and the background loops.
// It receives a store.Store and never opens one itself: cmd/nubo wires the
// concrete store (and, later, drivers), and cloudtest wires an in-process
// cloud for tests.
package cloud
