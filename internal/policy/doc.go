// Package policy holds the caller's credentials as a validated token
// describes them, and the role checks every service makes on them: admin,
// member and reader, on a project, a domain or the system. It does no I/O.
package policy
