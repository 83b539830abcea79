package identity

import (
	"context"
	"errors"
	"slices"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

const kindAccessRule = "identity.access_rule"

type accessRuleRecord struct {
	AccessRule
	UserID string `json:"user_id"`
}

func accessRuleKey(userID string, r AccessRule) string {
	return userID + "/" + r.Service + "/" + r.Method + "/" + r.Path
}

// resolveAccessRules gives each requested rule its ID: a rule named by ID
// must be the user's; an identical rule the user already has is reused (as
// Keystone does); any other is created.
func resolveAccessRules(tx store.Tx, userID string, rules []AccessRule) ([]AccessRule, error) {
	var out []AccessRule
	for _, r := range rules {
		if r.ID != "" {
			rec, err := store.Get[accessRuleRecord](tx, kindAccessRule, r.ID)
			if errors.Is(err, store.ErrNotFound) || (err == nil && rec.UserID != userID) {
				return nil, notFound("access rule", r.ID)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, rec.AccessRule)
			continue
		}
		if r.Service == "" || r.Method == "" || r.Path == "" {
			return nil, badRequest("Invalid input for field 'access_rules': service, method and path are required.")
		}
		if !slices.Contains([]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}, r.Method) {
			return nil, badRequest("Invalid input for field 'access_rules': '%s' is not a valid method.", r.Method)
		}
		key := accessRuleKey(userID, r)
		id, err := tx.Lookup(kindAccessRule, key)
		switch {
		case err == nil:
			r.ID = id
		case errors.Is(err, store.ErrNotFound):
			r.ID = hexID()
			if err := tx.Create(store.Record{Kind: kindAccessRule, ID: r.ID, Ref: userID, Unique: []string{key}, Value: accessRuleRecord{AccessRule: r, UserID: userID}}); err != nil {
				return nil, err
			}
		default:
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ListAccessRules returns a user's access rules.
func (s *Service) ListAccessRules(ctx context.Context, userID string) ([]AccessRule, error) {
	if !canManageUser(ctx, userID) {
		return nil, forbidden()
	}
	var out []AccessRule
	err := s.read(ctx, func(tx store.ReadTx) error {
		recs, err := store.List[accessRuleRecord](tx, kindAccessRule, store.ListOptions{Ref: userID})
		for _, r := range recs {
			out = append(out, r.AccessRule)
		}
		return err
	})
	return out, err
}

// GetAccessRule returns one of a user's access rules.
func (s *Service) GetAccessRule(ctx context.Context, userID, id string) (*AccessRule, error) {
	if !canManageUser(ctx, userID) {
		return nil, forbidden()
	}
	var rec *accessRuleRecord
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		rec, err = get[accessRuleRecord](tx, kindAccessRule, "access rule", id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if rec.UserID != userID {
		return nil, notFound("access rule", id)
	}
	return &rec.AccessRule, nil
}

// DeleteAccessRule removes an access rule no application credential uses.
func (s *Service) DeleteAccessRule(ctx context.Context, userID, id string) error {
	if !canManageUser(ctx, userID) {
		return forbidden()
	}
	return s.write(ctx, func(tx store.Tx) error {
		rec, err := get[accessRuleRecord](tx, kindAccessRule, "access rule", id)
		if err != nil {
			return err
		}
		if rec.UserID != userID {
			return notFound("access rule", id)
		}
		acs, err := store.List[AppCredential](tx, kindAppCred, store.ListOptions{Ref: userID})
		if err != nil {
			return err
		}
		for _, ac := range acs {
			for _, r := range ac.AccessRules {
				if r.ID == id {
					return fault.New(fault.Forbidden, "Cannot delete access rule %s: application credential %s uses it.", id, ac.ID)
				}
			}
		}
		return tx.Delete(kindAccessRule, id)
	})
}
