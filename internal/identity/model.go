package identity

import "time"

// Record kinds in the store.
const (
	kindDomain     = "identity.domain"
	kindProject    = "identity.project"
	kindUser       = "identity.user"
	kindGroup      = "identity.group"
	kindMembership = "identity.membership"
	kindRole       = "identity.role"
	kindImplied    = "identity.implied_role"
	kindAssignment = "identity.assignment"
	kindRegion     = "identity.region"
	kindService    = "identity.service"
	kindEndpoint   = "identity.endpoint"
	kindCredential = "identity.credential"
	kindAppCred    = "identity.app_credential"
	kindToken      = "identity.token"
	kindPassword   = "identity.password_history"
)

// DefaultDomainID is the ID of the bootstrapped "Default" domain, as in Keystone.
const DefaultDomainID = "default"

// Domain is a container of projects, users and groups.
type Domain struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Enabled     bool           `json:"enabled"`
	Tags        []string       `json:"tags"`
	Options     map[string]any `json:"options"`
	Extra       map[string]any `json:"extra,omitempty"`
	// TokensValidAfter: tokens issued before it are revoked (the domain
	// was disabled), even after the domain is enabled again.
	TokensValidAfter time.Time `json:"tokens_valid_after"`
}

// Project owns resources; projects nest through ParentID.
type Project struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	DomainID    string `json:"domain_id"`
	// ParentID is the parent project, or the domain ID for a top-level project.
	ParentID string         `json:"parent_id"`
	Enabled  bool           `json:"enabled"`
	Tags     []string       `json:"tags"`
	Options  map[string]any `json:"options"`
	Extra    map[string]any `json:"extra,omitempty"`
	// TokensValidAfter: tokens scoped to the project and issued before it
	// are revoked (the project was disabled).
	TokensValidAfter time.Time `json:"tokens_valid_after"`
}

// User is a person or a service account.
type User struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	DomainID         string         `json:"domain_id"`
	DefaultProjectID string         `json:"default_project_id,omitempty"`
	Description      string         `json:"description,omitempty"`
	Enabled          bool           `json:"enabled"`
	PasswordHash     string         `json:"password_hash,omitempty"`
	PasswordExpires  *time.Time     `json:"password_expires_at,omitempty"`
	Options          map[string]any `json:"options"`
	Extra            map[string]any `json:"extra,omitempty"`
	// TokensValidAfter: tokens issued before it are revoked (password change).
	TokensValidAfter time.Time `json:"tokens_valid_after"`
	CreatedAt        time.Time `json:"created_at"`
	// PasswordHistory holds the hashes of earlier passwords, newest first.
	PasswordHistory []string `json:"password_history,omitempty"`
	// FailedAuthCount counts wrong passwords in a row, for lockout.
	FailedAuthCount  int       `json:"failed_auth_count,omitempty"`
	LastFailedAuthAt time.Time `json:"last_failed_auth_at,omitzero"`
}

// Group gathers users so roles can be granted to all of them.
type Group struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DomainID    string         `json:"domain_id"`
	Description string         `json:"description"`
	Extra       map[string]any `json:"extra,omitempty"`
}

type membership struct {
	GroupID string `json:"group_id"`
	UserID  string `json:"user_id"`
}

// Role is a named set of permissions; a role with a DomainID is domain-specific.
type Role struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DomainID    string         `json:"domain_id,omitempty"`
	Description string         `json:"description,omitempty"`
	Options     map[string]any `json:"options"`
	Extra       map[string]any `json:"extra,omitempty"`
}

// ImpliedRole says that holding Prior also grants Implied.
type ImpliedRole struct {
	PriorID   string `json:"prior_role_id"`
	ImpliedID string `json:"implied_role_id"`
}

// Actor and target kinds of an assignment.
const (
	ActorUser     = "user"
	ActorGroup    = "group"
	TargetProject = "project"
	TargetDomain  = "domain"
	TargetSystem  = "system"
)

// SystemTarget is the ID of the one system target.
const SystemTarget = "all"

// Assignment grants a role to a user or group on a project, domain or the system.
type Assignment struct {
	ActorType  string `json:"actor_type"`
	ActorID    string `json:"actor_id"`
	TargetType string `json:"target_type"`
	TargetID   string `json:"target_id"`
	RoleID     string `json:"role_id"`
	// Inherited assignments apply to the target's sub-projects (OS-INHERIT),
	// not to the target itself.
	Inherited bool `json:"inherited"`
}

func (a Assignment) key() string {
	inh := "0"
	if a.Inherited {
		inh = "1"
	}
	return a.ActorType + ":" + a.ActorID + "/" + a.TargetType + ":" + a.TargetID + "/" + a.RoleID + "/" + inh
}

// Region is a catalog region.
type Region struct {
	ID             string         `json:"id"`
	Description    string         `json:"description"`
	ParentRegionID string         `json:"parent_region_id"`
	Extra          map[string]any `json:"extra,omitempty"`
}

// ServiceEntry is a service in the catalog.
type ServiceEntry struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Enabled     bool           `json:"enabled"`
	Extra       map[string]any `json:"extra,omitempty"`
}

// Endpoint is one URL of a service in a region for an interface.
type Endpoint struct {
	ID        string         `json:"id"`
	ServiceID string         `json:"service_id"`
	RegionID  string         `json:"region_id"`
	Interface string         `json:"interface"`
	URL       string         `json:"url"`
	Enabled   bool           `json:"enabled"`
	Extra     map[string]any `json:"extra,omitempty"`
}

// Credential is a user's secret for another system (EC2, TOTP, …).
type Credential struct {
	ID        string         `json:"id"`
	UserID    string         `json:"user_id"`
	ProjectID string         `json:"project_id,omitempty"`
	Type      string         `json:"type"`
	Blob      string         `json:"blob"`
	Extra     map[string]any `json:"extra,omitempty"`
}

// AppCredential lets an application authenticate as a user on one project
// with a subset of the user's roles.
type AppCredential struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	UserID       string       `json:"user_id"`
	ProjectID    string       `json:"project_id"`
	Description  string       `json:"description"`
	SecretHash   string       `json:"secret_hash"`
	ExpiresAt    *time.Time   `json:"expires_at"`
	Unrestricted bool         `json:"unrestricted"`
	RoleIDs      []string     `json:"role_ids"`
	AccessRules  []AccessRule `json:"access_rules,omitempty"`
}

// AccessRule restricts an application credential to some API calls.
type AccessRule struct {
	ID      string `json:"id"`
	Path    string `json:"path"`
	Method  string `json:"method"`
	Service string `json:"service"`
}

// Token is what the store keeps of an issued token (never the token itself).
type Token struct {
	Hash      string    `json:"hash"`
	UserID    string    `json:"user_id"`
	Methods   []string  `json:"methods"`
	AuditIDs  []string  `json:"audit_ids"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	ProjectID string    `json:"project_id,omitempty"`
	DomainID  string    `json:"domain_id,omitempty"`
	System    bool      `json:"system,omitempty"`
	// AppCredentialID is set for tokens issued from an application credential.
	AppCredentialID string `json:"app_credential_id,omitempty"`
	// TrustID is set for tokens issued through a trust; UserID is then the
	// trustee, or the trustor when the trust impersonates.
	TrustID string `json:"trust_id,omitempty"`
}
