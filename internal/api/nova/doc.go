// Package nova is the Compute v2.1 front-end (OpenStack Nova's API) under
// /compute: version documents, microversions (parsed once in middleware by
// internal/api/microversion), Nova's fault dialect, and the wire formats of
// flavors, keypairs, availability zones, aggregates, hypervisors, services,
// limits, quota sets and classes, simple tenant usage, server groups, and
// servers with their actions, addresses, interfaces, metadata, tags,
// instance actions, migrations and remote consoles.
// It only translates: rules, policy and quotas live in internal/compute. It
// imports no store implementation and no driver.
package nova
