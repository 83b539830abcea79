// Package netns creates, lists and deletes named Linux network namespaces
// (bind mounts under /run/netns, the same files `ip netns` uses) and runs a
// function with the calling OS thread switched into one of them.
//
// It exists so that the host networking drivers never shell out to
// `ip netns exec`. It imports no Nubo package.
package netns
