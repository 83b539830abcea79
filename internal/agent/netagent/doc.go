// Package netagent is the host agent's network converger: it turns the
// networking part of a hostapi.State into the host's data plane and keeps
// it there. The agent core calls Converge with every State before it
// starts guests, and plugs each guest NIC into TapName(port).
//
// Converge is level-triggered. From one State it computes (plan.go, pure)
// a netdev.HostSpec — a bridge per network, VXLAN with the remote VTEPs for
// vxlan networks, a tap per server port, a qrouter- namespace per router
// with a leg on each interface subnet and one on the external network, a
// qdhcp- namespace per DHCP network holding the DHCP port's address and
// 169.254.169.254/32 — the firewall rulesets (security groups with remote
// groups expanded to their members' addresses and anti-spoofing of the
// taps in the host namespace; SNAT and floating IPs in each router
// namespace) and the DHCP leases (MTU, gateway, DNS, and a classless route
// to 169.254.169.254 via the DHCP port). It syncs the devices, applies the
// rulesets, then starts, updates or stops one DHCP server and one metadata
// listener (package metadata on 169.254.169.254:80, opened inside the
// namespace) per DHCP namespace, plus a metadata listener in each router
// namespace for guests that reach 169.254.169.254 through their default
// gateway. It reports a port ACTIVE when its tap or namespace leg exists
// and is up.
//
// Networks: a flat network whose physical_network is mapped in
// Config.PhysicalInterfaces is joined to that host device. An external
// network without such a mapping gets its subnets' gateway addresses on
// its bridge in the host namespace (172.24.4.1/24 for the bootstrapped
// public network): the host itself is then the upstream of the routers'
// gateway legs and reaches floating IPs. VLAN networks are wired local to
// the host for now.
//
// Close stops the services but leaves devices, namespaces and rules in
// place so guests keep their network across an agent restart; converging
// an empty State removes everything.
package netagent
