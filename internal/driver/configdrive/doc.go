// Package configdrive builds OpenStack config drives: an ISO 9660 image with
// volume label "config-2" holding openstack/<version>/meta_data.json,
// network_data.json, vendor_data.json, vendor_data2.json and user_data for
// every metadata version Nova writes (2012-08-10 … latest), which cloud-init
// and the Nubo test guest read when no metadata server is reachable.
//
// The ISO writer is our own (iso9660.go, pure Go, no genisoimage): it writes
// a single-extent ISO 9660 volume with relaxed names (lowercase, '-' and '_',
// up to 64 characters, like genisoimage -l -allow-lowercase) and no Rock
// Ridge or Joliet extensions, which Linux's isofs and cloud-init read fine.
// Windows guests (cloudbase-init) want Joliet; that is not implemented.
//
// The package imports no domain package: callers fill MetaData from their
// own records.
package configdrive
