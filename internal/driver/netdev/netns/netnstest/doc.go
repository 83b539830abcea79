// Package netnstest holds helpers for tests that build throwaway network
// namespaces (the netns build tag suites): unique names, cleanup, and TCP
// probes run from inside a namespace. Nothing here touches the host's own
// namespace or sends traffic outside the test's namespaces.
package netnstest
