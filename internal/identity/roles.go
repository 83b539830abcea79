package identity

import (
	"context"
	"errors"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// prohibitedImplied are roles no other role may imply (Keystone's default).
var prohibitedImplied = []string{"admin"}

func putRole(tx store.Tx, r *Role, create bool) error {
	rec := store.Record{Kind: kindRole, ID: r.ID, Ref: r.DomainID, Unique: []string{scopedKey(r.DomainID, strings.ToLower(r.Name))}, Value: r}
	var err error
	if create {
		err = tx.Create(rec)
	} else {
		err = tx.Update(rec)
	}
	if errors.Is(err, store.ErrConflict) {
		return conflict("role", "Duplicate entry found with name "+r.Name)
	}
	return err
}

// CreateRole adds a role.
func (s *Service) CreateRole(ctx context.Context, r Role) (*Role, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if r.ID == "" {
		r.ID = hexID()
	}
	if r.Options == nil {
		r.Options = map[string]any{}
	}
	err := s.write(ctx, func(tx store.Tx) error {
		if r.DomainID != "" {
			if err := requireDomain(tx, r.DomainID); err != nil {
				return err
			}
		}
		return putRole(tx, &r, true)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// GetRole returns a role.
func (s *Service) GetRole(ctx context.Context, id string) (*Role, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var r *Role
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		r, err = get[Role](tx, kindRole, "role", id)
		return err
	})
	return r, err
}

// ListRoles returns the global roles, or a domain's roles.
func (s *Service) ListRoles(ctx context.Context, domainID string) ([]Role, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Role
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Role](tx, kindRole, store.ListOptions{Ref: domainID})
		return err
	})
	return out, err
}

// UpdateRole applies mutate to a role.
func (s *Service) UpdateRole(ctx context.Context, id string, mutate func(*Role) error) (*Role, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var r *Role
	err := s.write(ctx, func(tx store.Tx) (err error) {
		r, err = get[Role](tx, kindRole, "role", id)
		if err != nil {
			return err
		}
		old := *r
		if err := mutate(r); err != nil {
			return err
		}
		r.ID = id
		if r.DomainID != old.DomainID {
			return badRequest("Update of `domain_id` is not allowed.")
		}
		return putRole(tx, r, false)
	})
	return r, err
}

// DeleteRole removes a role with its assignments and inference rules.
func (s *Service) DeleteRole(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if _, err := get[Role](tx, kindRole, "role", id); err != nil {
			return err
		}
		return deleteRoleTx(tx, id)
	})
}

func deleteRoleTx(tx store.Tx, id string) error {
	all, err := store.List[Assignment](tx, kindAssignment, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, a := range all {
		if a.RoleID == id {
			if err := tx.Delete(kindAssignment, a.key()); err != nil {
				return err
			}
		}
	}
	rules, err := store.List[ImpliedRole](tx, kindImplied, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, r := range rules {
		if r.PriorID == id || r.ImpliedID == id {
			if err := tx.Delete(kindImplied, r.PriorID+"/"+r.ImpliedID); err != nil {
				return err
			}
		}
	}
	return tx.Delete(kindRole, id)
}

// CreateImpliedRole records that prior implies implied.
func (s *Service) CreateImpliedRole(ctx context.Context, priorID, impliedID string) (*Role, *Role, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, nil, err
	}
	var prior, implied *Role
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if prior, err = get[Role](tx, kindRole, "role", priorID); err != nil {
			return err
		}
		if implied, err = get[Role](tx, kindRole, "role", impliedID); err != nil {
			return err
		}
		for _, name := range prohibitedImplied {
			if strings.EqualFold(implied.Name, name) {
				return fault.New(fault.Forbidden, "%s is not permitted to be an implied role.", implied.Name)
			}
		}
		if prior.DomainID == "" && implied.DomainID != "" {
			return fault.New(fault.Forbidden, "%s is a domain-specific role and cannot be implied by the global role %s.", implied.ID, prior.ID)
		}
		err = tx.Create(store.Record{Kind: kindImplied, ID: priorID + "/" + impliedID, Ref: priorID, Value: ImpliedRole{PriorID: priorID, ImpliedID: impliedID}})
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	})
	return prior, implied, err
}

// GetImpliedRole returns the two roles of an existing inference rule.
func (s *Service) GetImpliedRole(ctx context.Context, priorID, impliedID string) (*Role, *Role, error) {
	if err := requireReader(ctx); err != nil {
		return nil, nil, err
	}
	var prior, implied *Role
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		if prior, err = get[Role](tx, kindRole, "role", priorID); err != nil {
			return err
		}
		if implied, err = get[Role](tx, kindRole, "role", impliedID); err != nil {
			return err
		}
		if _, err := tx.Get(kindImplied, priorID+"/"+impliedID); errors.Is(err, store.ErrNotFound) {
			return notFound("role inference rule", priorID+" implies "+impliedID)
		} else {
			return err
		}
	})
	return prior, implied, err
}

// DeleteImpliedRole removes an inference rule.
func (s *Service) DeleteImpliedRole(ctx context.Context, priorID, impliedID string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := tx.Delete(kindImplied, priorID+"/"+impliedID); errors.Is(err, store.ErrNotFound) {
			return notFound("role inference rule", priorID+" implies "+impliedID)
		} else {
			return err
		}
	})
}

// RoleInference is a prior role and the roles it implies.
type RoleInference struct {
	Prior   Role
	Implies []Role
}

// ListImpliedRoles returns the inference rules, of one prior role when
// priorID is not empty.
func (s *Service) ListImpliedRoles(ctx context.Context, priorID string) ([]RoleInference, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []RoleInference
	err := s.read(ctx, func(tx store.ReadTx) error {
		if priorID != "" {
			if _, err := get[Role](tx, kindRole, "role", priorID); err != nil {
				return err
			}
		}
		rules, err := store.List[ImpliedRole](tx, kindImplied, store.ListOptions{Ref: priorID})
		if err != nil {
			return err
		}
		idx := map[string]int{}
		for _, r := range rules {
			i, ok := idx[r.PriorID]
			if !ok {
				p, err := store.Get[Role](tx, kindRole, r.PriorID)
				if err != nil {
					return err
				}
				out = append(out, RoleInference{Prior: *p})
				i = len(out) - 1
				idx[r.PriorID] = i
			}
			im, err := store.Get[Role](tx, kindRole, r.ImpliedID)
			if err != nil {
				return err
			}
			out[i].Implies = append(out[i].Implies, *im)
		}
		if priorID != "" && len(out) == 0 {
			p, err := get[Role](tx, kindRole, "role", priorID)
			if err != nil {
				return err
			}
			out = append(out, RoleInference{Prior: *p, Implies: []Role{}})
		}
		return nil
	})
	return out, err
}

// expandImplied returns roleIDs plus every role they imply, transitively.
func expandImplied(tx store.ReadTx, roleIDs []string) ([]string, error) {
	rules, err := store.List[ImpliedRole](tx, kindImplied, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []string{}
	queue := append([]string(nil), roleIDs...)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		for _, r := range rules {
			if r.PriorID == id && !seen[r.ImpliedID] {
				queue = append(queue, r.ImpliedID)
			}
		}
	}
	return out, nil
}
