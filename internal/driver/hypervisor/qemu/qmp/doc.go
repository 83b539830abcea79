// Package qmp is a small client for the QEMU Machine Protocol: line-delimited
// JSON over a unix socket. Dial reads the greeting and negotiates
// capabilities; Execute sends a command and waits for its reply (matched by
// id, so calls may be concurrent); asynchronous events (SHUTDOWN,
// DEVICE_DELETED, …) go to every subscriber registered with Subscribe, which
// must be called before the command that triggers the event.
//
// It knows nothing about guests or Nubo; it must not import anything outside
// the standard library.
package qmp
