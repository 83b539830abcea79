// Package network is the Networking domain (Neutron v2.0's resources):
// networks, subnets, ports, routers, floating IPs, security groups and their
// rules, subnet pools, quotas and tags. It holds the rules (visibility,
// ownership, overlap and in-use checks, quota enforcement, IP allocation via
// internal/ipam) and writes records the host agent will converge: a port's
// binding host, MAC, fixed IPs and security groups; a router's legs (ports
// with device_owner network:router_interface / network:router_gateway).
//
// Every rule that must hold under concurrency (quota counts, IP and MAC
// uniqueness, "in use" checks) is checked inside the one store write
// transaction that makes the change; writes are serialised by the store, so
// a rejected request changes nothing and two racing requests cannot both
// pass a check.
//
// It must not import net/http or any store implementation; wire formats live
// in internal/api/neutron.
package network
