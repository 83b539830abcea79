// Package cinder serves OpenStack Block Storage v3 (Cinder) on the shared
// listener under /volume: version documents, volumes and their actions,
// snapshots, backups (and record export/import), volume types (extra
// specs, access, encryption), QoS specs, transfers, groups, group types,
// group snapshots, attachments, quotas, limits, availability zones,
// services, hosts, scheduler stats, capabilities and messages. Paths work with and without the
// project ID (/volume/v3/{project_id}/volumes and /volume/v3/volumes).
// It translates wire formats only; rules live in internal/volume. It must
// not import store implementations or drivers.
package cinder
