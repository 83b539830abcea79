package identity

import (
	"context"
	"errors"

	"github.com/nubo-cloud/nubo/internal/store"
)

func putGroup(tx store.Tx, g *Group, create bool) error {
	r := store.Record{Kind: kindGroup, ID: g.ID, Ref: g.DomainID, Unique: []string{scopedKey(g.DomainID, g.Name)}, Value: g}
	var err error
	if create {
		err = tx.Create(r)
	} else {
		err = tx.Update(r)
	}
	if errors.Is(err, store.ErrConflict) {
		return conflict("group", "Duplicate entry found with name "+g.Name+" at domain ID "+g.DomainID)
	}
	return err
}

// CreateGroup adds a group.
func (s *Service) CreateGroup(ctx context.Context, g Group) (*Group, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	g.ID = hexID()
	if g.DomainID == "" {
		g.DomainID = s.callerDomain(ctx)
	}
	err := s.write(ctx, func(tx store.Tx) error {
		if err := requireDomain(tx, g.DomainID); err != nil {
			return err
		}
		return putGroup(tx, &g, true)
	})
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// GetGroup returns a group.
func (s *Service) GetGroup(ctx context.Context, id string) (*Group, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var g *Group
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		g, err = get[Group](tx, kindGroup, "group", id)
		return err
	})
	return g, err
}

// ListGroups returns every group, or a domain's.
func (s *Service) ListGroups(ctx context.Context, domainID string) ([]Group, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Group
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Group](tx, kindGroup, store.ListOptions{Ref: domainID})
		return err
	})
	return out, err
}

// UpdateGroup applies mutate to a group.
func (s *Service) UpdateGroup(ctx context.Context, id string, mutate func(*Group) error) (*Group, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var g *Group
	err := s.write(ctx, func(tx store.Tx) (err error) {
		g, err = get[Group](tx, kindGroup, "group", id)
		if err != nil {
			return err
		}
		old := *g
		if err := mutate(g); err != nil {
			return err
		}
		g.ID = id
		if g.DomainID != old.DomainID {
			return badRequest("Update of `domain_id` is not allowed.")
		}
		return putGroup(tx, g, false)
	})
	return g, err
}

// DeleteGroup removes a group with its memberships and assignments.
func (s *Service) DeleteGroup(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if _, err := get[Group](tx, kindGroup, "group", id); err != nil {
			return err
		}
		return deleteGroupTx(tx, id)
	})
}

func deleteGroupTx(tx store.Tx, id string) error {
	members, err := store.List[membership](tx, kindMembership, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.GroupID == id {
			if err := tx.Delete(kindMembership, m.GroupID+"/"+m.UserID); err != nil {
				return err
			}
		}
	}
	if err := deleteAll(tx, kindAssignment, ActorGroup+":"+id); err != nil {
		return err
	}
	return tx.Delete(kindGroup, id)
}

func checkUserAndGroup(tx store.ReadTx, groupID, userID string) error {
	if _, err := get[Group](tx, kindGroup, "group", groupID); err != nil {
		return err
	}
	_, err := get[User](tx, kindUser, "user", userID)
	return err
}

// AddUserToGroup makes a user a member of a group (idempotent).
func (s *Service) AddUserToGroup(ctx context.Context, groupID, userID string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := checkUserAndGroup(tx, groupID, userID); err != nil {
			return err
		}
		err := tx.Create(store.Record{Kind: kindMembership, ID: groupID + "/" + userID, Ref: userID, Value: membership{GroupID: groupID, UserID: userID}})
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	})
}

// CheckUserInGroup returns a NotFound fault unless the user is a member.
func (s *Service) CheckUserInGroup(ctx context.Context, groupID, userID string) error {
	if err := requireReader(ctx); err != nil {
		return err
	}
	return s.read(ctx, func(tx store.ReadTx) error {
		if err := checkUserAndGroup(tx, groupID, userID); err != nil {
			return err
		}
		if _, err := tx.Get(kindMembership, groupID+"/"+userID); errors.Is(err, store.ErrNotFound) {
			return notFoundMember(userID, groupID)
		} else {
			return err
		}
	})
}

func notFoundMember(userID, groupID string) error {
	return notFound("user", userID+" in group "+groupID)
}

// RemoveUserFromGroup ends a membership.
func (s *Service) RemoveUserFromGroup(ctx context.Context, groupID, userID string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := checkUserAndGroup(tx, groupID, userID); err != nil {
			return err
		}
		if err := tx.Delete(kindMembership, groupID+"/"+userID); errors.Is(err, store.ErrNotFound) {
			return notFoundMember(userID, groupID)
		} else {
			return err
		}
	})
}

// ListGroupUsers returns the members of a group.
func (s *Service) ListGroupUsers(ctx context.Context, groupID string) ([]User, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []User
	err := s.read(ctx, func(tx store.ReadTx) error {
		if _, err := get[Group](tx, kindGroup, "group", groupID); err != nil {
			return err
		}
		members, err := store.List[membership](tx, kindMembership, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, m := range members {
			if m.GroupID != groupID {
				continue
			}
			u, err := store.Get[User](tx, kindUser, m.UserID)
			if err != nil {
				return err
			}
			out = append(out, *u)
		}
		return nil
	})
	return out, err
}

func userGroupIDs(tx store.ReadTx, userID string) ([]string, error) {
	ms, err := store.List[membership](tx, kindMembership, store.ListOptions{Ref: userID})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.GroupID
	}
	return ids, nil
}

// ListUserGroups returns the groups a user belongs to (admin, or the user).
func (s *Service) ListUserGroups(ctx context.Context, userID string) ([]Group, error) {
	c := creds(ctx)
	if !c.IsReader() && c.UserID != userID {
		return nil, forbidden()
	}
	var out []Group
	err := s.read(ctx, func(tx store.ReadTx) error {
		if _, err := get[User](tx, kindUser, "user", userID); err != nil {
			return err
		}
		ids, err := userGroupIDs(tx, userID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			g, err := store.Get[Group](tx, kindGroup, id)
			if err != nil {
				return err
			}
			out = append(out, *g)
		}
		return nil
	})
	return out, err
}
