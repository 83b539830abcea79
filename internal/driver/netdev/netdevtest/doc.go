// Package netdevtest provides a fake netdev.Driver for agent tests.
//
// The fake records the last HostSpec and answers Status from it. It does
// not model the kernel: no devices exist, names are not length-checked
// beyond HostSpec.Validate, and CheckBridgeNetfilter succeeds unless
// BridgeNetfilterOff is set.
package netdevtest
