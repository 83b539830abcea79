// Package metadata is the metadata service a guest reaches at
// 169.254.169.254: an http.Handler that identifies the requesting server by
// the request's source address and answers with the OpenStack layout
// (/openstack/<version>/meta_data.json, network_data.json,
// vendor_data.json, vendor_data2.json, user_data) and the EC2 layout
// (/<version>/meta-data/…, /<version>/user-data) derived from the same
// documents.
//
// The handler holds no state: every request asks its lookup function (the
// host agent wires it to hostapi.Control.Metadata for one network). It
// imports no domain package; the OpenStack version list is the config
// drive's (driver/configdrive.Versions), so both show the same tree.
package metadata
