// Package volume is Block Storage's domain: volumes, snapshots, backups
// (and their exported records), volume types (with encryption specs), QoS
// specs, transfers, groups, group types and group snapshots, attachments,
// quotas, user messages and the service/host/pool view, with their state
// machines and policy, over the store; and the Reconciler that follows the change feed
// and does the backend work (blockdev.Driver) handlers only ask for.
//
// Handlers never touch the backend: they write the desired state and a
// transitional status (creating, downloading, extending, deleting, …) in
// one transaction, and the Reconciler converges, level-triggered, resuming
// after a restart. Attaching to a guest is recorded here (attachments,
// connection_info); plugging the disk in is the host agent's job.
//
// It imports neither net/http nor a store implementation.
package volume
