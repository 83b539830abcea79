// Package linux implements netdev.Driver with netlink
// (github.com/vishvananda/netlink) and named network namespaces
// (../netns): no `ip` or `bridge` commands are run.
//
// Devices it creates in the host namespace carry the interface alias
// "nubo"; that alias, not the name, is what makes a device Nubo-owned and
// therefore removable by Sync. Namespaces are owned by name prefix. Taps
// are created on a thread switched into the host namespace because the
// tun ioctl acts on the caller's namespace. It imports no domain package.
package linux
