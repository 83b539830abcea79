// Package firewall is the packet-filtering capability the agent drives:
// per-port security groups (stateful, default-deny ingress) with
// anti-spoofing on the host bridge, and a router's NAT (SNAT, floating IPs,
// the metadata address) in its namespace.
//
// A Ruleset is the whole desired state of one namespace; Apply replaces
// the tables Nubo owns there in one transaction and touches no other
// table. Remote security groups arrive already expanded into address
// prefixes: this package and its implementations (nftables) import no
// domain package. firewalltest holds a fake.
package firewall
