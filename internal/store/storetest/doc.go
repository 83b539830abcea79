// Package storetest is the contract suite for store.Store implementations.
//
// Run exercises every promise made in the doc comments of package store —
// record round trips, ErrNotFound and ErrConflict, unique keys, Lookup, List
// order and filtering, transaction rollback and revisions, the change feed,
// compaction, Wait, read snapshots, and the serialisation of concurrent
// writers — against fresh stores made by a factory. Each implementation
// (store/sqlite, store/postgres) calls Run from its own tests, so both
// engines are held to the same behaviour.
//
// The package imports testing and is meant to be used from _test.go files
// only.
package storetest
