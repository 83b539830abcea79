package identity

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

func conflictIf(err error, what, detail string) error {
	if errors.Is(err, store.ErrConflict) {
		return conflict(what, detail)
	}
	return err
}

func findAppCred(tx store.ReadTx, a AppCredAuth) (*User, *AppCredential, error) {
	var ac *AppCredential
	var err error
	if a.ID != "" {
		ac, err = store.Get[AppCredential](tx, kindAppCred, a.ID)
	} else {
		if a.Name == "" {
			return nil, nil, badRequest("Expecting to find id or name in application_credential.")
		}
		var u *User
		if u, err = findUser(tx, a.User); err != nil {
			return nil, nil, err
		}
		var id string
		if id, err = tx.Lookup(kindAppCred, u.ID+"/"+a.Name); err == nil {
			ac, err = store.Get[AppCredential](tx, kindAppCred, id)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, unauthorized()
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := store.Get[User](tx, kindUser, ac.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, unauthorized()
	}
	return u, ac, err
}

// NewAppCredential is a request to create an application credential.
type NewAppCredential struct {
	Name         string
	Description  string
	Secret       string
	ExpiresAt    *time.Time
	Unrestricted bool
	// RoleIDs and RoleNames name roles the caller holds on its project;
	// both empty means all of them.
	RoleIDs     []string
	RoleNames   []string
	AccessRules []AccessRule
}

// CreateAppCredential creates an application credential for the caller on
// the caller's project. It returns the credential and its secret.
func (s *Service) CreateAppCredential(ctx context.Context, userID string, n NewAppCredential) (*AppCredential, string, error) {
	c := creds(ctx)
	if c == nil || c.UserID != userID {
		return nil, "", forbidden()
	}
	if c.ProjectID == "" {
		return nil, "", fault.New(fault.Unauthorized, "Application credentials must be created with a project-scoped token.")
	}
	if c.AppCredentialID != "" {
		if ac, err := s.getAppCred(ctx, c.AppCredentialID); err == nil && !ac.Unrestricted {
			return nil, "", forbidden()
		}
	}
	if n.ExpiresAt != nil && !n.ExpiresAt.After(s.now()) {
		return nil, "", badRequest("The expiration date must be in the future.")
	}
	roleIDs := c.RoleIDs
	if len(n.RoleIDs) > 0 || len(n.RoleNames) > 0 {
		roleIDs = nil
		for i, id := range c.RoleIDs {
			if slices.Contains(n.RoleIDs, id) || slices.Contains(n.RoleNames, c.Roles[i]) {
				roleIDs = append(roleIDs, id)
			}
		}
		if len(roleIDs) != len(n.RoleIDs)+len(n.RoleNames) {
			return nil, "", fault.New(fault.Forbidden, "Could not find role assignment: the user does not hold every role asked for on project %s.", c.ProjectID)
		}
	}
	secret := n.Secret
	if secret == "" {
		secret = newSecret(64)
	}
	hash, err := s.hash(secret)
	if err != nil {
		return nil, "", err
	}
	ac := &AppCredential{
		ID: hexID(), Name: n.Name, UserID: userID, ProjectID: c.ProjectID, Description: n.Description,
		SecretHash: hash, ExpiresAt: n.ExpiresAt, Unrestricted: n.Unrestricted, RoleIDs: roleIDs,
	}
	err = s.write(ctx, func(tx store.Tx) error {
		rules, err := resolveAccessRules(tx, userID, n.AccessRules)
		if err != nil {
			return err
		}
		ac.AccessRules = rules
		err = tx.Create(store.Record{Kind: kindAppCred, ID: ac.ID, Ref: userID, Unique: []string{userID + "/" + ac.Name}, Value: ac})
		return conflictIf(err, "application_credential", "Duplicate entry found with name "+ac.Name)
	})
	if err != nil {
		return nil, "", err
	}
	return ac, secret, nil
}

func (s *Service) getAppCred(ctx context.Context, id string) (*AppCredential, error) {
	var ac *AppCredential
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		ac, err = get[AppCredential](tx, kindAppCred, "application credential", id)
		return err
	})
	return ac, err
}

// GetAppCredential returns a user's application credential.
func (s *Service) GetAppCredential(ctx context.Context, userID, id string) (*AppCredential, error) {
	if !canManageUser(ctx, userID) {
		return nil, forbidden()
	}
	ac, err := s.getAppCred(ctx, id)
	if err != nil {
		return nil, err
	}
	if ac.UserID != userID {
		return nil, notFound("application credential", id)
	}
	return ac, nil
}

// ListAppCredentials returns a user's application credentials.
func (s *Service) ListAppCredentials(ctx context.Context, userID string) ([]AppCredential, error) {
	if !canManageUser(ctx, userID) {
		return nil, forbidden()
	}
	var out []AppCredential
	err := s.read(ctx, func(tx store.ReadTx) error {
		if _, err := get[User](tx, kindUser, "user", userID); err != nil {
			return err
		}
		var err error
		out, err = store.List[AppCredential](tx, kindAppCred, store.ListOptions{Ref: userID})
		return err
	})
	return out, err
}

// DeleteAppCredential removes a user's application credential; tokens made
// from it stop validating.
func (s *Service) DeleteAppCredential(ctx context.Context, userID, id string) error {
	if !canManageUser(ctx, userID) {
		return forbidden()
	}
	return s.write(ctx, func(tx store.Tx) error {
		ac, err := get[AppCredential](tx, kindAppCred, "application credential", id)
		if err != nil {
			return err
		}
		if ac.UserID != userID {
			return notFound("application credential", id)
		}
		return tx.Delete(kindAppCred, id)
	})
}

// RoleNames returns the roles with the given IDs, skipping deleted ones.
func (s *Service) RolesByID(ctx context.Context, ids []string) ([]Role, error) {
	var out []Role
	err := s.read(ctx, func(tx store.ReadTx) error {
		for _, id := range ids {
			r, err := store.Get[Role](tx, kindRole, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, *r)
		}
		return nil
	})
	return out, err
}
