package image

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// PropertyDefKeys are the attributes a property definition may have
// (Glance's PropertyType), besides its name.
var PropertyDefKeys = []string{"title", "description", "operators", "type", "required", "minimum", "maximum",
	"maxLength", "minLength", "pattern", "enum", "readonly", "default", "items", "maxItems", "minItems",
	"uniqueItems", "additionalItems"}

// PropertyTypes are the JSON types a property definition may declare.
var PropertyTypes = []string{"array", "boolean", "integer", "number", "object", "string"}

// ValidatePropertyDef checks a property definition: known attributes only,
// a string title and a JSON type (or null).
func ValidatePropertyDef(name string, def PropertyDef) error {
	for k := range def {
		if !slices.Contains(PropertyDefKeys, k) {
			return badRequest("Invalid property definition %s: additional properties are not allowed ('%s' was unexpected)", name, k)
		}
	}
	for _, k := range []string{"title", "type"} {
		if _, ok := def[k]; !ok {
			return badRequest("Invalid property definition %s: '%s' is a required property", name, k)
		}
	}
	if _, ok := def["title"].(string); !ok {
		return badRequest("Invalid property definition %s: title must be a string", name)
	}
	if t, ok := def["type"].(string); def["type"] != nil && (!ok || !slices.Contains(PropertyTypes, t)) {
		return badRequest("Invalid property definition %s: type %v is not one of %v", name, def["type"], PropertyTypes)
	}
	for _, k := range []string{"enum", "operators", "required"} {
		if v, ok := def[k]; ok && v != nil {
			if _, ok := v.([]any); !ok {
				return badRequest("Invalid property definition %s: %s must be an array", name, k)
			}
		}
	}
	return nil
}

func itemKey(nsID, name string) string { return nsID + "/" + name }

func tagKey(nsID, name string) string { return nsID + "/" + strings.ToLower(name) }

// readNamespaceItem reads the namespace and the item of kind called name.
func readNamespaceItem[T any](tx store.ReadTx, c *policy.Credentials, namespace, kind string, key func(nsID string) string,
	notFound func(ns string) error, action string) (*Namespace, *T, string, error) {
	var ns *Namespace
	var err error
	if action == "" {
		ns, err = visibleNamespace(tx, c, namespace)
	} else {
		ns, err = writableNamespace(tx, c, namespace, action)
	}
	if err != nil {
		return nil, nil, "", err
	}
	id, err := tx.Lookup(kind, key(ns.ID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, "", notFound(ns.Namespace)
	}
	if err != nil {
		return nil, nil, "", err
	}
	v, err := store.Get[T](tx, kind, id)
	if err != nil {
		return nil, nil, "", err
	}
	return ns, v, id, nil
}

// ---------------------------------------------------------------- objects

func objectNotFound(name string) func(string) error {
	return func(ns string) error {
		return fault.New(fault.NotFound, "The metadata definition object with name=%s was not found in namespace=%s.", name, ns)
	}
}

func (in *ObjectInput) validate() error {
	if err := checkName("object", in.Name); err != nil {
		return err
	}
	if err := checkLen("description", in.Description, 500); err != nil {
		return err
	}
	for name, def := range in.Properties {
		if err := ValidatePropertyDef(name, def); err != nil {
			return err
		}
	}
	return nil
}

func objectRecord(o *MetadefObject) store.Record {
	return store.Record{Kind: kindMetadefObject, ID: o.ID, Ref: o.NamespaceID, Unique: []string{itemKey(o.NamespaceID, o.Name)}, Value: o}
}

func (s *Service) addObject(tx store.Tx, ns *Namespace, in ObjectInput) (*MetadefObject, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	now := s.now()
	o := &MetadefObject{ID: newID(), NamespaceID: ns.ID, Name: in.Name, Description: in.Description,
		Required: in.Required, Properties: in.Properties, CreatedAt: now, UpdatedAt: now}
	err := tx.Create(objectRecord(o))
	if errors.Is(err, store.ErrConflict) {
		return nil, fault.New(fault.Conflict, "A metadata definition object with name=%s already exists in namespace=%s.", in.Name, ns.Namespace)
	}
	if err != nil {
		return nil, err
	}
	return o, nil
}

// CreateMetadefObject adds an object to a namespace (admin only).
func (s *Service) CreateMetadefObject(ctx context.Context, namespace string, in ObjectInput) (*MetadefObject, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out *MetadefObject
	err = s.st.Write(ctx, func(tx store.Tx) error {
		ns, err := writableNamespace(tx, c, namespace, "add_metadef_object")
		if err != nil {
			return err
		}
		out, err = s.addObject(tx, ns, in)
		return err
	})
	return out, err
}

// ListMetadefObjects lists a namespace's objects, newest first.
func (s *Service) ListMetadefObjects(ctx context.Context, namespace string) ([]MetadefObject, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []MetadefObject
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		ns, err := visibleNamespace(tx, c, namespace)
		if err != nil {
			return err
		}
		out, err = store.List[MetadefObject](tx, kindMetadefObject, store.ListOptions{Ref: ns.ID})
		sortByCreated(out, func(o MetadefObject) (time.Time, string) { return o.CreatedAt, o.Name })
		slices.Reverse(out)
		return err
	})
	return out, err
}

