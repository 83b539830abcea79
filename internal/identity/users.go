package identity

import (
	"context"
	"errors"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

func putUser(tx store.Tx, u *User, create bool) error {
	r := store.Record{Kind: kindUser, ID: u.ID, Ref: u.DomainID, Unique: []string{scopedKey(u.DomainID, u.Name)}, Value: u}
	var err error
	if create {
		err = tx.Create(r)
	} else {
		err = tx.Update(r)
	}
	if errors.Is(err, store.ErrConflict) {
		return conflict("user", "Duplicate entry found with name "+u.Name+" at domain ID "+u.DomainID)
	}
	return err
}

func (s *Service) callerDomain(ctx context.Context) string {
	c := creds(ctx)
	switch {
	case c.DomainID != "":
		return c.DomainID
	case c.ProjectDomainID != "":
		return c.ProjectDomainID
	}
	return DefaultDomainID
}

func requireDomain(tx store.ReadTx, id string) error {
	_, err := store.Get[Domain](tx, kindDomain, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("domain", id)
	}
	return err
}

// CreateUser adds a user; password is hashed when not empty.
func (s *Service) CreateUser(ctx context.Context, u User, password *string) (*User, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	u.ID = hexID()
	if u.DomainID == "" {
		u.DomainID = s.callerDomain(ctx)
	}
	if u.Options == nil {
		u.Options = map[string]any{}
	}
	u.CreatedAt = s.now()
	if password != nil {
		h, err := s.hash(*password)
		if err != nil {
			return nil, err
		}
		u.PasswordHash = h
	}
	err := s.write(ctx, func(tx store.Tx) error {
		if err := requireDomain(tx, u.DomainID); err != nil {
			return err
		}
		return putUser(tx, &u, true)
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// GetUser returns a user (admin, or the user itself).
func (s *Service) GetUser(ctx context.Context, id string) (*User, error) {
	c := creds(ctx)
	if !c.IsReader() && c.UserID != id {
		return nil, forbidden()
	}
	var u *User
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		u, err = get[User](tx, kindUser, "user", id)
		return err
	})
	return u, err
}

// ListUsers returns every user (admin), or a domain's users.
func (s *Service) ListUsers(ctx context.Context, domainID string) ([]User, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []User
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[User](tx, kindUser, store.ListOptions{Ref: domainID})
		return err
	})
	return out, err
}

// UpdateUser applies mutate; a new password (not nil) is hashed and revokes
// the user's tokens, as does disabling the user.
func (s *Service) UpdateUser(ctx context.Context, id string, password *string, mutate func(*User) error) (*User, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var hash string
	if password != nil {
		h, err := s.hash(*password)
		if err != nil {
			return nil, err
		}
		hash = h
	}
	var u *User
	err := s.write(ctx, func(tx store.Tx) (err error) {
		u, err = get[User](tx, kindUser, "user", id)
		if err != nil {
			return err
		}
		old := *u
		if err := mutate(u); err != nil {
			return err
		}
		u.ID = id
		if u.DomainID != old.DomainID {
			return badRequest("Update of `domain_id` is not allowed.")
		}
		if password != nil || (old.Enabled && !u.Enabled) {
			// As Keystone, a password change or a disable revokes every
			// token issued before it, for good.
			u.TokensValidAfter = s.now()
		}
		if password != nil {
			// The admin reset route records history but does not enforce it (as Keystone).
			s.setPassword(u, hash)
		}
		return putUser(tx, u, false)
	})
	return u, err
}

// ChangePassword changes a user's password after checking the original one,
// and revokes the user's tokens. A wrong original password is 401.
func (s *Service) ChangePassword(ctx context.Context, id, original, password string) error {
	// As in Keystone, the original password is the proof: no token or
	// policy check applies.
	var u *User
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		u, err = get[User](tx, kindUser, "user", id)
		return err
	})
	if err != nil {
		return err
	}
	if !checkHash(u.PasswordHash, original) {
		return fault.New(fault.Unauthorized, "The request you have made requires authentication.")
	}
	if n := s.cfg.UniqueLastPasswordCount; n > 1 {
		// The current password and the ones before it, n in all (Keystone's count).
		recent := append([]string{u.PasswordHash}, u.PasswordHistory...)
		for i, h := range recent {
			if i >= n {
				break
			}
			if checkHash(h, password) {
				return badRequest("The new password cannot be identical to a previous password. The total number which includes the new password must be unique is %d.", n)
			}
		}
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		u, err := get[User](tx, kindUser, "user", id)
		if err != nil {
			return err
		}
		s.setPassword(u, hash)
		u.TokensValidAfter = s.now()
		return putUser(tx, u, false)
	})
}

// DeleteUser removes a user with its memberships, assignments, credentials
// and application credentials.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if _, err := get[User](tx, kindUser, "user", id); err != nil {
			return err
		}
		return deleteUserTx(tx, id)
	})
}

func deleteUserTx(tx store.Tx, id string) error {
	if err := deleteAll(tx, kindMembership, id); err != nil {
		return err
	}
	if err := deleteAll(tx, kindAssignment, ActorUser+":"+id); err != nil {
		return err
	}
	if err := deleteAll(tx, kindCredential, id); err != nil {
		return err
	}
	if err := deleteAll(tx, kindAppCred, id); err != nil {
		return err
	}
	return tx.Delete(kindUser, id)
}

// deleteAll deletes every record of kind whose Ref is ref.
func deleteAll(tx store.Tx, kind, ref string) error {
	items, err := tx.List(kind, store.ListOptions{Ref: ref})
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := tx.Delete(kind, it.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// setPassword makes hash the user's password, keeping the old one in the
// history (bounded by the unique-password count) and clearing lockout.
func (s *Service) setPassword(u *User, hash string) {
	if u.PasswordHash != "" && s.cfg.UniqueLastPasswordCount > 1 {
		u.PasswordHistory = append([]string{u.PasswordHash}, u.PasswordHistory...)
		if len(u.PasswordHistory) > s.cfg.UniqueLastPasswordCount {
			u.PasswordHistory = u.PasswordHistory[:s.cfg.UniqueLastPasswordCount]
		}
	}
	u.PasswordHash = hash
	u.FailedAuthCount = 0
}

// lockedOut reports whether a user may not use password authentication now.
func (s *Service) lockedOut(u *User) bool {
	n := s.cfg.LockoutFailureAttempts
	return n > 0 && u.FailedAuthCount >= n && s.now().Sub(u.LastFailedAuthAt) < s.cfg.LockoutDuration
}

// recordPasswordCheck counts a wrong password, or clears the count after a
// right one, when lockout is configured.
func (s *Service) recordPasswordCheck(ctx context.Context, seen *User, ok bool) error {
	if s.cfg.LockoutFailureAttempts <= 0 || (ok && seen.FailedAuthCount == 0) {
		return nil
	}
	userID := seen.ID
	return s.write(ctx, func(tx store.Tx) error {
		u, err := store.Get[User](tx, kindUser, userID)
		if err != nil {
			return err
		}
		switch {
		case ok && u.FailedAuthCount == 0:
			return nil
		case ok:
			u.FailedAuthCount = 0
		default:
			if s.now().Sub(u.LastFailedAuthAt) >= s.cfg.LockoutDuration {
				u.FailedAuthCount = 0
			}
			u.FailedAuthCount++
			u.LastFailedAuthAt = s.now()
		}
		return putUser(tx, u, false)
	})
}
