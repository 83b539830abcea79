package image

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Metadata definitions (metadefs): a catalog of namespaces, each holding
// property definitions, objects (named groups of properties), tags and
// associations with resource types. Clients (Horizon, the CLI) read it to
// offer the properties one may set on images, flavors, volumes...
//
// Records: a namespace is keyed by a generated ID with its name as unique
// key, so it can be renamed; its content points at that ID (Ref) and holds
// a unique key "<namespace ID>/<name>" (lower-cased for tags, whose names
// are case-insensitive as in Glance).
const (
	kindMetadefNamespace    = "image.metadef_namespace"
	kindMetadefObject       = "image.metadef_object"
	kindMetadefProperty     = "image.metadef_property"
	kindMetadefTag          = "image.metadef_tag"
	kindMetadefResourceType = "image.metadef_resource_type"
	kindMetadefAssociation  = "image.metadef_resource_type_association"
)

// Namespace visibilities.
const (
	NamespacePublic  = "public"
	NamespacePrivate = "private"
)

// MetadefNameMax is the longest namespace, object, property or tag name.
const MetadefNameMax = 80

// SeededResourceTypes are the resource types Glance's database starts with;
// associating a namespace with any other name creates that resource type.
var SeededResourceTypes = []string{"OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor",
	"OS::Nova::Aggregate", "OS::Nova::Server"}

// seededAt is when the seeded resource types were "created".
var seededAt = time.Date(2014, 9, 1, 0, 0, 0, 0, time.UTC)