// GetMetadefObject returns one object of a namespace.
func (s *Service) GetMetadefObject(ctx context.Context, namespace, name string) (*MetadefObject, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out *MetadefObject
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		_, out, _, err = readNamespaceItem[MetadefObject](tx, c, namespace, kindMetadefObject,
			func(id string) string { return itemKey(id, name) }, objectNotFound(name), "")
		return err
	})
	return out, err
}

// UpdateMetadefObject replaces an object (admin only); renaming onto another
// object's name is 409.
func (s *Service) UpdateMetadefObject(ctx context.Context, namespace, name string, in ObjectInput) (*MetadefObject, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out *MetadefObject
	err = s.st.Write(ctx, func(tx store.Tx) error {
		ns, o, _, err := readNamespaceItem[MetadefObject](tx, c, namespace, kindMetadefObject,
			func(id string) string { return itemKey(id, name) }, objectNotFound(name), "modify_metadef_object")
		if err != nil {
			return err
		}
		o.Name, o.Description, o.Required, o.Properties = in.Name, in.Description, in.Required, in.Properties
		o.UpdatedAt = s.now()
		err = tx.Update(objectRecord(o))
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "Invalid update. It would result in a duplicate metadata definition object with the same name=%s in namespace=%s.", in.Name, ns.Namespace)
		}
		out = o
		return err
	})
	return out, err
}

// DeleteMetadefObject deletes an object (admin only); 403 if the namespace is protected.
func (s *Service) DeleteMetadefObject(ctx context.Context, namespace, name string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		ns, _, id, err := readNamespaceItem[MetadefObject](tx, c, namespace, kindMetadefObject,
			func(id string) string { return itemKey(id, name) }, objectNotFound(name), "delete_metadef_object")
		if err != nil {
			return err
		}
		if ns.Protected {
			return forbidden("Metadata definition object %s is protected and cannot be deleted.", name)
		}
		return tx.Delete(kindMetadefObject, id)
	})
}

// ---------------------------------------------------------------- properties

func propertyNotFound(name string) func(string) error {
	return func(ns string) error {
		return fault.New(fault.NotFound, "The metadata definition property with name=%s was not found in namespace=%s.", name, ns)
	}
}

func propertyRecord(p *MetadefProperty) store.Record {
	return store.Record{Kind: kindMetadefProperty, ID: p.ID, Ref: p.NamespaceID, Unique: []string{itemKey(p.NamespaceID, p.Name)}, Value: p}
}

func (s *Service) addProperty(tx store.Tx, ns *Namespace, name string, def PropertyDef) (*MetadefProperty, error) {
	if err := checkName("property", name); err != nil {
		return nil, err
	}
	if err := ValidatePropertyDef(name, def); err != nil {
		return nil, err
	}
	now := s.now()
	p := &MetadefProperty{ID: newID(), NamespaceID: ns.ID, Name: name, Schema: maps.Clone(def), CreatedAt: now, UpdatedAt: now}
	err := tx.Create(propertyRecord(p))
	if errors.Is(err, store.ErrConflict) {
		return nil, fault.New(fault.Conflict, "A metadata definition property with name=%s already exists in namespace=%s.", name, ns.Namespace)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// CreateMetadefProperty adds a property definition to a namespace (admin only).
func (s *Service) CreateMetadefProperty(ctx context.Context, namespace, name string, def PropertyDef) (*MetadefProperty, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out *MetadefProperty
	err = s.st.Write(ctx, func(tx store.Tx) error {
		ns, err := writableNamespace(tx, c, namespace, "add_metadef_property")
		if err != nil {
			return err
		}
		out, err = s.addProperty(tx, ns, name, def)
		return err
	})
	return out, err
}

// ListMetadefProperties lists a namespace's property definitions by name.
func (s *Service) ListMetadefProperties(ctx context.Context, namespace string) ([]MetadefProperty, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []MetadefProperty
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		ns, err := visibleNamespace(tx, c, namespace)
		if err != nil {
			return err
		}
		out, err = store.List[MetadefProperty](tx, kindMetadefProperty, store.ListOptions{Ref: ns.ID})
		return err
	})
	return out, err
}

