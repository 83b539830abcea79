// Package apihttp is the HTTP plumbing every OpenStack API front-end shares:
// the handler adapter that turns returned errors into faults, request IDs
// (X-Openstack-Request-Id) carried into every log line, access logs, panic
// recovery, the one JSON decode path with a body-size cap, token validation
// (X-Auth-Token), and limit/marker pagination. Each service supplies its own
// fault dialect. It holds no business rules and imports no store or driver.
package apihttp
