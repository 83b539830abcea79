package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// ErrTokenInvalid is returned for a token that is unknown, expired or revoked.
var ErrTokenInvalid = errors.New("token is invalid")

// HashToken returns the stored form of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newAuditID() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // never fails
	return base64.RawURLEncoding.EncodeToString(b)[:22]
}

// UserRef names a user by ID, or by name within a domain named by ID or name.
type UserRef struct {
	ID, Name, DomainID, DomainName string
}

// AuthRequest is a request for a token.
type AuthRequest struct {
	Methods  []string
	Password *PasswordAuth
	// Token is the existing token of the token method.
	Token   *string
	AppCred *AppCredAuth
	Scope   Scope
}

// PasswordAuth is the password method.
type PasswordAuth struct {
	User     UserRef
	Password string
}

// AppCredAuth is the application_credential method.
type AppCredAuth struct {
	ID, Name string
	User     UserRef
	Secret   string
}

// Scope is the scope asked for; all empty means unscoped, or the user's
// default project.
type Scope struct {
	ProjectID, ProjectName, ProjectDomainID, ProjectDomainName string
	DomainID, DomainName                                       string
	System                                                     bool
	// Unscoped asks explicitly for an unscoped token.
	Unscoped bool
	// TrustID scopes the token to a trust (OS-TRUST:trust).
	TrustID string
}

func (sc Scope) empty() bool {
	return sc.ProjectID == "" && sc.ProjectName == "" && sc.DomainID == "" && sc.DomainName == "" && !sc.System && sc.TrustID == ""
}

// TokenInfo is a validated token with everything its body shows.
type TokenInfo struct {
	Token         Token
	User          User
	UserDomain    Domain
	Project       *Project
	ProjectDomain *Domain
	Domain        *Domain
	Roles         []Role
	AppCred       *AppCredential
	Trust         *Trust
}

// Credentials returns the policy view of the token.
func (ti *TokenInfo) Credentials() *policy.Credentials {
	c := &policy.Credentials{
		UserID: ti.User.ID, UserName: ti.User.Name, UserDomainID: ti.User.DomainID,
		System: ti.Token.System, Methods: ti.Token.Methods, TokenHash: ti.Token.Hash,
		AppCredentialID: ti.Token.AppCredentialID,
	}
	if ti.Project != nil {
		c.ProjectID, c.ProjectName, c.ProjectDomainID = ti.Project.ID, ti.Project.Name, ti.Project.DomainID
	}
	if ti.Domain != nil {
		c.DomainID = ti.Domain.ID
	}
	for _, r := range ti.Roles {
		c.Roles = append(c.Roles, r.Name)
		c.RoleIDs = append(c.RoleIDs, r.ID)
	}
	if ti.AppCred != nil && len(ti.AppCred.AccessRules) > 0 {
		c.AccessRules = []policy.AccessRule{}
		for _, r := range ti.AppCred.AccessRules {
			c.AccessRules = append(c.AccessRules, policy.AccessRule{Service: r.Service, Method: r.Method, Path: r.Path})
		}
	}
	return c
}

func unauthorized() error {
	return fault.New(fault.Unauthorized, "The request you have made requires authentication.")
}

type cachedToken struct {
	info *TokenInfo
	gen  uint64
	at   time.Time
}

