// Package compute holds Compute's rules (Nova's domain): flavors and their
// access lists and extra specs, keypairs, compute hosts and their services,
// hypervisors and availability zones, host aggregates, server groups,
// quotas and usage, and resource claims. Callers are the Nova and Placement
// front-ends (internal/api/nova, internal/api/placement); policy is checked
// here from policy.FromContext(ctx).
//
// Scheduling decisions come from the pure internal/scheduler over a Snapshot
// built here; Claim commits the chosen allocation in a write transaction
// that re-checks the host's capacity, so concurrent claims never
// over-commit.
//
// Servers (servers*.go, server_*.go) follow Nova's state machine
// (server_states.go): the API side writes desired state (task_state) and
// instance actions in one transaction; ServerReconciler schedules and claims;
// the host side (fakehost for simulated hosts, the agent later) performs the
// task and reports the observed state with ReportServer. Networking is
// reached only through the Ports interface (ports.go), images through Images.
//
// It imports neither net/http nor a store implementation.
package compute
