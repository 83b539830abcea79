// Package nftables implements firewall.Firewall with the nft command.
//
// Render is a pure function from a firewall.Ruleset to nft's text syntax
// (golden files in testdata/). Apply feeds that text to `nft -f -` run in
// the target namespace, so each change is one kernel transaction that
// deletes and redefines the tables Nubo owns (bridge nubo, inet nubo,
// ip nubo_nat) and nothing else.
//
// Security groups need conntrack, which this kernel's bridge family lacks
// (no NF_CONNTRACK_BRIDGE). So a bridge-family chain at priority -100 does
// the stateless anti-spoofing and tags each frame's meta mark with its
// ingress port (high 16 bits) and egress port (low 16 bits); br_netfilter
// then passes bridged IP through the inet forward hook, where two base
// chains jump on the mark to each port's stateful egress and ingress
// chains. It imports no domain package.
package nftables
