// Package postgres opens Nubo's scale-out store: PostgreSQL (or a
// wire-compatible engine) through pgx/v5. Migrations are embedded and run on
// Open; serialisation failures and deadlocks are retried.
package postgres
