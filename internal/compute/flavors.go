package compute

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/nubo-cloud/nubo/internal/store"
)

// Flavor IDs: no leading or trailing space (Nova's flavor id format).
var flavorIDRe = regexp.MustCompile(`^[a-zA-Z0-9. _-]+$`)

// Extra spec keys (Nova's schema).
var extraSpecKeyRe = regexp.MustCompile(`^[a-zA-Z0-9-_:. ]{1,255}$`)

const maxDBInt = 2147483647

func flavorNotFound(id string) error { return notFound("Flavor %s could not be found.", id) }

func validateFlavor(f *Flavor) error {
	f.Name = strings.TrimSpace(f.Name)
	switch {
	case f.Name == "" || len(f.Name) > 255:
		return badRequest("Invalid input for field/attribute name. Value: %s. name must be 1 to 255 non-blank characters.", f.Name)
	case f.ID != "" && (len(f.ID) > 255 || !flavorIDRe.MatchString(f.ID) || strings.TrimSpace(f.ID) != f.ID):
		return badRequest("Invalid input for field/attribute id. Value: %s. id may contain letters, digits, '.', '_', '-' and inner spaces.", f.ID)
	case f.RAM < 1 || f.RAM > maxDBInt:
		return badRequest("Invalid input for field/attribute ram. Value: %d. ram must be between 1 and %d.", f.RAM, maxDBInt)
	case f.VCPUs < 1 || f.VCPUs > maxDBInt:
		return badRequest("Invalid input for field/attribute vcpus. Value: %d. vcpus must be between 1 and %d.", f.VCPUs, maxDBInt)
	case f.Disk < 0 || f.Disk > maxDBInt:
		return badRequest("Invalid input for field/attribute disk. Value: %d. disk must be between 0 and %d.", f.Disk, maxDBInt)
	case f.Swap < 0 || f.Swap > maxDBInt:
		return badRequest("Invalid input for field/attribute swap. Value: %d. swap must be between 0 and %d.", f.Swap, maxDBInt)
	case f.Ephemeral < 0 || f.Ephemeral > maxDBInt:
		return badRequest("Invalid input for field/attribute OS-FLV-EXT-DATA:ephemeral. Value: %d. ephemeral must be between 0 and %d.", f.Ephemeral, maxDBInt)
	case f.RxtxFactor <= 0 || f.RxtxFactor > 3.40282e38:
		return badRequest("Invalid input for field/attribute rxtx_factor. Value: %g. rxtx_factor must be positive.", f.RxtxFactor)
	case f.Description != nil && len(*f.Description) > 65535:
		return badRequest("Invalid input for field/attribute description: longer than 65535 characters.")
	}
	return nil
}

// CreateFlavor adds a flavor (admin); an empty ID gets a UUID.
func (s *Service) CreateFlavor(ctx context.Context, f Flavor) (*Flavor, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if f.RxtxFactor == 0 {
		f.RxtxFactor = 1
	}
	if err := validateFlavor(&f); err != nil {
		return nil, err
	}
	if f.ID == "" {
		f.ID = newID()
	}
	f.CreatedAt = s.now()
	err := s.write(ctx, func(tx store.Tx) error { return createFlavor(tx, &f) })
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func createFlavor(tx store.Tx, f *Flavor) error {
	if _, err := tx.Lookup(KindFlavor, "name:"+f.Name); err == nil {
		return conflict("Flavor with name %s already exists.", f.Name)
	}
	n, err := nextSeq(tx, "flavor")
	if err != nil {
		return err
	}
	f.Seq = n
	err = tx.Create(store.Record{Kind: KindFlavor, ID: f.ID, Unique: []string{"name:" + f.Name}, Value: f})
	if errors.Is(err, store.ErrConflict) {
		return conflict("Flavor with ID %s already exists.", f.ID)
	}
	return err
}

// canSee reports whether the caller may see flavor f.
func canSee(ctx context.Context, f *Flavor) bool {
	c := creds(ctx)
	return f.IsPublic || c.IsAdmin() || (c != nil && slices.Contains(f.Projects, c.ProjectID))
}

// GetFlavor returns a flavor the caller may see.
func (s *Service) GetFlavor(ctx context.Context, id string) (*Flavor, error) {
	var f *Flavor
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		f, err = get[Flavor](tx, KindFlavor, id, "Flavor "+id+" could not be found.")
		return err
	})
	if err != nil {
		return nil, err
	}
	if !canSee(ctx, f) {
		return nil, flavorNotFound(id)
	}
	return f, nil
}

