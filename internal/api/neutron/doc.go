// Package neutron is the Networking v2.0 (Neutron) HTTP front-end: the
// /network version document, every resource collection under
// /network/v2.0, the extensions list, and Neutron's fault body
// ({"NeutronError": {"type", "message", "detail"}}). It only translates the
// wire format: rules, policy and state live in internal/network. Every
// collection goes through one list path (query.go) that applies filters,
// tags filters, sorting, limit/marker pagination and fields= selection.
//
// It must not import store implementations or drivers.
package neutron
