package identity

import (
	"context"
	"errors"
	"slices"

	"github.com/nubo-cloud/nubo/internal/store"
)

func actorRef(actorType, actorID string) string { return actorType + ":" + actorID }

func checkAssignmentParts(tx store.ReadTx, a Assignment) error {
	switch a.ActorType {
	case ActorUser:
		if _, err := get[User](tx, kindUser, "user", a.ActorID); err != nil {
			return err
		}
	case ActorGroup:
		if _, err := get[Group](tx, kindGroup, "group", a.ActorID); err != nil {
			return err
		}
	}
	switch a.TargetType {
	case TargetProject:
		if _, err := get[Project](tx, kindProject, "project", a.TargetID); err != nil {
			return err
		}
	case TargetDomain:
		if _, err := get[Domain](tx, kindDomain, "domain", a.TargetID); err != nil {
			return err
		}
	}
	_, err := get[Role](tx, kindRole, "role", a.RoleID)
	return err
}

// Grant creates a role assignment (idempotent).
func (s *Service) Grant(ctx context.Context, a Assignment) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := checkAssignmentParts(tx, a); err != nil {
			return err
		}
		err := tx.Create(store.Record{Kind: kindAssignment, ID: a.key(), Ref: actorRef(a.ActorType, a.ActorID), Value: a})
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	})
}

// CheckGrant returns a NotFound fault unless the assignment exists.
func (s *Service) CheckGrant(ctx context.Context, a Assignment) error {
	if err := requireReader(ctx); err != nil {
		return err
	}
	return s.read(ctx, func(tx store.ReadTx) error {
		if err := checkAssignmentParts(tx, a); err != nil {
			return err
		}
		if _, err := tx.Get(kindAssignment, a.key()); errors.Is(err, store.ErrNotFound) {
			return notFound("role assignment", a.RoleID)
		} else {
			return err
		}
	})
}

// Revoke deletes a role assignment.
func (s *Service) Revoke(ctx context.Context, a Assignment) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := checkAssignmentParts(tx, a); err != nil {
			return err
		}
		if err := tx.Delete(kindAssignment, a.key()); errors.Is(err, store.ErrNotFound) {
			return notFound("role assignment", a.RoleID)
		} else {
			return err
		}
	})
}

// ListGrants returns the roles directly granted to an actor on a target.
func (s *Service) ListGrants(ctx context.Context, a Assignment) ([]Role, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Role
	err := s.read(ctx, func(tx store.ReadTx) error {
		a.RoleID = ""
		switch a.ActorType {
		case ActorUser:
			if _, err := get[User](tx, kindUser, "user", a.ActorID); err != nil {
				return err
			}
		case ActorGroup:
			if _, err := get[Group](tx, kindGroup, "group", a.ActorID); err != nil {
				return err
			}
		}
		switch a.TargetType {
		case TargetProject:
			if _, err := get[Project](tx, kindProject, "project", a.TargetID); err != nil {
				return err
			}
		case TargetDomain:
			if _, err := get[Domain](tx, kindDomain, "domain", a.TargetID); err != nil {
				return err
			}
		}
		all, err := store.List[Assignment](tx, kindAssignment, store.ListOptions{Ref: actorRef(a.ActorType, a.ActorID)})
		if err != nil {
			return err
		}
		for _, x := range all {
			if x.TargetType == a.TargetType && x.TargetID == a.TargetID && x.Inherited == a.Inherited {
				r, err := store.Get[Role](tx, kindRole, x.RoleID)
				if err != nil {
					return err
				}
				out = append(out, *r)
			}
		}
		return nil
	})
	return out, err
}

