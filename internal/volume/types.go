package volume

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

func typeVisible(c *policy.Credentials, t *Type) bool {
	return t.IsPublic || c.IsAdmin() || slices.Contains(t.Projects, c.ProjectID)
}

func getType(tx store.ReadTx, c *policy.Credentials, id string) (*Type, error) {
	t, err := store.Get[Type](tx, KindType, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "Volume type %s could not be found.", id)
	}
	if err != nil {
		return nil, err
	}
	if c != nil && !typeVisible(c, t) {
		return nil, fault.New(fault.NotFound, "Volume type %s could not be found.", id)
	}
	return t, nil
}

// findType resolves a type by ID or name ("" = the default type).
func findType(tx store.ReadTx, c *policy.Credentials, ref string) (*Type, error) {
	if ref == "" {
		ref = DefaultTypeName
	}
	if t, err := getType(tx, c, ref); err == nil {
		return t, nil
	}
	id, err := tx.Lookup(KindType, typeKey(ref))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "Volume type with name %s could not be found.", ref)
	}
	if err != nil {
		return nil, err
	}
	return getType(tx, c, id)
}

// CreateType adds a volume type (admin).
func (s *Service) CreateType(ctx context.Context, t Type) (*Type, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || len(t.Name) > 255 {
		return nil, badRequest("Invalid input received: Volume type name can not be empty.")
	}
	if err := checkSpecs(t.ExtraSpecs); err != nil {
		return nil, err
	}
	t.ID = newID()
	if t.ExtraSpecs == nil {
		t.ExtraSpecs = map[string]string{}
	}
	err := s.st.Write(ctx, func(tx store.Tx) error {
		err := tx.Create(store.Record{Kind: KindType, ID: t.ID, Unique: []string{typeKey(t.Name)}, Value: t})
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "Volume Type %s already exists.", t.Name)
		}
		return err
	})
	return &t, err
}

func checkSpecs(specs map[string]string) error {
	for k, v := range specs {
		if k == "" || len(k) > 255 || len(v) > 255 {
			return badRequest("Invalid input received: extra spec key or value is empty or longer than 255 characters.")
		}
	}
	return nil
}

// GetType returns a type the caller may see, by ID (or name).
func (s *Service) GetType(ctx context.Context, ref string) (*Type, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var t *Type
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		if ref == "default" {
			ref = ""
		}
		t, err = findType(tx, c, ref)
		return err
	})
	return t, err
}

// ListTypes returns the types the caller may see; isPublic filters for
// admins ("" = public only for everyone but admins asking for "None").
func (s *Service) ListTypes(ctx context.Context, isPublic *bool) ([]Type, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []Type
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[Type](tx, KindType, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, t := range all {
			switch {
			case isPublic != nil && c.IsAdmin() && t.IsPublic != *isPublic:
			case !typeVisible(c, &t):
			case isPublic == nil && !c.IsAdmin() && !t.IsPublic && !slices.Contains(t.Projects, c.ProjectID):
			default:
				out = append(out, t)
			}
		}
		return nil
	})
	return out, err
}

// UpdateType changes a type's name, description or visibility (admin).
func (s *Service) UpdateType(ctx context.Context, id string, name, description *string, isPublic *bool) (*Type, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var t *Type
	err := s.st.Write(ctx, func(tx store.Tx) (err error) {
		if t, err = getType(tx, nil, id); err != nil {
			return err
		}
		if name != nil {
			n := strings.TrimSpace(*name)
			if n == "" {
				return badRequest("Invalid input received: Volume type name can not be empty.")
			}
			if t.Name == DefaultTypeName && n != t.Name {
				return badRequest("Invalid input received: The default volume type cannot be renamed.")
			}
			t.Name = n
		}
		if description != nil {
			t.Description = *description
		}
		if isPublic != nil {
			t.IsPublic = *isPublic
		}
		err = tx.Update(store.Record{Kind: KindType, ID: t.ID, Unique: []string{typeKey(t.Name)}, Value: t})
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "Volume Type %s already exists.", t.Name)
		}
		return err
	})
	return t, err
}

// DeleteType removes a type no volume uses (admin); the default type stays.
func (s *Service) DeleteType(ctx context.Context, id string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		t, err := getType(tx, nil, id)
		if err != nil {
			return err
		}
		if t.Name == DefaultTypeName {
			return badRequest("Invalid volume type: Default volume type can not be deleted.")
		}
		vols, err := store.List[Volume](tx, KindVolume, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, v := range vols {
			if v.TypeID == id {
				return badRequest("Target volume type is still in use.")
			}
		}
		return tx.Delete(KindType, id)
	})
}

// SetExtraSpecs merges specs into a type's extra specs (admin).
func (s *Service) SetExtraSpecs(ctx context.Context, id string, specs map[string]string) (map[string]string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if err := checkSpecs(specs); err != nil {
		return nil, err
	}
	var out map[string]string
	err := s.st.Write(ctx, func(tx store.Tx) error {
		t, err := getType(tx, nil, id)
		if err != nil {
			return err
		}
		if t.ExtraSpecs == nil {
			t.ExtraSpecs = map[string]string{}
		}
		maps.Copy(t.ExtraSpecs, specs)
		out = t.ExtraSpecs
		return tx.Update(store.Record{Kind: KindType, ID: t.ID, Unique: []string{typeKey(t.Name)}, Value: t})
	})
	return out, err
}

// DeleteExtraSpec removes one extra spec (admin); 404 if absent.
func (s *Service) DeleteExtraSpec(ctx context.Context, id, key string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		t, err := getType(tx, nil, id)
		if err != nil {
			return err
		}
		if _, ok := t.ExtraSpecs[key]; !ok {
			return fault.New(fault.NotFound, "Volume Type %s has no extra specs with key %s.", id, key)
		}
		delete(t.ExtraSpecs, key)
		return tx.Update(store.Record{Kind: KindType, ID: t.ID, Unique: []string{typeKey(t.Name)}, Value: t})
	})
}

// TypeAccess lists the projects of a private type (admin); 404 for a
// public one, as Cinder.
func (s *Service) TypeAccess(ctx context.Context, id string) ([]string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out []string
	err := s.st.Read(ctx, func(tx store.ReadTx) error {
		t, err := getType(tx, nil, id)
		if err != nil {
			return err
		}
		if t.IsPublic {
			return fault.New(fault.NotFound, "Access list not available for public volume types.")
		}
		out = t.Projects
		return nil
	})
	return out, err
}

// SetTypeAccess adds (add) or removes a project's access to a private
// type (admin).
func (s *Service) SetTypeAccess(ctx context.Context, id, project string, add bool) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if project == "" {
		return badRequest("Missing required element 'project' in request body.")
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		t, err := getType(tx, nil, id)
		if err != nil {
			return err
		}
		if t.IsPublic {
			return badRequest("Invalid volume type: Type access modification is not applicable to public volume type.")
		}
		has := slices.Contains(t.Projects, project)
		switch {
		case add && has:
			return fault.New(fault.Conflict, "Volume type access for %s / %s combination already exists.", id, project)
		case !add && !has:
			return fault.New(fault.NotFound, "Volume type access not found for %s / %s combination.", id, project)
		case add:
			t.Projects = append(t.Projects, project)
		default:
			t.Projects = slices.DeleteFunc(t.Projects, func(p string) bool { return p == project })
		}
		return tx.Update(store.Record{Kind: KindType, ID: t.ID, Unique: []string{typeKey(t.Name)}, Value: t})
	})
}