// FlavorFilter narrows ListFlavors.
type FlavorFilter struct {
	// IsPublic: nil lists every flavor (admins only), true public ones plus
	// those shared with the caller's project, false private ones only.
	IsPublic *bool
	MinRAM   int64
	MinDisk  int64
	// SortKey is a flavor field name (default "flavorid"); SortDir "asc" or "desc".
	SortKey, SortDir string
}

// ListFlavors returns the flavors the caller may see, sorted.
func (s *Service) ListFlavors(ctx context.Context, flt FlavorFilter) ([]Flavor, error) {
	c := creds(ctx)
	pub := true
	if c.IsAdmin() {
		if flt.IsPublic == nil {
			pub = false
		}
	} else {
		flt.IsPublic = &pub
	}
	var all []Flavor
	if err := s.read(ctx, func(tx store.ReadTx) (err error) {
		all, err = store.List[Flavor](tx, KindFlavor, store.ListOptions{})
		return err
	}); err != nil {
		return nil, err
	}
	var out []Flavor
	for _, f := range all {
		switch {
		case f.RAM < flt.MinRAM || f.Disk < flt.MinDisk:
			continue
		case !c.IsAdmin() && f.Disabled:
			continue
		case flt.IsPublic != nil && *flt.IsPublic:
			if !f.IsPublic && !(c != nil && slices.Contains(f.Projects, c.ProjectID)) {
				continue
			}
		case flt.IsPublic != nil && !*flt.IsPublic:
			if f.IsPublic {
				continue
			}
		}
		out = append(out, f)
	}
	if err := sortFlavors(out, flt.SortKey, flt.SortDir); err != nil {
		return nil, err
	}
	return out, nil
}

func sortFlavors(fs []Flavor, key, dir string) error {
	less := map[string]func(a, b *Flavor) int{
		"flavorid":     func(a, b *Flavor) int { return strings.Compare(a.ID, b.ID) },
		"id":           func(a, b *Flavor) int { return cmpInt(a.Seq, b.Seq) },
		"name":         func(a, b *Flavor) int { return strings.Compare(a.Name, b.Name) },
		"memory_mb":    func(a, b *Flavor) int { return cmpInt(a.RAM, b.RAM) },
		"vcpus":        func(a, b *Flavor) int { return cmpInt(a.VCPUs, b.VCPUs) },
		"root_gb":      func(a, b *Flavor) int { return cmpInt(a.Disk, b.Disk) },
		"ephemeral_gb": func(a, b *Flavor) int { return cmpInt(a.Ephemeral, b.Ephemeral) },
		"swap":         func(a, b *Flavor) int { return cmpInt(a.Swap, b.Swap) },
		"created_at":   func(a, b *Flavor) int { return a.CreatedAt.Compare(b.CreatedAt) },
		"is_public":    func(a, b *Flavor) int { return cmpBool(a.IsPublic, b.IsPublic) },
		"disabled":     func(a, b *Flavor) int { return cmpBool(a.Disabled, b.Disabled) },
		"rxtx_factor":  func(a, b *Flavor) int { return cmpFloat(a.RxtxFactor, b.RxtxFactor) },
		"description":  func(a, b *Flavor) int { return strings.Compare(deref(a.Description), deref(b.Description)) },
	}
	if key == "" {
		key = "flavorid"
	}
	cmp, ok := less[key]
	if !ok {
		return badRequest("Invalid sort_key %s.", key)
	}
	switch dir {
	case "", "asc":
	case "desc":
		inner := cmp
		cmp = func(a, b *Flavor) int { return -inner(a, b) }
	default:
		return badRequest("Invalid sort_dir %s.", dir)
	}
	sort.SliceStable(fs, func(i, j int) bool {
		if c := cmp(&fs[i], &fs[j]); c != 0 {
			return c < 0
		}
		return fs[i].ID < fs[j].ID
	})
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// UpdateFlavorDescription changes a flavor's description (admin, 2.55).
func (s *Service) UpdateFlavorDescription(ctx context.Context, id string, desc *string) (*Flavor, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if desc != nil && len(*desc) > 65535 {
		return nil, badRequest("Invalid input for field/attribute description: longer than 65535 characters.")
	}
	return s.mutateFlavor(ctx, id, func(f *Flavor) error { f.Description = desc; return nil })
}

func (s *Service) mutateFlavor(ctx context.Context, id string, fn func(*Flavor) error) (*Flavor, error) {
	var f *Flavor
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if f, err = get[Flavor](tx, KindFlavor, id, "Flavor "+id+" could not be found."); err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
		return tx.Update(store.Record{Kind: KindFlavor, ID: id, Unique: []string{"name:" + f.Name}, Value: f})
	})
	return f, err
}

