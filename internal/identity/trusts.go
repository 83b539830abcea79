package identity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

const kindTrust = "identity.trust"

// Trust lets a trustee act for a trustor on one project with some of the
// trustor's roles (OS-TRUST), as Heat and other services use it.
type Trust struct {
	ID            string     `json:"id"`
	TrustorUserID string     `json:"trustor_user_id"`
	TrusteeUserID string     `json:"trustee_user_id"`
	ProjectID     string     `json:"project_id"`
	Impersonation bool       `json:"impersonation"`
	RoleIDs       []string   `json:"role_ids"`
	ExpiresAt     *time.Time `json:"expires_at"`
	// RemainingUses counts the tokens the trust may still issue; nil is unlimited.
	RemainingUses     *int `json:"remaining_uses"`
	AllowRedelegation bool `json:"allow_redelegation"`
}

// NewTrust is a request to create a trust.
type NewTrust struct {
	TrustorUserID, TrusteeUserID, ProjectID string
	Impersonation                           bool
	RoleIDs, RoleNames                      []string
	ExpiresAt                               *time.Time
	RemainingUses                           *int
	AllowRedelegation                       bool
}

// CreateTrust creates a trust. Only the trustor may, with a token scoped to
// the trust's project, and only for roles it holds there.
func (s *Service) CreateTrust(ctx context.Context, n NewTrust) (*Trust, error) {
	c := creds(ctx)
	if c == nil || c.UserID != n.TrustorUserID {
		return nil, fault.New(fault.Forbidden, "The authenticated user should match the trustor.")
	}
	if n.RemainingUses != nil && *n.RemainingUses <= 0 {
		return nil, badRequest("remaining_uses must be a positive integer or null.")
	}
	if n.ExpiresAt != nil && !n.ExpiresAt.After(s.now()) {
		return nil, badRequest("The expiration date must be in the future.")
	}
	t := &Trust{ID: hexID(), TrustorUserID: n.TrustorUserID, TrusteeUserID: n.TrusteeUserID, ProjectID: n.ProjectID,
		Impersonation: n.Impersonation, ExpiresAt: n.ExpiresAt, RemainingUses: n.RemainingUses, AllowRedelegation: n.AllowRedelegation}
	err := s.write(ctx, func(tx store.Tx) error {
		if _, err := get[User](tx, kindUser, "user", n.TrusteeUserID); err != nil {
			return err
		}
		var held []string
		if n.ProjectID != "" {
			if _, err := get[Project](tx, kindProject, "project", n.ProjectID); err != nil {
				return err
			}
			var err error
			if held, err = effectiveRoles(tx, n.TrustorUserID, TargetProject, n.ProjectID); err != nil {
				return err
			}
		}
		for _, id := range n.RoleIDs {
			if !slices.Contains(held, id) {
				return fault.New(fault.Forbidden, "The trustor does not hold role %s on project %s.", id, n.ProjectID)
			}
			t.RoleIDs = append(t.RoleIDs, id)
		}
		for _, name := range n.RoleNames {
			id, err := tx.Lookup(kindRole, scopedKey("", strings.ToLower(name)))
			if err != nil || !slices.Contains(held, id) {
				return fault.New(fault.Forbidden, "The trustor does not hold role %s on project %s.", name, n.ProjectID)
			}
			if !slices.Contains(t.RoleIDs, id) {
				t.RoleIDs = append(t.RoleIDs, id)
			}
		}
		if n.ProjectID != "" && len(t.RoleIDs) == 0 {
			return badRequest("At least one role should be specified.")
		}
		return tx.Create(store.Record{Kind: kindTrust, ID: t.ID, Ref: t.TrustorUserID, Value: t})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (s *Service) canSeeTrust(ctx context.Context, t *Trust) bool {
	c := creds(ctx)
	return c.IsAdmin() || (c != nil && (c.UserID == t.TrustorUserID || c.UserID == t.TrusteeUserID))
}

// GetTrust returns a trust to its trustor, its trustee or an admin.
func (s *Service) GetTrust(ctx context.Context, id string) (*Trust, error) {
	var t *Trust
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		t, err = get[Trust](tx, kindTrust, "trust", id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !s.canSeeTrust(ctx, t) {
		return nil, forbidden()
	}
	if t.ExpiresAt != nil && !t.ExpiresAt.After(s.now()) {
		return nil, notFound("trust", id)
	}
	return t, nil
}

// ListTrusts returns trusts by trustor or trustee; only an admin may list
// every trust.
func (s *Service) ListTrusts(ctx context.Context, trustorID, trusteeID string) ([]Trust, error) {
	c := creds(ctx)
	if !c.IsAdmin() && (c == nil || (trustorID != c.UserID && trusteeID != c.UserID)) {
		return nil, forbidden()
	}
	var out []Trust
	err := s.read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[Trust](tx, kindTrust, store.ListOptions{Ref: trustorID})
		if err != nil {
			return err
		}
		now := s.now()
		for _, t := range all {
			if (trusteeID == "" || t.TrusteeUserID == trusteeID) && (t.ExpiresAt == nil || t.ExpiresAt.After(now)) {
				out = append(out, t)
			}
		}
		return nil
	})
	return out, err
}

// DeleteTrust removes a trust; tokens issued through it stop validating.
func (s *Service) DeleteTrust(ctx context.Context, id string) error {
	return s.write(ctx, func(tx store.Tx) error {
		t, err := get[Trust](tx, kindTrust, "trust", id)
		if err != nil {
			return err
		}
		c := creds(ctx)
		if !c.IsAdmin() && (c == nil || c.UserID != t.TrustorUserID) {
			return forbidden()
		}
		return tx.Delete(kindTrust, id)
	})
}

// consumeTrust checks a trust for a token issued to trusteeID, spends one
// use, and returns it.
func (s *Service) consumeTrust(ctx context.Context, id, trusteeID string) (*Trust, error) {
	var t *Trust
	err := s.write(ctx, func(tx store.Tx) (err error) {
		t, err = store.Get[Trust](tx, kindTrust, id)
		if errors.Is(err, store.ErrNotFound) {
			return unauthorized()
		}
		if err != nil {
			return err
		}
		if t.TrusteeUserID != trusteeID {
			return fault.New(fault.Forbidden, "The user is not the trustee of trust %s.", id)
		}
		if t.ExpiresAt != nil && !t.ExpiresAt.After(s.now()) {
			return unauthorized()
		}
		if t.RemainingUses != nil {
			if *t.RemainingUses <= 0 {
				return unauthorized()
			}
			n := *t.RemainingUses - 1
			t.RemainingUses = &n
			return tx.Update(store.Record{Kind: kindTrust, ID: t.ID, Ref: t.TrustorUserID, Value: t})
		}
		return nil
	})
	return t, err
}

// trustInfo checks that a trust-scoped token still holds and narrows its
// roles to the trust's.
func (s *Service) trustInfo(tx store.ReadTx, tok *Token, info *TokenInfo, roleIDs []string) ([]string, error) {
	t, err := store.Get[Trust](tx, kindTrust, tok.TrustID)
	if err != nil {
		return nil, ErrTokenInvalid
	}
	if t.ExpiresAt != nil && !t.ExpiresAt.After(s.now()) {
		return nil, ErrTokenInvalid
	}
	trustor, err := store.Get[User](tx, kindUser, t.TrustorUserID)
	if err != nil || !trustor.Enabled {
		return nil, ErrTokenInvalid
	}
	trustee, err := store.Get[User](tx, kindUser, t.TrusteeUserID)
	if err != nil || !trustee.Enabled {
		return nil, ErrTokenInvalid
	}
	// The trustor must still hold the delegated roles.
	held, err := effectiveRoles(tx, t.TrustorUserID, TargetProject, t.ProjectID)
	if err != nil {
		return nil, err
	}
	delegated, err := expandImplied(tx, t.RoleIDs)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, id := range delegated {
		if slices.Contains(held, id) {
			out = append(out, id)
		}
	}
	info.Trust = t
	return out, nil
}
