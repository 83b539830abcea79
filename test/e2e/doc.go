// Package e2e holds Nubo's end-to-end tests: a whole cloud in process
// (SQLite, every API, the control-plane loops) with real host agents that
// run real QEMU guests (the test guest built by scripts/build-test-guest.sh)
// on real Linux networking. Every host lives in a network namespace the test
// creates; router and DHCP namespaces carry the test's random prefix; all
// traffic stays inside them. The tests talk to Nubo only through its public
// APIs (gophercloud), as a user would, and check afterwards that nothing is
// left behind (QEMU processes, taps, namespaces, nft tables, disk files).
//
// Build tag e2e; root, qemu-system-x86, qemu-utils, nftables, busybox-static
// and the test guest are needed: `make e2e`.
package e2e
