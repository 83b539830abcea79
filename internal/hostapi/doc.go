// Package hostapi is the contract between the control plane and the host
// agents: what an agent registers, the desired state of one host as the
// control plane computes it, and what the agent reports back (observed
// server state, port status). Control is the interface; the control plane
// implements it in process (package hostctl) and serves it over HTTP
// (Handler) so that agents on other machines reach it through Client.
//
// There is no message broker: an agent long-polls Wait for a store revision
// newer than the one it last converged, then reads its whole State again
// (level-triggered), so a missed change, a crash or a restart converges the
// same way.
//
// This package imports no domain package and no driver.
package hostapi