// DeleteFlavor removes a flavor (admin). Servers keep their embedded copy.
func (s *Service) DeleteFlavor(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		err := tx.Delete(KindFlavor, id)
		if errors.Is(err, store.ErrNotFound) {
			return flavorNotFound(id)
		}
		return err
	})
}

// FlavorExtraSpecs returns a flavor's extra specs.
func (s *Service) FlavorExtraSpecs(ctx context.Context, id string) (map[string]string, error) {
	f, err := s.GetFlavor(ctx, id)
	if err != nil {
		return nil, err
	}
	if f.ExtraSpecs == nil {
		return map[string]string{}, nil
	}
	return f.ExtraSpecs, nil
}

// FlavorExtraSpec returns one extra spec.
func (s *Service) FlavorExtraSpec(ctx context.Context, id, key string) (string, error) {
	specs, err := s.FlavorExtraSpecs(ctx, id)
	if err != nil {
		return "", err
	}
	v, ok := specs[key]
	if !ok {
		return "", notFound("Flavor %s has no extra specs with key %s.", id, key)
	}
	return v, nil
}

// SetFlavorExtraSpecs merges specs into a flavor's extra specs (admin).
func (s *Service) SetFlavorExtraSpecs(ctx context.Context, id string, specs map[string]string) (map[string]string, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	for k, v := range specs {
		if !extraSpecKeyRe.MatchString(k) {
			return nil, badRequest("Invalid input for field/attribute extra_specs. Key '%s' must match ^[a-zA-Z0-9-_:. ]{1,255}$.", k)
		}
		if len(v) > 255 {
			return nil, badRequest("Invalid input for field/attribute extra_specs. Value of '%s' is longer than 255 characters.", k)
		}
	}
	f, err := s.mutateFlavor(ctx, id, func(f *Flavor) error {
		if f.ExtraSpecs == nil {
			f.ExtraSpecs = map[string]string{}
		}
		for k, v := range specs {
			f.ExtraSpecs[k] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f.ExtraSpecs, nil
}

// DeleteFlavorExtraSpec removes one extra spec (admin).
func (s *Service) DeleteFlavorExtraSpec(ctx context.Context, id, key string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	_, err := s.mutateFlavor(ctx, id, func(f *Flavor) error {
		if _, ok := f.ExtraSpecs[key]; !ok {
			return notFound("Flavor %s has no extra specs with key %s.", id, key)
		}
		delete(f.ExtraSpecs, key)
		return nil
	})
	return err
}

// FlavorAccess returns the projects a private flavor is shared with (admin).
func (s *Service) FlavorAccess(ctx context.Context, id string) ([]string, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	f, err := s.GetFlavor(ctx, id)
	if err != nil {
		return nil, err
	}
	if f.IsPublic {
		return nil, notFound("Access list not available for public flavors.")
	}
	return f.Projects, nil
}

// AddFlavorAccess shares a private flavor with a project (admin).
func (s *Service) AddFlavorAccess(ctx context.Context, id, project string) ([]string, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	f, err := s.mutateFlavor(ctx, id, func(f *Flavor) error {
		if f.IsPublic {
			return conflict("Can not add access to a public flavor.")
		}
		if slices.Contains(f.Projects, project) {
			return conflict("Flavor access already exists for flavor %s and project %s combination.", id, project)
		}
		f.Projects = append(f.Projects, project)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f.Projects, nil
}

// RemoveFlavorAccess stops sharing a private flavor with a project (admin).
func (s *Service) RemoveFlavorAccess(ctx context.Context, id, project string) ([]string, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	f, err := s.mutateFlavor(ctx, id, func(f *Flavor) error {
		i := slices.Index(f.Projects, project)
		if i < 0 {
			return notFound("Flavor access not found for %s / %s combination.", id, project)
		}
		f.Projects = slices.Delete(f.Projects, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f.Projects, nil
}
