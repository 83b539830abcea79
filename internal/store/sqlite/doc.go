// Package sqlite opens Nubo's default embedded store: SQLite through the
// pure-Go modernc.org/sqlite driver (no cgo), in WAL mode, with one writer
// connection and a pool of readers. Migrations are embedded and run on Open.
package sqlite
