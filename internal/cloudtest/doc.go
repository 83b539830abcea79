// Package cloudtest runs an in-process Nubo for tests: SQLite in a test's
// TempDir, the real domain services and API front-ends behind httptest, and
// gophercloud clients authenticated as the bootstrapped admin. It uses no
// fake for what it serves: only the hypervisor and host drivers, once they
// exist, are fakes here.
package cloudtest