// GetMetadefProperty returns a property definition. With resourceType, name
// carries the prefix of the namespace's association with it, which is
// stripped (400 if name does not start with it).
func (s *Service) GetMetadefProperty(ctx context.Context, namespace, name, resourceType string) (*MetadefProperty, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out *MetadefProperty
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		ns, err := visibleNamespace(tx, c, namespace)
		if err != nil {
			return err
		}
		if resourceType != "" {
			a, err := store.Get[ResourceTypeAssociation](tx, kindMetadefAssociation, ns.ID+"/"+resourceType)
			if errors.Is(err, store.ErrNotFound) {
				return fault.New(fault.NotFound, "The metadata definition resource-type association of resource-type=%s to namespace=%s, was not found.", resourceType, ns.Namespace)
			}
			if err != nil {
				return err
			}
			if a.Prefix != "" && strings.HasPrefix(name, a.Prefix) {
				name = name[len(a.Prefix):]
			} else {
				return badRequest("Property %s does not start with the expected resource type association prefix of '%s'.", name, a.Prefix)
			}
		}
		_, out, _, err = readNamespaceItem[MetadefProperty](tx, c, namespace, kindMetadefProperty,
			func(id string) string { return itemKey(id, name) }, propertyNotFound(name), "")
		return err
	})
	return out, err
}

// UpdateMetadefProperty replaces a property definition, possibly renaming it (admin only).
func (s *Service) UpdateMetadefProperty(ctx context.Context, namespace, name, newName string, def PropertyDef) (*MetadefProperty, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkName("property", newName); err != nil {
		return nil, err
	}
	if err := ValidatePropertyDef(newName, def); err != nil {
		return nil, err
	}
	var out *MetadefProperty
	err = s.st.Write(ctx, func(tx store.Tx) error {
		ns, p, _, err := readNamespaceItem[MetadefProperty](tx, c, namespace, kindMetadefProperty,
			func(id string) string { return itemKey(id, name) }, propertyNotFound(name), "modify_metadef_property")
		if err != nil {
			return err
		}
		p.Name, p.Schema, p.UpdatedAt = newName, maps.Clone(def), s.now()
		err = tx.Update(propertyRecord(p))
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "Invalid update. It would result in a duplicate metadata definition property with the same name=%s in namespace=%s.", newName, ns.Namespace)
		}
		out = p
		return err
	})
	return out, err
}

// DeleteMetadefProperty deletes a property definition (admin only); 403 if the
// namespace is protected.
func (s *Service) DeleteMetadefProperty(ctx context.Context, namespace, name string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		ns, _, id, err := readNamespaceItem[MetadefProperty](tx, c, namespace, kindMetadefProperty,
			func(id string) string { return itemKey(id, name) }, propertyNotFound(name), "remove_metadef_property")
		if err != nil {
			return err
		}
		if ns.Protected {
			return forbidden("Metadata definition property %s is protected and cannot be deleted.", name)
		}
		return tx.Delete(kindMetadefProperty, id)
	})
}

// ---------------------------------------------------------------- tags

func tagNotFound(name string) func(string) error {
	return func(ns string) error {
		return fault.New(fault.NotFound, "The metadata definition tag with name=%s was not found in namespace=%s.", name, ns)
	}
}

func tagRecord(t *MetadefTag) store.Record {
	return store.Record{Kind: kindMetadefTag, ID: t.ID, Ref: t.NamespaceID, Unique: []string{tagKey(t.NamespaceID, t.Name)}, Value: t}
}

func duplicateTag(name, ns string) error {
	return fault.New(fault.Conflict, "A metadata tag with name=%s already exists in namespace=%s. (Please note that metadata tag names are case insensitive).", name, ns)
}

