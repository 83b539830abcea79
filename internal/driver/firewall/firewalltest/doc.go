// Package firewalltest provides a fake firewall.Firewall for agent tests.
//
// The fake stores the last Ruleset applied to each namespace. It does not
// render or validate rules (use nftables.Render in tests that care) and
// does not model tables owned by other software.
package firewalltest
