package policy

import (
	"context"
	"slices"
	"strings"
)

// Role names bootstrapped by Nubo; admin implies member implies reader.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
	RoleReader = "reader"
)

// Credentials describe who is calling, from a validated token.
type Credentials struct {
	UserID       string
	UserName     string
	UserDomainID string
	// Exactly one scope, or none (unscoped).
	ProjectID       string
	ProjectName     string
	ProjectDomainID string
	DomainID        string
	System          bool
	// Roles are the effective role names (implied roles expanded).
	Roles   []string
	RoleIDs []string
	// AppCredentialID is set when the token came from an application credential.
	AppCredentialID string
	// AccessRules, when not nil, are the only calls the token may make
	// (an application credential restricted by access rules).
	AccessRules []AccessRule
	// Methods are the authentication methods of the token.
	Methods []string
	// TokenHash identifies the token the call carried.
	TokenHash string
}

// HasRole reports whether the credentials carry role.
func (c *Credentials) HasRole(role string) bool {
	return c != nil && slices.Contains(c.Roles, role)
}

// IsAdmin reports whether the caller is a cloud administrator. As in
// OpenStack with scope enforcement off, the admin role on any scope is
// cloud-wide.
func (c *Credentials) IsAdmin() bool { return c.HasRole(RoleAdmin) }

// IsReader reports whether the caller may read cloud-wide (admin, or reader on
// the system scope).
func (c *Credentials) IsReader() bool {
	return c.IsAdmin() || (c != nil && c.System && c.HasRole(RoleReader))
}

// Scoped reports whether the token has a project, domain or system scope.
func (c *Credentials) Scoped() bool {
	return c != nil && (c.ProjectID != "" || c.DomainID != "" || c.System)
}

// OwnsProject reports whether the caller is scoped to project id with at
// least the reader role.
func (c *Credentials) OwnsProject(id string) bool {
	return c != nil && c.ProjectID != "" && c.ProjectID == id && c.HasRole(RoleReader)
}

// CanWriteProject reports whether the caller may change resources of project
// id: admin, or member scoped to it.
func (c *Credentials) CanWriteProject(id string) bool {
	return c.IsAdmin() || (c != nil && c.ProjectID == id && c.HasRole(RoleMember))
}

// AccessRule allows one kind of call: a service type, an HTTP method and a
// path relative to the service's root, where "*" matches one path segment
// and "**" any number of them.
type AccessRule struct {
	Service, Method, Path string
}

// Allows reports whether a call to service with method and path matches
// the rule.
func (r AccessRule) Allows(service, method, path string) bool {
	if r.Service != service || (r.Method != method && !(r.Method == "GET" && method == "HEAD")) {
		return false
	}
	return matchSegments(splitPath(r.Path), splitPath(path))
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func matchSegments(pattern, path []string) bool {
	for i, seg := range pattern {
		if seg == "**" {
			for j := i; j <= len(path); j++ {
				if matchSegments(pattern[i+1:], path[j:]) {
					return true
				}
			}
			return false
		}
		if i >= len(path) || (seg != "*" && seg != path[i]) {
			return false
		}
	}
	return len(pattern) == len(path)
}

type ctxKey struct{}

// NewContext returns ctx carrying c.
func NewContext(ctx context.Context, c *Credentials) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the credentials in ctx, or nil.
func FromContext(ctx context.Context) *Credentials {
	c, _ := ctx.Value(ctxKey{}).(*Credentials)
	return c
}
