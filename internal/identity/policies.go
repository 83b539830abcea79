package identity

import (
	"context"
	"errors"

	"github.com/nubo-cloud/nubo/internal/store"
)

// kindPolicy is the record kind of Keystone's policy blobs.
const kindPolicy = "identity.policy"

// Policy is an opaque policy document stored for other services, as
// Keystone's /v3/policies API keeps them. Nubo stores policies but neither
// interprets nor enforces them (nor does Keystone: the API is deprecated
// storage only).
type Policy struct {
	ID    string         `json:"id"`
	Type  string         `json:"type"`
	Blob  string         `json:"blob"`
	Extra map[string]any `json:"extra,omitempty"`
}

// CreatePolicy stores a policy with a generated ID.
func (s *Service) CreatePolicy(ctx context.Context, p Policy) (*Policy, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	p.ID = hexID()
	err := s.write(ctx, func(tx store.Tx) error {
		return conflictIf(tx.Create(store.Record{Kind: kindPolicy, ID: p.ID, Value: p}), "policy", "Duplicate ID, "+p.ID)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// GetPolicy returns a policy.
func (s *Service) GetPolicy(ctx context.Context, id string) (*Policy, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var p *Policy
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		p, err = get[Policy](tx, kindPolicy, "policy", id)
		return err
	})
	return p, err
}

// ListPolicies returns every policy.
func (s *Service) ListPolicies(ctx context.Context) ([]Policy, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Policy
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Policy](tx, kindPolicy, store.ListOptions{})
		return err
	})
	return out, err
}

// UpdatePolicy applies mutate to a policy.
func (s *Service) UpdatePolicy(ctx context.Context, id string, mutate func(*Policy) error) (*Policy, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var p *Policy
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if p, err = get[Policy](tx, kindPolicy, "policy", id); err != nil {
			return err
		}
		if err := mutate(p); err != nil {
			return err
		}
		p.ID = id
		return tx.Update(store.Record{Kind: kindPolicy, ID: id, Value: p})
	})
	return p, err
}

// DeletePolicy removes a policy.
func (s *Service) DeletePolicy(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := tx.Delete(kindPolicy, id); errors.Is(err, store.ErrNotFound) {
			return notFound("policy", id)
		} else {
			return err
		}
	})
}
