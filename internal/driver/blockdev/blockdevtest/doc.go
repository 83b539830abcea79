// Package blockdevtest is an in-memory fake of blockdev.Driver for tests.
// It models sizes, formats and copies of byte contents; it does not model
// qcow2 internals, sparse files or open-file locking. Func fields, when
// set, replace a method (to inject failures or block).
package blockdevtest
