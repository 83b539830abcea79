// Package netdev is the host networking capability the agent drives: one
// Linux bridge per network, a VXLAN device per tenant network with unicast
// head-end replication (FDB entries to the remote VTEPs), a tap per port, and
// network namespaces (routers, DHCP) joined to the bridges by veth pairs.
//
// The API is level-triggered: Sync makes one host equal to a HostSpec and
// removes every Nubo-owned device or namespace the spec does not name. The
// types here are the driver's own; this package and its implementations
// (linux, via netlink) import no domain package. netdevtest holds a fake.
package netdev
