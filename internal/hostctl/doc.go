// Package hostctl is the control plane's side of host agents: the
// in-process implementation of hostapi.Control over the domain services
// (compute, network, image) and the store they share. The HTTP transport
// (hostapi.Handler/Client) wraps it; agents never see a store.
//
// State reads every record it needs in one read transaction (compute hosts
// and servers, network.ReadTopology) and reports that transaction's
// revision, so an agent that waits for a revision above it never misses a
// change. What a host gets:
//
//   - servers whose HostID (or, during a resize or migration, OldHostID) is
//     the host; deleted servers are gone from the store view once the host
//     reported the delete (compute clears HostID then);
//   - their ports (server.Ports in NIC order, then any other port whose
//     device_id is the server), and ports whose binding host is the host's
//     name unless they belong to a server placed elsewhere;
//   - the networks of those ports with their subnets, VNI and MTU, and as
//     Remotes the underlay address of every other real host with a port on
//     the network (a port's hosts: its binding host, the hosts of the server
//     owning it, the network node for router legs and DHCP ports);
//   - the security groups those ports use, with rules, and as Members every
//     fixed IP of every port in the group, cloud-wide;
//   - on the network node only: routers, their legs and floating IPs, and
//     DHCP for its DHCP ports with a lease for every port of the network.
//
// Hosts whose driver is "fake" (internal/compute/fakehost) are simulated:
// their State is always empty and their servers appear nowhere, and a port
// on a fake host never makes a network "active".
//
// The network node. Several hosts may register with NetworkNode; the one
// registered first (lowest hypervisor ID) is the network node, the others
// serve nothing until it is gone (no HA, no scheduling of routers). A
// network is active when a port that is not a network:* port lives on a
// real host; the network node serves every router with a gateway or
// interfaces that touches an active network, and DHCP for every active
// network with an IPv4 subnet with DHCP enabled.
//
// DHCP ports are records: DHCPReconciler (control side, follows the change
// feed, resyncs periodically) creates one per served network with
// device_owner network:dhcp and device_id dhcp<host-id>-<network-id>, bound
// to the network node, and deletes it when the network stops needing it.
// Deleting the network deletes it too (internal/network), as in Neutron.
//
// It imports no store implementation and no net/http.
package hostctl
