// Package sqlstore implements store.Store over database/sql. The SQL is kept
// to what SQLite and PostgreSQL both speak; a Dialect supplies the few
// differences (placeholders, transaction start, retryable errors).
//
// Every write transaction first takes the single revision row (SQLite: BEGIN
// IMMEDIATE on one writer connection; PostgreSQL: SELECT … FOR UPDATE), so
// writers are serialised, checks made inside a write closure hold until it
// commits, and revisions commit in order with no gaps in the change feed.
//
// It must not import any domain package; it knows records, not resources.
package sqlstore
