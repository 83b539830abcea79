// Package dhcp is a DHCPv4 server with static leases only (MAC → address
// and options), the way Neutron reserves every port's fixed IP. One Server
// listens on one interface inside one network namespace; the agent swaps
// its lease table live with SetLeases.
//
// It answers with the MTU (option 26, needed on VXLAN networks) and
// classless static routes (option 121, e.g. 169.254.169.254/32 via the
// router for metadata) whether or not the client asked, because busybox
// udhcpc does not ask for the MTU. Packets are encoded with
// github.com/insomniacslk/dhcp. It imports no domain package.
package dhcp