// Namespace is a metadata definition namespace.
type Namespace struct {
	ID          string    `json:"id"`
	Namespace   string    `json:"namespace"`
	DisplayName string    `json:"display_name,omitempty"`
	Description string    `json:"description,omitempty"`
	Visibility  string    `json:"visibility"`
	Protected   bool      `json:"protected"`
	Owner       string    `json:"owner,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// PropertyDef is a property definition: a JSON-schema fragment (title,
// type, enum, ...), without its name.
type PropertyDef map[string]any

// MetadefObject is a named group of property definitions.
type MetadefObject struct {
	ID          string                 `json:"id"`
	NamespaceID string                 `json:"namespace_id"`
	Name        string                 `json:"name"`
	Description string                 `json:"description,omitempty"`
	Required    []string               `json:"required,omitempty"`
	Properties  map[string]PropertyDef `json:"properties,omitempty"`
	CreatedAt   time.Time              `json:"created_at"`
	UpdatedAt   time.Time              `json:"updated_at"`
}

// MetadefProperty is a property definition of a namespace.
type MetadefProperty struct {
	ID          string      `json:"id"`
	NamespaceID string      `json:"namespace_id"`
	Name        string      `json:"name"`
	Schema      PropertyDef `json:"schema"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// MetadefTag is a tag definition of a namespace.
type MetadefTag struct {
	ID          string    `json:"id"`
	NamespaceID string    `json:"namespace_id"`
	Name        string    `json:"name"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ResourceType is a kind of resource namespaces apply to (OS::Glance::Image...).
type ResourceType struct {
	Name      string    `json:"name"`
	Protected bool      `json:"protected"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ResourceTypeAssociation applies a namespace to a resource type; Prefix
// is prepended to property names for that resource type (e.g. "hw_"), and
// PropertiesTarget says where they go (e.g. "image" or "scheduler_hints").
type ResourceTypeAssociation struct {
	NamespaceID      string    `json:"namespace_id"`
	Name             string    `json:"name"`
	Prefix           string    `json:"prefix,omitempty"`
	PropertiesTarget string    `json:"properties_target,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// NamespaceInput is the body of a namespace create or update. On update
// only the base attributes count; absent ones take their create defaults
// (visibility private, protected false, owner the caller's project).
type NamespaceInput struct {
	Namespace   string
	DisplayName string
	Description string
	Visibility  string
	Protected   bool
	Owner       string
	// Content created with the namespace.
	Associations []ResourceTypeAssociation
	Objects      []ObjectInput
	Properties   map[string]PropertyDef
	Tags         []string
}

// ObjectInput is the body of an object create or update.
type ObjectInput struct {
	Name        string
	Description string
	Required    []string
	Properties  map[string]PropertyDef
}

// NamespaceDetail is a namespace with its content.
type NamespaceDetail struct {
	Namespace
	Associations []ResourceTypeAssociation
	Objects      []MetadefObject
	Properties   []MetadefProperty
	Tags         []MetadefTag
}

// NamespaceListOptions narrows ListNamespaces.
type NamespaceListOptions struct {
	Visibility    string
	ResourceTypes []string
	Marker        string
	Limit         int
	SortKey       string
	SortDir       string
}

func nsNotFound(name string) error {
	return fault.New(fault.NotFound, "Metadata definition namespace=%s was not found.", name)
}

// notAuthorized is oslo.policy's refusal, as Glance words it.
func notAuthorized(action string) error {
	return fault.New(fault.Forbidden, "You are not authorized to complete %s action.", action)
}

// canSeeNamespace: admins and system readers see every namespace; others
// public ones, ownerless ones and their project's.
func canSeeNamespace(c *policy.Credentials, ns *Namespace) bool {
	return c.IsReader() || ns.Owner == "" || ns.Visibility == NamespacePublic ||
		(c.ProjectID != "" && c.ProjectID == ns.Owner)
}

// metadefAdmin is Glance's metadef_admin rule: every metadef write needs
// the admin role.
func metadefAdmin(c *policy.Credentials, action string) error {
	if !c.IsAdmin() {
		return notAuthorized(action)
	}
	return nil
}

func lookupNamespace(tx store.ReadTx, name string) (*Namespace, error) {
	id, err := tx.Lookup(kindMetadefNamespace, name)
	if err == nil {
		var ns *Namespace
		ns, err = store.Get[Namespace](tx, kindMetadefNamespace, id)
		if err == nil {
			return ns, nil
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nsNotFound(name)
	}
	return nil, err
}

// visibleNamespace reads a namespace the caller may see; 404 otherwise
// (Glance hides other projects' private namespaces).
func visibleNamespace(tx store.ReadTx, c *policy.Credentials, name string) (*Namespace, error) {
	ns, err := lookupNamespace(tx, name)
	if err != nil {
		return nil, err
	}
	if !canSeeNamespace(c, ns) {
		return nil, fault.New(fault.NotFound, "Namespace %s not found", name)
	}
	return ns, nil
}

// writableNamespace reads a namespace for a change needing action: 404 if
// the caller cannot see it, 403 if it may not change it.
func writableNamespace(tx store.ReadTx, c *policy.Credentials, name, action string) (*Namespace, error) {
	ns, err := visibleNamespace(tx, c, name)
	if err != nil {
		return nil, err
	}
	if err := metadefAdmin(c, action); err != nil {
		return nil, err
	}
	return ns, nil
}

func checkLen(what, v string, maxLen int) error {
	if len([]rune(v)) > maxLen {
		return badRequest("Invalid %s: '%s' is too long (at most %d characters).", what, v, maxLen)
	}
	return nil
}

func checkName(what, name string) error {
	if strings.TrimSpace(name) == "" {
		return badRequest("Invalid %s: the name must not be empty.", what)
	}
	return checkLen(what+" name", name, MetadefNameMax)
}

func (in *NamespaceInput) validate() error {
	if err := checkName("namespace", in.Namespace); err != nil {
		return err
	}
	if err := checkLen("display_name", in.DisplayName, 80); err != nil {
		return err
	}
	if err := checkLen("description", in.Description, 500); err != nil {
		return err
	}
	if err := checkLen("owner", in.Owner, 255); err != nil {
		return err
	}
	if in.Visibility == "" {
		in.Visibility = NamespacePrivate
	}
	if in.Visibility != NamespacePublic && in.Visibility != NamespacePrivate {
		return badRequest("Invalid visibility value: %s", in.Visibility)
	}
	return nil
}

// CreateNamespace creates a namespace and the content given with it, all
// or nothing (admin only).
func (s *Service) CreateNamespace(ctx context.Context, in NamespaceInput) (*NamespaceDetail, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if err := metadefAdmin(c, "add_metadef_namespace"); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	if in.Owner == "" {
		in.Owner = c.ProjectID
	}
	now := s.now()
	ns := &Namespace{ID: newID(), Namespace: in.Namespace, DisplayName: in.DisplayName, Description: in.Description,
		Visibility: in.Visibility, Protected: in.Protected, Owner: in.Owner, CreatedAt: now, UpdatedAt: now}
	out := &NamespaceDetail{Namespace: *ns}
	err = s.st.Write(ctx, func(tx store.Tx) error {
		err := tx.Create(namespaceRecord(ns))
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "The metadata definition namespace=%s already exists.", ns.Namespace)
		}
		if err != nil {
			return err
		}
		for _, a := range in.Associations {
			ra, err := s.addAssociation(tx, ns, a)
			if err != nil {
				return err
			}
			out.Associations = append(out.Associations, *ra)
		}
		for _, o := range in.Objects {
			obj, err := s.addObject(tx, ns, o)
			if err != nil {
				return err
			}
			out.Objects = append(out.Objects, *obj)
		}
		for _, name := range sortedKeys(in.Properties) {
			p, err := s.addProperty(tx, ns, name, in.Properties[name])
			if err != nil {
				return err
			}
			out.Properties = append(out.Properties, *p)
		}
		for _, name := range in.Tags {
			t, err := s.addTag(tx, ns, name)
			if err != nil {
				return err
			}
			out.Tags = append(out.Tags, *t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func namespaceRecord(ns *Namespace) store.Record {
	return store.Record{Kind: kindMetadefNamespace, ID: ns.ID, Ref: ns.Owner, Unique: []string{ns.Namespace}, Value: ns}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// GetNamespace returns a namespace and its content. With resourceType, the
// property names of the namespace and of its objects carry the prefix of
// the namespace's association with that resource type.
func (s *Service) GetNamespace(ctx context.Context, name, resourceType string) (*NamespaceDetail, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out *NamespaceDetail
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		ns, err := lookupNamespace(tx, name)
		if err != nil {
			return err
		}
		if !canSeeNamespace(c, ns) {
			return fault.New(fault.NotFound, "The resource could not be found.")
		}
		out, err = namespaceDetail(tx, ns)
		return err
	})
	if err != nil || resourceType == "" {
		return out, err
	}
	prefix := ""
	for _, a := range out.Associations {
		if a.Name == resourceType {
			prefix = a.Prefix
		}
	}
	if prefix != "" {
		for i := range out.Properties {
			out.Properties[i].Name = prefix + out.Properties[i].Name
		}
		for i := range out.Objects {
			o := &out.Objects[i]
			props := make(map[string]PropertyDef, len(o.Properties))
			for k, v := range o.Properties {
				props[prefix+k] = v
			}
			o.Properties = props
			for j := range o.Required {
				o.Required[j] = prefix + o.Required[j]
			}
		}
	}
	return out, nil
}

func namespaceDetail(tx store.ReadTx, ns *Namespace) (*NamespaceDetail, error) {
	d := &NamespaceDetail{Namespace: *ns}
	var err error
	ref := store.ListOptions{Ref: ns.ID}
	if d.Associations, err = store.List[ResourceTypeAssociation](tx, kindMetadefAssociation, ref); err != nil {
		return nil, err
	}
	if d.Objects, err = store.List[MetadefObject](tx, kindMetadefObject, ref); err != nil {
		return nil, err
	}
	if d.Properties, err = store.List[MetadefProperty](tx, kindMetadefProperty, ref); err != nil {
		return nil, err
	}
	if d.Tags, err = store.List[MetadefTag](tx, kindMetadefTag, ref); err != nil {
		return nil, err
	}
	sortByCreated(d.Objects, func(o MetadefObject) (time.Time, string) { return o.CreatedAt, o.Name })
	sortByCreated(d.Tags, func(t MetadefTag) (time.Time, string) { return t.CreatedAt, t.Name })
	sortByCreated(d.Associations, func(a ResourceTypeAssociation) (time.Time, string) { return a.CreatedAt, a.Name })
	slices.SortFunc(d.Properties, func(a, b MetadefProperty) int { return cmp.Compare(a.Name, b.Name) })
	return d, nil
}

// sortByCreated orders items oldest first, then by name.
func sortByCreated[T any](items []T, key func(T) (time.Time, string)) {
	slices.SortStableFunc(items, func(a, b T) int {
		ta, na := key(a)
		tb, nb := key(b)
		return cmp.Or(ta.Compare(tb), cmp.Compare(na, nb))
	})
}

// NamespaceSortKeys are the keys namespaces may be listed by.
var NamespaceSortKeys = []string{"created_at", "updated_at", "namespace", "display_name", "visibility", "owner"}

// ListNamespaces lists the namespaces the caller may see, each with its
// resource type associations, and reports whether a next page may follow.
func (s *Service) ListNamespaces(ctx context.Context, o NamespaceListOptions) ([]NamespaceDetail, bool, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, false, err
	}
	if o.Visibility != "" && o.Visibility != NamespacePublic && o.Visibility != NamespacePrivate {
		return nil, false, badRequest("Invalid visibility value: %s", o.Visibility)
	}
	o.SortKey = cmp.Or(o.SortKey, "created_at")
	o.SortDir = cmp.Or(o.SortDir, "desc")
	if !slices.Contains(NamespaceSortKeys, o.SortKey) {
		return nil, false, badRequest("Invalid sort key: %s", o.SortKey)
	}
	if o.SortDir != "asc" && o.SortDir != "desc" {
		return nil, false, badRequest("Invalid sort direction: %s", o.SortDir)
	}
	var out []NamespaceDetail
	more := false
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[Namespace](tx, kindMetadefNamespace, store.ListOptions{})
		if err != nil {
			return err
		}
		assocs, err := store.List[ResourceTypeAssociation](tx, kindMetadefAssociation, store.ListOptions{})
		if err != nil {
			return err
		}
		byNS := map[string][]ResourceTypeAssociation{}
		for _, a := range assocs {
			byNS[a.NamespaceID] = append(byNS[a.NamespaceID], a)
		}
		for _, ns := range all {
			if !canSeeNamespace(c, &ns) || (o.Visibility != "" && ns.Visibility != o.Visibility) {
				continue
			}
			as := byNS[ns.ID]
			if len(o.ResourceTypes) > 0 && !slices.ContainsFunc(as, func(a ResourceTypeAssociation) bool {
				return slices.Contains(o.ResourceTypes, a.Name)
			}) {
				continue
			}
			sortByCreated(as, func(a ResourceTypeAssociation) (time.Time, string) { return a.CreatedAt, a.Name })
			out = append(out, NamespaceDetail{Namespace: ns, Associations: as})
		}
		slices.SortStableFunc(out, func(a, b NamespaceDetail) int {
			r := cmp.Or(compareNamespaces(&a.Namespace, &b.Namespace, o.SortKey), cmp.Compare(a.ID, b.ID))
			if o.SortDir == "desc" {
				r = -r
			}
			return r
		})
		if o.Marker != "" {
			i := slices.IndexFunc(out, func(d NamespaceDetail) bool { return d.Namespace.Namespace == o.Marker })
			if i < 0 {
				return nsNotFound(o.Marker)
			}
			out = out[i+1:]
		}
		if o.Limit > 0 && len(out) >= o.Limit {
			more = true
			out = out[:o.Limit]
		}
		return nil
	})
	return out, more, err
}

func compareNamespaces(a, b *Namespace, key string) int {
	switch key {
	case "updated_at":
		return a.UpdatedAt.Compare(b.UpdatedAt)
	case "namespace":
		return cmp.Compare(a.Namespace, b.Namespace)
	case "display_name":
		return cmp.Compare(a.DisplayName, b.DisplayName)
	case "visibility":
		return cmp.Compare(a.Visibility, b.Visibility)
	case "owner":
		return cmp.Compare(a.Owner, b.Owner)
	}
	return a.CreatedAt.Compare(b.CreatedAt)
}

// UpdateNamespace replaces a namespace's base attributes (admin only); a
// new name taken by another namespace is 409. Protection does not prevent
// updates (that is how a namespace is unprotected).
func (s *Service) UpdateNamespace(ctx context.Context, name string, in NamespaceInput) (*Namespace, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	if in.Owner == "" {
		in.Owner = c.ProjectID
	}
	var ns *Namespace
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if ns, err = writableNamespace(tx, c, name, "modify_metadef_namespace"); err != nil {
			return err
		}
		ns.Namespace, ns.DisplayName, ns.Description = in.Namespace, in.DisplayName, in.Description
		ns.Visibility, ns.Protected, ns.Owner = in.Visibility, in.Protected, in.Owner
		ns.UpdatedAt = s.now()
		err = tx.Update(namespaceRecord(ns))
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "Invalid update. It would result in a duplicate metadata definition namespace with the same name of %s", in.Namespace)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return ns, nil
}

// DeleteNamespace deletes a namespace and everything in it (admin only);
// a protected namespace is 403.
func (s *Service) DeleteNamespace(ctx context.Context, name string) error {
	return s.deleteNamespaceContent(ctx, name, "delete_metadef_namespace", true,
		kindMetadefObject, kindMetadefProperty, kindMetadefTag, kindMetadefAssociation)
}

// DeleteNamespaceObjects deletes every object of a namespace.
func (s *Service) DeleteNamespaceObjects(ctx context.Context, name string) error {
	return s.deleteNamespaceContent(ctx, name, "delete_metadef_namespace", false, kindMetadefObject)
}

// DeleteNamespaceProperties deletes every property definition of a namespace.
func (s *Service) DeleteNamespaceProperties(ctx context.Context, name string) error {
	return s.deleteNamespaceContent(ctx, name, "delete_metadef_namespace", false, kindMetadefProperty)
}

// DeleteNamespaceTags deletes every tag of a namespace.
func (s *Service) DeleteNamespaceTags(ctx context.Context, name string) error {
	return s.deleteNamespaceContent(ctx, name, "delete_metadef_tags", false, kindMetadefTag)
}

func (s *Service) deleteNamespaceContent(ctx context.Context, name, action string, itself bool, kinds ...string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		ns, err := writableNamespace(tx, c, name, action)
		if err != nil {
			return err
		}
		if ns.Protected {
			return forbidden("Metadata definition namespace %s is protected and cannot be deleted.", ns.Namespace)
		}
		if err := deleteChildren(tx, ns.ID, kinds...); err != nil {
			return err
		}
		if itself {
			return tx.Delete(kindMetadefNamespace, ns.ID)
		}
		return nil
	})
}

func deleteChildren(tx store.Tx, nsID string, kinds ...string) error {
	for _, kind := range kinds {
		items, err := tx.List(kind, store.ListOptions{Ref: nsID})
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := tx.Delete(kind, it.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// ListResourceTypes lists the seeded resource types and those created by
// associations.
func (s *Service) ListResourceTypes(ctx context.Context) ([]ResourceType, error) {
	if _, err := creds(ctx); err != nil {
		return nil, err
	}
	out := make([]ResourceType, 0, len(SeededResourceTypes))
	for _, name := range SeededResourceTypes {
		out = append(out, ResourceType{Name: name, Protected: true, CreatedAt: seededAt, UpdatedAt: seededAt})
	}
	err := s.st.Read(ctx, func(tx store.ReadTx) error {
		created, err := store.List[ResourceType](tx, kindMetadefResourceType, store.ListOptions{})
		if err != nil {
			return err
		}
		sortByCreated(created, func(r ResourceType) (time.Time, string) { return r.CreatedAt, r.Name })
		out = append(out, created...)
		return nil
	})
	return out, err
}

// ListAssociations lists a namespace's resource type associations.
func (s *Service) ListAssociations(ctx context.Context, namespace string) ([]ResourceTypeAssociation, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []ResourceTypeAssociation
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		ns, err := visibleNamespace(tx, c, namespace)
		if err != nil {
			return err
		}
		out, err = store.List[ResourceTypeAssociation](tx, kindMetadefAssociation, store.ListOptions{Ref: ns.ID})
		sortByCreated(out, func(a ResourceTypeAssociation) (time.Time, string) { return a.CreatedAt, a.Name })
		return err
	})
	return out, err
}

// CreateAssociation associates a namespace with a resource type, creating
// the resource type if it is new (admin only).
func (s *Service) CreateAssociation(ctx context.Context, namespace string, a ResourceTypeAssociation) (*ResourceTypeAssociation, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out *ResourceTypeAssociation
	err = s.st.Write(ctx, func(tx store.Tx) error {
		ns, err := writableNamespace(tx, c, namespace, "add_metadef_resource_type_association")
		if err != nil {
			return err
		}
		out, err = s.addAssociation(tx, ns, a)
		return err
	})
	return out, err
}

func (s *Service) addAssociation(tx store.Tx, ns *Namespace, a ResourceTypeAssociation) (*ResourceTypeAssociation, error) {
	if err := checkName("resource type", a.Name); err != nil {
		return nil, err
	}
	if err := checkLen("prefix", a.Prefix, 80); err != nil {
		return nil, err
	}
	if err := checkLen("properties_target", a.PropertiesTarget, 80); err != nil {
		return nil, err
	}
	now := s.now()
	if !slices.Contains(SeededResourceTypes, a.Name) {
		rt := ResourceType{Name: a.Name, CreatedAt: now, UpdatedAt: now}
		err := tx.Create(store.Record{Kind: kindMetadefResourceType, ID: a.Name, Value: rt})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
	}
	a.NamespaceID, a.CreatedAt, a.UpdatedAt = ns.ID, now, now
	err := tx.Create(store.Record{Kind: kindMetadefAssociation, ID: ns.ID + "/" + a.Name, Ref: ns.ID, Value: a})
	if errors.Is(err, store.ErrConflict) {
		return nil, fault.New(fault.Conflict, "The metadata definition resource-type association of resource-type=%s to namespace=%s already exists.", a.Name, ns.Namespace)
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// DeleteAssociation dissociates a namespace from a resource type (admin
// only); 403 if the namespace is protected.
func (s *Service) DeleteAssociation(ctx context.Context, namespace, resourceType string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		ns, err := writableNamespace(tx, c, namespace, "remove_metadef_resource_type_association")
		if err != nil {
			return err
		}
		id := ns.ID + "/" + resourceType
		if _, err := tx.Get(kindMetadefAssociation, id); errors.Is(err, store.ErrNotFound) {
			return fault.New(fault.NotFound, "Failed to find resource type %s to delete", resourceType)
		} else if err != nil {
			return err
		}
		if ns.Protected {
			return forbidden("Metadata definition resource-type-association %s is protected and cannot be deleted.", resourceType)
		}
		return tx.Delete(kindMetadefAssociation, id)
	})
}