func deleteAssignmentsTo(tx store.Tx, targetType, targetID string) error {
	all, err := store.List[Assignment](tx, kindAssignment, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, a := range all {
		if a.TargetType == targetType && a.TargetID == targetID {
			if err := tx.Delete(kindAssignment, a.key()); err != nil {
				return err
			}
		}
	}
	return nil
}

// projectAncestors returns the parent chain of a project, nearest first
// (projects only; the domain is p.DomainID).
func projectAncestors(tx store.ReadTx, p *Project) ([]string, error) {
	var out []string
	for cur := p.ParentID; cur != p.DomainID && cur != ""; {
		out = append(out, cur)
		q, err := store.Get[Project](tx, kindProject, cur)
		if err != nil {
			return nil, err
		}
		cur = q.ParentID
	}
	return out, nil
}

// effectiveRoles returns the role IDs a user holds on a target, through
// groups, inheritance and implied roles.
func effectiveRoles(tx store.ReadTx, userID, targetType, targetID string) ([]string, error) {
	groups, err := userGroupIDs(tx, userID)
	if err != nil {
		return nil, err
	}
	refs := []string{actorRef(ActorUser, userID)}
	for _, g := range groups {
		refs = append(refs, actorRef(ActorGroup, g))
	}
	var inheritedFrom []string // targets whose inherited assignments apply
	var inheritedDomain string
	if targetType == TargetProject {
		p, err := store.Get[Project](tx, kindProject, targetID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, nil
			}
			return nil, err
		}
		if inheritedFrom, err = projectAncestors(tx, p); err != nil {
			return nil, err
		}
		inheritedDomain = p.DomainID
	}
	var ids []string
	for _, ref := range refs {
		as, err := store.List[Assignment](tx, kindAssignment, store.ListOptions{Ref: ref})
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			match := false
			switch {
			case !a.Inherited:
				match = a.TargetType == targetType && a.TargetID == targetID
			case a.TargetType == TargetDomain:
				match = a.TargetID == inheritedDomain
			case a.TargetType == TargetProject:
				match = slices.Contains(inheritedFrom, a.TargetID)
			}
			if match && !slices.Contains(ids, a.RoleID) {
				ids = append(ids, a.RoleID)
			}
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return expandImplied(tx, ids)
}

// AssignmentFilter selects role assignments to list (GET /v3/role_assignments).
type AssignmentFilter struct {
	UserID, GroupID, RoleID string
	ProjectID, DomainID     string
	System                  bool
	// InheritedOnly keeps only inherited assignments (scope.OS-INHERIT:inherited_to).
	InheritedOnly bool
	// Effective expands groups into their members, inherited assignments
	// into the projects they apply to, and implied roles.
	Effective bool
	// IncludeSubtree with ProjectID also lists assignments on its sub-projects.
	IncludeSubtree bool
}

// ListedAssignment is one row of a role-assignment listing.
type ListedAssignment struct {
	Assignment
	// ViaGroupID is set when an effective listing expanded a group grant.
	ViaGroupID string
	// Source is the assignment a row was derived from (for links).
	Source Assignment
	// PriorRoleID is set when the role was implied by another.
	PriorRoleID string
}

// ListAssignments returns role assignments matching f.
func (s *Service) ListAssignments(ctx context.Context, f AssignmentFilter) ([]ListedAssignment, error) {
	c := creds(ctx)
	if !c.IsReader() {
		// A user may list their own assignments.
		if c == nil || f.UserID != c.UserID || f.UserID == "" {
			return nil, forbidden()
		}
	}
	var out []ListedAssignment
	err := s.read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[Assignment](tx, kindAssignment, store.ListOptions{})
		if err != nil {
			return err
		}
		rows := make([]ListedAssignment, 0, len(all))
		for _, a := range all {
			rows = append(rows, ListedAssignment{Assignment: a, Source: a})
		}
		if f.Effective {
			if rows, err = s.expandAssignments(tx, rows); err != nil {
				return err
			}
		}
		var subtree []string
		if f.ProjectID != "" && f.IncludeSubtree {
			projects, err := store.List[Project](tx, kindProject, store.ListOptions{})
			if err != nil {
				return err
			}
			subtree = subtreeOf(projects, f.ProjectID)
		}
		for _, r := range rows {
			switch {
			case f.UserID != "" && !(r.ActorType == ActorUser && r.ActorID == f.UserID):
				continue
			case f.GroupID != "" && !(r.ActorType == ActorGroup && r.ActorID == f.GroupID):
				continue
			case f.RoleID != "" && r.RoleID != f.RoleID:
				continue
			case f.ProjectID != "" && !(r.TargetType == TargetProject && (r.TargetID == f.ProjectID || slices.Contains(subtree, r.TargetID))):
				continue
			case f.DomainID != "" && !(r.TargetType == TargetDomain && r.TargetID == f.DomainID):
				continue
			case f.System && r.TargetType != TargetSystem:
				continue
			case f.InheritedOnly && !r.Inherited:
				continue
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// subtreeOf returns the IDs of the projects below root.
func subtreeOf(projects []Project, root string) []string {
	var out []string
	frontier := []string{root}
	for len(frontier) > 0 {
		cur := frontier[0]
		frontier = frontier[1:]
		for _, p := range projects {
			if p.ParentID == cur && p.ID != cur {
				out = append(out, p.ID)
				frontier = append(frontier, p.ID)
			}
		}
	}
	return out
}

func (s *Service) expandAssignments(tx store.ReadTx, rows []ListedAssignment) ([]ListedAssignment, error) {
	projects, err := store.List[Project](tx, kindProject, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	members, err := store.List[membership](tx, kindMembership, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	roles, err := store.List[Role](tx, kindRole, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	domainRole := map[string]bool{}
	for _, ro := range roles {
		domainRole[ro.ID] = ro.DomainID != ""
	}
	var out []ListedAssignment
	for _, r := range rows {
		// Actors: a group becomes its members.
		actors := []ListedAssignment{r}
		if r.ActorType == ActorGroup {
			actors = actors[:0]
			for _, m := range members {
				if m.GroupID == r.ActorID {
					x := r
					x.ActorType, x.ActorID, x.ViaGroupID = ActorUser, m.UserID, r.ActorID
					actors = append(actors, x)
				}
			}
		}
		// Targets: an inherited grant becomes grants on the projects below.
		for _, a := range actors {
			targets := []ListedAssignment{a}
			if a.Inherited {
				targets = targets[:0]
				var ids []string
				if a.TargetType == TargetDomain {
					for _, p := range projects {
						if p.DomainID == a.TargetID {
							ids = append(ids, p.ID)
						}
					}
				} else {
					ids = subtreeOf(projects, a.TargetID)
				}
				for _, id := range ids {
					x := a
					x.TargetType, x.TargetID, x.Inherited = TargetProject, id, false
					targets = append(targets, x)
				}
			}
			// Roles: implied roles are added.
			for _, t := range targets {
				implied, err := expandImplied(tx, []string{t.RoleID})
				if err != nil {
					return nil, err
				}
				for _, id := range implied {
					if domainRole[id] {
						continue // domain-specific roles only carry what they imply
					}
					x := t
					if id != t.RoleID {
						x.RoleID, x.PriorRoleID = id, t.RoleID
					}
					out = append(out, x)
				}
			}
		}
	}
	return out, nil
}

// Names resolves the display names of assignment parts (include_names).
type Names struct {
	Roles    map[string]Role
	Users    map[string]User
	Groups   map[string]Group
	Projects map[string]Project
	Domains  map[string]Domain
}

// LookupNames loads every role, user, group, project and domain, for
// include_names listings.
func (s *Service) LookupNames(ctx context.Context) (*Names, error) {
	n := &Names{Roles: map[string]Role{}, Users: map[string]User{}, Groups: map[string]Group{}, Projects: map[string]Project{}, Domains: map[string]Domain{}}
	err := s.read(ctx, func(tx store.ReadTx) error {
		if err := loadInto(tx, kindRole, n.Roles, func(r Role) string { return r.ID }); err != nil {
			return err
		}
		if err := loadInto(tx, kindUser, n.Users, func(u User) string { return u.ID }); err != nil {
			return err
		}
		if err := loadInto(tx, kindGroup, n.Groups, func(g Group) string { return g.ID }); err != nil {
			return err
		}
		if err := loadInto(tx, kindProject, n.Projects, func(p Project) string { return p.ID }); err != nil {
			return err
		}
		return loadInto(tx, kindDomain, n.Domains, func(d Domain) string { return d.ID })
	})
	return n, err
}

func loadInto[T any](tx store.ReadTx, kind string, m map[string]T, id func(T) string) error {
	all, err := store.List[T](tx, kind, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, v := range all {
		m[id(v)] = v
	}
	return nil
}

// ListUserProjects returns the projects a user holds any role on.
func (s *Service) ListUserProjects(ctx context.Context, userID string) ([]Project, error) {
	c := creds(ctx)
	if !c.IsReader() && (c == nil || c.UserID != userID) {
		return nil, forbidden()
	}
	var out []Project
	err := s.read(ctx, func(tx store.ReadTx) error {
		if _, err := get[User](tx, kindUser, "user", userID); err != nil {
			return err
		}
		projects, err := store.List[Project](tx, kindProject, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, p := range projects {
			roles, err := effectiveRoles(tx, userID, TargetProject, p.ID)
			if err != nil {
				return err
			}
			if len(roles) > 0 {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

// ListUserDomains returns the domains a user holds any role on.
func (s *Service) ListUserDomains(ctx context.Context, userID string) ([]Domain, error) {
	var out []Domain
	err := s.read(ctx, func(tx store.ReadTx) error {
		domains, err := store.List[Domain](tx, kindDomain, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, d := range domains {
			roles, err := effectiveRoles(tx, userID, TargetDomain, d.ID)
			if err != nil {
				return err
			}
			if len(roles) > 0 {
				out = append(out, d)
			}
		}
		return nil
	})
	return out, err
}

// HasSystemRoles reports whether a user holds any role on the system.
func (s *Service) HasSystemRoles(ctx context.Context, userID string) (bool, error) {
	var ok bool
	err := s.read(ctx, func(tx store.ReadTx) error {
		roles, err := effectiveRoles(tx, userID, TargetSystem, SystemTarget)
		ok = len(roles) > 0
		return err
	})
	return ok, err
}
