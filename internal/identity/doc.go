// Package identity is Nubo's Identity domain (what Keystone v3 does): domains,
// projects, users, groups, roles and implied roles, role assignments, the
// service catalog (regions, services, endpoints), credentials, application
// credentials, and tokens (issue, validate, revoke). It checks policy and
// keeps the rules; it must not import net/http (the wire format lives in
// api/keystone) nor any store implementation.
//
// Secrets: passwords and application-credential secrets are stored as bcrypt
// hashes; tokens are 32 random bytes of which only a SHA-256 hash is stored.
// No secret is ever logged.
package identity
