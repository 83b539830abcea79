// Package keystone is the OpenStack Identity v3 front-end: it translates
// Keystone's wire format (bodies, status codes, {"error": …} faults) to calls
// on the identity domain service and back. It holds no rules of its own and
// imports no store or driver.
package keystone
