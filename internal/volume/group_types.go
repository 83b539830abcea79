package volume

import (
	"context"
	"errors"
	"maps"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// KindGroupType is the record kind of group types.
const KindGroupType = "volume.group_type"

// GroupType is a group type: what kind of group (consistency, replication)
// a group is, by its specs.
type GroupType struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	IsPublic    bool              `json:"is_public"`
	GroupSpecs  map[string]string `json:"group_specs"`
}

func groupTypeRecord(t *GroupType) store.Record {
	return store.Record{Kind: KindGroupType, ID: t.ID, Unique: []string{"name:" + t.Name}, Value: t}
}

func getGroupType(tx store.ReadTx, ref string) (*GroupType, error) {
	t, err := store.Get[GroupType](tx, KindGroupType, ref)
	if errors.Is(err, store.ErrNotFound) {
		id, lerr := tx.Lookup(KindGroupType, "name:"+ref)
		if lerr == nil {
			return store.Get[GroupType](tx, KindGroupType, id)
		}
		return nil, fault.New(fault.NotFound, "Group type %s could not be found.", ref)
	}
	return t, err
}

// CreateGroupType adds a group type (admin).
func (s *Service) CreateGroupType(ctx context.Context, t GroupType) (*GroupType, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || len(t.Name) > 255 {
		return nil, badRequest("Invalid input received: Group type name can not be empty.")
	}
	if len(t.Description) > 255 {
		return nil, badRequest("Invalid input received: Group type description is longer than 255 characters.")
	}
	if err := checkSpecs(t.GroupSpecs); err != nil {
		return nil, err
	}
	t.ID = newID()
	t.GroupSpecs = maps.Clone(t.GroupSpecs)
	if t.GroupSpecs == nil {
		t.GroupSpecs = map[string]string{}
	}
	err := s.st.Write(ctx, func(tx store.Tx) error {
		err := tx.Create(groupTypeRecord(&t))
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "Group Type %s already exists.", t.Name)
		}
		return err
	})
	return &t, err
}

// GetGroupType returns a group type the caller may see, by ID or name.
func (s *Service) GetGroupType(ctx context.Context, ref string) (*GroupType, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var t *GroupType
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		t, err = getGroupType(tx, ref)
		if err == nil && !t.IsPublic && !c.IsAdmin() {
			return fault.New(fault.NotFound, "Group type %s could not be found.", ref)
		}
		return err
	})
	return t, err
}

// ListGroupTypes returns group types: public ones for everyone, all (or
// those matching isPublic) for admins.
func (s *Service) ListGroupTypes(ctx context.Context, isPublic *bool) ([]GroupType, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []GroupType
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[GroupType](tx, KindGroupType, store.ListOptions{})
		for _, t := range all {
			switch {
			case !c.IsAdmin() && !t.IsPublic:
			case c.IsAdmin() && isPublic != nil && t.IsPublic != *isPublic:
			default:
				out = append(out, t)
			}
		}
		return err
	})
	return out, err
}

// UpdateGroupType changes a group type's name, description or visibility (admin).
func (s *Service) UpdateGroupType(ctx context.Context, id string, name, description *string, isPublic *bool) (*GroupType, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var t *GroupType
	err := s.st.Write(ctx, func(tx store.Tx) (err error) {
		if t, err = getGroupType(tx, id); err != nil {
			return err
		}
		if name != nil {
			n := strings.TrimSpace(*name)
			if n == "" || len(n) > 255 {
				return badRequest("Invalid input received: Group type name can not be empty.")
			}
			t.Name = n
		}
		if description != nil {
			t.Description = *description
		}
		if isPublic != nil {
			t.IsPublic = *isPublic
		}
		err = tx.Update(groupTypeRecord(t))
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "Group Type %s already exists.", t.Name)
		}
		return err
	})
	return t, err
}

// DeleteGroupType removes a group type no group uses (admin).
func (s *Service) DeleteGroupType(ctx context.Context, id string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		t, err := getGroupType(tx, id)
		if err != nil {
			return err
		}
		groups, err := store.List[Group](tx, KindGroup, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g.GroupTypeID == t.ID {
				return badRequest("Invalid group type: Target group type %s is still in use.", t.ID)
			}
		}
		return tx.Delete(KindGroupType, t.ID)
	})
}

// SetGroupSpecs merges specs into a group type (admin).
func (s *Service) SetGroupSpecs(ctx context.Context, id string, specs map[string]string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if err := checkSpecs(specs); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		t, err := getGroupType(tx, id)
		if err != nil {
			return err
		}
		if t.GroupSpecs == nil {
			t.GroupSpecs = map[string]string{}
		}
		maps.Copy(t.GroupSpecs, specs)
		return tx.Update(groupTypeRecord(t))
	})
}

// DeleteGroupSpec removes one group spec (admin); 404 if absent.
func (s *Service) DeleteGroupSpec(ctx context.Context, id, key string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		t, err := getGroupType(tx, id)
		if err != nil {
			return err
		}
		if _, ok := t.GroupSpecs[key]; !ok {
			return fault.New(fault.NotFound, "Group Type %s has no specs with key %s.", t.ID, key)
		}
		delete(t.GroupSpecs, key)
		return tx.Update(groupTypeRecord(t))
	})
}