func (s *Service) addTag(tx store.Tx, ns *Namespace, name string) (*MetadefTag, error) {
	if err := checkName("tag", name); err != nil {
		return nil, err
	}
	now := s.now()
	t := &MetadefTag{ID: newID(), NamespaceID: ns.ID, Name: name, CreatedAt: now, UpdatedAt: now}
	err := tx.Create(tagRecord(t))
	if errors.Is(err, store.ErrConflict) {
		return nil, duplicateTag(name, ns.Namespace)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// CreateMetadefTag adds one tag to a namespace (admin only).
func (s *Service) CreateMetadefTag(ctx context.Context, namespace, name string) (*MetadefTag, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out *MetadefTag
	err = s.st.Write(ctx, func(tx store.Tx) error {
		ns, err := writableNamespace(tx, c, namespace, "add_metadef_tag")
		if err != nil {
			return err
		}
		out, err = s.addTag(tx, ns, name)
		return err
	})
	return out, err
}

// CreateMetadefTags sets a namespace's tags to names (admin only); with appendTags
// the existing tags stay. A name given twice, or already there when
// appending, is 409 (names are case-insensitive).
func (s *Service) CreateMetadefTags(ctx context.Context, namespace string, names []string, appendTags bool) ([]MetadefTag, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []MetadefTag
	err = s.st.Write(ctx, func(tx store.Tx) error {
		ns, err := writableNamespace(tx, c, namespace, "add_metadef_tags")
		if err != nil {
			return err
		}
		if !appendTags {
			if ns.Protected {
				return forbidden("Metadata definition namespace %s is protected and cannot be deleted.", ns.Namespace)
			}
			if err := deleteChildren(tx, ns.ID, kindMetadefTag); err != nil {
				return err
			}
		}
		for _, name := range names {
			t, err := s.addTag(tx, ns, name)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		return nil
	})
	return out, err
}

// ListMetadefTags lists a namespace's tags, newest first.
func (s *Service) ListMetadefTags(ctx context.Context, namespace string) ([]MetadefTag, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []MetadefTag
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		ns, err := visibleNamespace(tx, c, namespace)
		if err != nil {
			return err
		}
		out, err = store.List[MetadefTag](tx, kindMetadefTag, store.ListOptions{Ref: ns.ID})
		sortByCreated(out, func(t MetadefTag) (time.Time, string) { return t.CreatedAt, t.Name })
		slices.Reverse(out)
		return err
	})
	return out, err
}

// GetMetadefTag returns one tag (names are case-insensitive).
func (s *Service) GetMetadefTag(ctx context.Context, namespace, name string) (*MetadefTag, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out *MetadefTag
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		_, out, _, err = readNamespaceItem[MetadefTag](tx, c, namespace, kindMetadefTag,
			func(id string) string { return tagKey(id, name) }, tagNotFound(name), "")
		return err
	})
	return out, err
}

// UpdateMetadefTag renames a tag (admin only).
func (s *Service) UpdateMetadefTag(ctx context.Context, namespace, name, newName string) (*MetadefTag, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkName("tag", newName); err != nil {
		return nil, err
	}
	var out *MetadefTag
	err = s.st.Write(ctx, func(tx store.Tx) error {
		ns, t, _, err := readNamespaceItem[MetadefTag](tx, c, namespace, kindMetadefTag,
			func(id string) string { return tagKey(id, name) }, tagNotFound(name), "modify_metadef_tag")
		if err != nil {
			return err
		}
		t.Name, t.UpdatedAt = newName, s.now()
		if err = tx.Update(tagRecord(t)); errors.Is(err, store.ErrConflict) {
			return duplicateTag(newName, ns.Namespace)
		}
		out = t
		return err
	})
	return out, err
}

// DeleteMetadefTag deletes a tag (admin only); 403 if the namespace is protected.
func (s *Service) DeleteMetadefTag(ctx context.Context, namespace, name string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		ns, _, id, err := readNamespaceItem[MetadefTag](tx, c, namespace, kindMetadefTag,
			func(id string) string { return tagKey(id, name) }, tagNotFound(name), "delete_metadef_tag")
		if err != nil {
			return err
		}
		if ns.Protected {
			return forbidden("Metadata definition tag %s is protected and cannot be deleted.", name)
		}
		return tx.Delete(kindMetadefTag, id)
	})
}