func findUser(tx store.ReadTx, ref UserRef) (*User, error) {
	if ref.ID != "" {
		u, err := store.Get[User](tx, kindUser, ref.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, unauthorized()
		}
		return u, err
	}
	domainID := ref.DomainID
	if domainID == "" && ref.DomainName != "" {
		id, err := tx.Lookup(kindDomain, domainKey(ref.DomainName))
		if errors.Is(err, store.ErrNotFound) {
			return nil, unauthorized()
		}
		if err != nil {
			return nil, err
		}
		domainID = id
	}
	if ref.Name == "" || domainID == "" {
		return nil, fault.New(fault.BadRequest, "Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
	}
	id, err := tx.Lookup(kindUser, scopedKey(domainID, ref.Name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, unauthorized()
	}
	if err != nil {
		return nil, err
	}
	return store.Get[User](tx, kindUser, id)
}

// userUsable checks that a user and its domain are enabled.
func userUsable(tx store.ReadTx, u *User) (*Domain, error) {
	if !u.Enabled {
		return nil, unauthorized()
	}
	d, err := store.Get[Domain](tx, kindDomain, u.DomainID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, unauthorized()
	}
	if err != nil {
		return nil, err
	}
	if !d.Enabled {
		return nil, unauthorized()
	}
	return d, nil
}

// Authenticate issues a token. It returns the token secret (shown to the
// client once) and what the token says.
func (s *Service) Authenticate(ctx context.Context, req AuthRequest) (string, *TokenInfo, error) {
	if len(req.Methods) == 0 {
		return "", nil, badRequest("Invalid input for field 'identity/methods': [] is too short.")
	}
	now := s.now()
	tok := Token{Methods: slices.Clone(req.Methods), IssuedAt: now, ExpiresAt: now.Add(s.cfg.TokenTTL), AuditIDs: []string{newAuditID()}}
	var user *User
	// The password and secret checks run outside any transaction: they are
	// the slow part, and the store needs no lock for them.
	var pwUser, acUser *User
	var ac *AppCredential
	for _, m := range req.Methods {
		switch m {
		case "password":
			if req.Password == nil {
				return "", nil, badRequest("Expecting to find password in identity.")
			}
			var u *User
			err := s.read(ctx, func(tx store.ReadTx) (err error) {
				u, err = findUser(tx, req.Password.User)
				return err
			})
			if err != nil {
				return "", nil, err
			}
			if s.lockedOut(u) {
				return "", nil, fault.New(fault.Unauthorized, "The account is locked for user: %s.", u.ID)
			}
			good := checkHash(u.PasswordHash, req.Password.Password)
			if err := s.recordPasswordCheck(ctx, u, good); err != nil {
				return "", nil, err
			}
			if !good {
				return "", nil, unauthorized()
			}
			pwUser = u
		case "token":
			if req.Token == nil {
				return "", nil, badRequest("Expecting to find token in identity.")
			}
			parent, err := s.ValidateToken(ctx, HashToken(*req.Token), false)
			if errors.Is(err, ErrTokenInvalid) {
				// Keystone answers an unknown, expired or revoked token with 404.
				return "", nil, fault.New(fault.NotFound, "Could not find token.")
			}
			if err != nil {
				return "", nil, err
			}
			if parent.Token.TrustID != "" {
				return "", nil, fault.New(fault.Forbidden, "Trust-scoped tokens cannot be rescoped.")
			}
			if parent.Token.AppCredentialID != "" {
				return "", nil, fault.New(fault.Forbidden, "Application credentials cannot request a scope.")
			}
			u := parent.User
			if user != nil && user.ID != u.ID {
				return "", nil, unauthorized()
			}
			user = &u
			tok.ExpiresAt = parent.Token.ExpiresAt
			tok.AuditIDs = append(tok.AuditIDs, parent.Token.AuditIDs[len(parent.Token.AuditIDs)-1])
			tok.Methods = mergeMethods(parent.Token.Methods, req.Methods)
			if req.Scope.empty() && !req.Scope.Unscoped {
				switch {
				case parent.Project != nil:
					req.Scope.ProjectID = parent.Project.ID
				case parent.Domain != nil:
					req.Scope.DomainID = parent.Domain.ID
				case parent.Token.System:
					req.Scope.System = true
				default:
					req.Scope.Unscoped = true
				}
			}
		case "application_credential":
			if req.AppCred == nil {
				return "", nil, badRequest("Expecting to find application_credential in identity.")
			}
			var u *User
			var a *AppCredential
			err := s.read(ctx, func(tx store.ReadTx) (err error) {
				u, a, err = findAppCred(tx, *req.AppCred)
				return err
			})
			if err != nil {
				return "", nil, err
			}
			if !checkHash(a.SecretHash, req.AppCred.Secret) {
				return "", nil, unauthorized()
			}
			if a.ExpiresAt != nil && !a.ExpiresAt.After(now) {
				return "", nil, unauthorized()
			}
			if !req.Scope.empty() {
				return "", nil, unauthorized()
			}
			acUser, ac = u, a
			tok.AppCredentialID = a.ID
			if a.ExpiresAt != nil && a.ExpiresAt.Before(tok.ExpiresAt) {
				tok.ExpiresAt = *a.ExpiresAt
			}
		default:
			return "", nil, unauthorized()
		}
	}
	for _, u := range []*User{pwUser, acUser} {
		if u == nil {
			continue
		}
		if user != nil && user.ID != u.ID {
			return "", nil, unauthorized()
		}
		user = u
	}
	if user == nil {
		return "", nil, unauthorized()
	}
	tok.UserID = user.ID
	if req.Scope.TrustID != "" {
		if ac != nil {
			return "", nil, unauthorized()
		}
		t, err := s.consumeTrust(ctx, req.Scope.TrustID, user.ID)
		if err != nil {
			return "", nil, err
		}
		tok.TrustID, tok.ProjectID = t.ID, t.ProjectID
		req.Scope = Scope{Unscoped: true}
		if t.Impersonation {
			// The token is the trustor's, as Keystone issues it.
			var trustor *User
			if err := s.read(ctx, func(tx store.ReadTx) (err error) {
				trustor, err = store.Get[User](tx, kindUser, t.TrustorUserID)
				return err
			}); err != nil {
				return "", nil, unauthorized()
			}
			user, tok.UserID = trustor, trustor.ID
		}
		if t.ExpiresAt != nil && t.ExpiresAt.Before(tok.ExpiresAt) {
			tok.ExpiresAt = *t.ExpiresAt
		}
	}

	secret := newSecret(32)
	tok.Hash = HashToken(secret)
	var info *TokenInfo
	err := s.read(ctx, func(tx store.ReadTx) error {
		u, err := store.Get[User](tx, kindUser, user.ID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return unauthorized()
			}
			return err
		}
		if _, err := userUsable(tx, u); err != nil {
			return err
		}
		switch {
		case ac != nil:
			tok.ProjectID = ac.ProjectID
		case tok.TrustID != "":
			// The trust's project, set above.
		default:
			if err := s.resolveScope(tx, u, req.Scope, &tok); err != nil {
				return err
			}
		}
		info, err = s.tokenInfo(tx, &tok)
		if errors.Is(err, ErrTokenInvalid) {
			return s.scopeError(u, &tok)
		}
		return err
	})
	if err != nil {
		return "", nil, err
	}
	err = s.st.Write(ctx, func(tx store.Tx) error {
		return tx.Create(store.Record{Kind: kindToken, ID: tok.Hash, Ref: tok.UserID, Value: tok})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, info, nil
}

func mergeMethods(a, b []string) []string {
	out := slices.Clone(b)
	for _, m := range a {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Service) scopeError(u *User, tok *Token) error {
	switch {
	case tok.ProjectID != "":
		return fault.New(fault.Unauthorized, "User %s has no access to project %s", u.ID, tok.ProjectID)
	case tok.DomainID != "":
		return fault.New(fault.Unauthorized, "User %s has no access to domain %s", u.ID, tok.DomainID)
	case tok.System:
		return fault.New(fault.Unauthorized, "User %s has no access to the system", u.ID)
	}
	return unauthorized()
}

// resolveScope fills the token's scope from the request, or the user's default project.
func (s *Service) resolveScope(tx store.ReadTx, u *User, sc Scope, tok *Token) error {
	lookupDomain := func(id, name string) (string, error) {
		if id != "" {
			return id, nil
		}
		if name == "" {
			return "", badRequest("Expecting to find domain in project. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
		}
		did, err := tx.Lookup(kindDomain, domainKey(name))
		if errors.Is(err, store.ErrNotFound) {
			return "", unauthorized()
		}
		return did, err
	}
	switch {
	case sc.Unscoped:
	case sc.ProjectID != "":
		tok.ProjectID = sc.ProjectID
	case sc.ProjectName != "":
		did, err := lookupDomain(sc.ProjectDomainID, sc.ProjectDomainName)
		if err != nil {
			return err
		}
		id, err := tx.Lookup(kindProject, scopedKey(did, sc.ProjectName))
		if errors.Is(err, store.ErrNotFound) {
			return unauthorized()
		}
		if err != nil {
			return err
		}
		tok.ProjectID = id
	case sc.DomainID != "" || sc.DomainName != "":
		did, err := lookupDomain(sc.DomainID, sc.DomainName)
		if err != nil {
			return err
		}
		tok.DomainID = did
	case sc.System:
		tok.System = true
	case u.DefaultProjectID != "":
		// No scope asked: use the default project if the user may.
		roles, err := effectiveRoles(tx, u.ID, TargetProject, u.DefaultProjectID)
		if err != nil {
			return err
		}
		if len(roles) > 0 {
			tok.ProjectID = u.DefaultProjectID
		}
	}
	return nil
}

// tokenInfo checks everything a token depends on, in tx, and returns what
// it says; ErrTokenInvalid if the token no longer holds.
func (s *Service) tokenInfo(tx store.ReadTx, tok *Token) (*TokenInfo, error) {
	u, err := store.Get[User](tx, kindUser, tok.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	ud, err := userUsable(tx, u)
	if err != nil {
		return nil, ErrTokenInvalid
	}
	if tok.IssuedAt.Before(u.TokensValidAfter) || tok.IssuedAt.Before(ud.TokensValidAfter) {
		return nil, ErrTokenInvalid
	}
	info := &TokenInfo{Token: *tok, User: *u, UserDomain: *ud}
	var roleIDs []string
	switch {
	case tok.ProjectID != "":
		p, err := store.Get[Project](tx, kindProject, tok.ProjectID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrTokenInvalid
		}
		if err != nil {
			return nil, err
		}
		pd, err := store.Get[Domain](tx, kindDomain, p.DomainID)
		if err != nil {
			return nil, ErrTokenInvalid
		}
		if !p.Enabled || !pd.Enabled || tok.IssuedAt.Before(p.TokensValidAfter) || tok.IssuedAt.Before(pd.TokensValidAfter) {
			return nil, ErrTokenInvalid
		}
		info.Project, info.ProjectDomain = p, pd
		if tok.TrustID != "" {
			if roleIDs, err = s.trustInfo(tx, tok, info, nil); err != nil {
				return nil, err
			}
		} else if roleIDs, err = effectiveRoles(tx, u.ID, TargetProject, p.ID); err != nil {
			return nil, err
		}
	case tok.DomainID != "":
		d, err := store.Get[Domain](tx, kindDomain, tok.DomainID)
		if err != nil || !d.Enabled || tok.IssuedAt.Before(d.TokensValidAfter) {
			return nil, ErrTokenInvalid
		}
		info.Domain = d
		if roleIDs, err = effectiveRoles(tx, u.ID, TargetDomain, d.ID); err != nil {
			return nil, err
		}
	case tok.System:
		if roleIDs, err = effectiveRoles(tx, u.ID, TargetSystem, SystemTarget); err != nil {
			return nil, err
		}
	}
	if tok.AppCredentialID != "" {
		ac, err := store.Get[AppCredential](tx, kindAppCred, tok.AppCredentialID)
		if err != nil {
			return nil, ErrTokenInvalid
		}
		if ac.ExpiresAt != nil && !ac.ExpiresAt.After(s.now()) {
			return nil, ErrTokenInvalid
		}
		info.AppCred = ac
		// The application credential's roles, as far as the user still holds them.
		allowed, err := expandImplied(tx, ac.RoleIDs)
		if err != nil {
			return nil, err
		}
		roleIDs = slices.DeleteFunc(roleIDs, func(id string) bool { return !slices.Contains(allowed, id) })
	}
	scoped := tok.ProjectID != "" || tok.DomainID != "" || tok.System
	for _, id := range roleIDs {
		r, err := store.Get[Role](tx, kindRole, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if r.DomainID != "" {
			// Domain-specific roles only carry the global roles they imply.
			continue
		}
		info.Roles = append(info.Roles, *r)
	}
	if scoped && len(info.Roles) == 0 {
		return nil, ErrTokenInvalid
	}
	return info, nil
}

// ValidateToken returns what a valid token says, or ErrTokenInvalid.
// allowExpired accepts a token past its expiry (it must still exist).
func (s *Service) ValidateToken(ctx context.Context, hash string, allowExpired bool) (*TokenInfo, error) {
	now := s.now()
	gen := s.gen.Load()
	if v, ok := s.cache.Load(hash); ok {
		c := v.(*cachedToken)
		if c.gen == gen && now.Sub(c.at) < s.cfg.CacheTTL && (allowExpired || now.Before(c.info.Token.ExpiresAt)) {
			return c.info, nil
		}
	}
	var info *TokenInfo
	err := s.read(ctx, func(tx store.ReadTx) error {
		tok, err := store.Get[Token](tx, kindToken, hash)
		if errors.Is(err, store.ErrNotFound) {
			return ErrTokenInvalid
		}
		if err != nil {
			return err
		}
		if !allowExpired && !now.Before(tok.ExpiresAt) {
			return ErrTokenInvalid
		}
		info, err = s.tokenInfo(tx, tok)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.cache.Store(hash, &cachedToken{info: info, gen: gen, at: now})
	return info, nil
}

// RevokeToken deletes a token. Callers may revoke their own tokens; admins
// any token.
func (s *Service) RevokeToken(ctx context.Context, hash string) error {
	c := creds(ctx)
	info, err := s.ValidateToken(ctx, hash, false)
	if err != nil {
		return err
	}
	if !c.IsAdmin() && (c == nil || c.UserID != info.User.ID) {
		return forbidden()
	}
	s.cache.Delete(hash)
	return s.write(ctx, func(tx store.Tx) error {
		if err := tx.Delete(kindToken, hash); errors.Is(err, store.ErrNotFound) {
			return ErrTokenInvalid
		} else {
			return err
		}
	})
}

// CanValidate reports whether the caller may look at another token: admins
// and service users may see any, others only their own.
func CanValidate(c *policy.Credentials, subject *TokenInfo) bool {
	return c.IsReader() || c.HasRole("service") || (c != nil && subject != nil && c.UserID == subject.User.ID)
}

// PurgeExpired deletes tokens that expired before now and forgets stale
// cache entries. It returns how many tokens it deleted.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	now := s.now()
	s.cache.Range(func(k, v any) bool {
		if c := v.(*cachedToken); now.Sub(c.at) > s.cfg.CacheTTL {
			s.cache.Delete(k)
		}
		return true
	})
	var expired []string
	err := s.read(ctx, func(tx store.ReadTx) error {
		toks, err := store.List[Token](tx, kindToken, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, t := range toks {
			if !now.Before(t.ExpiresAt) {
				expired = append(expired, t.Hash)
			}
		}
		return nil
	})
	if err != nil || len(expired) == 0 {
		return 0, err
	}
	for _, h := range expired {
		s.cache.Delete(h)
	}
	err = s.st.Write(ctx, func(tx store.Tx) error {
		for _, h := range expired {
			if err := tx.Delete(kindToken, h); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	return len(expired), err
}

// Run purges expired tokens every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if n, err := s.PurgeExpired(ctx); err != nil {
				s.log.ErrorContext(ctx, "purge expired tokens", "err", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "purged expired tokens", "count", n)
			}
		}
	}
}
