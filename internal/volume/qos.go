package volume

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// KindQos is the record kind of QoS specs.
const KindQos = "volume.qos"

// QoS consumers.
var qosConsumers = []string{"front-end", "back-end", "both"}

// QosSpecs are quality-of-service limits a volume type may carry.
type QosSpecs struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Consumer string            `json:"consumer"`
	Specs    map[string]string `json:"specs"`
}

// QosAssociation is one volume type that uses QoS specs.
type QosAssociation struct {
	Type string // always "volume_type"
	ID   string
	Name string
}

func qosRecord(q *QosSpecs) store.Record {
	return store.Record{Kind: KindQos, ID: q.ID, Unique: []string{"name:" + q.Name}, Value: q}
}

func getQos(tx store.ReadTx, id string) (*QosSpecs, error) {
	q, err := store.Get[QosSpecs](tx, KindQos, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "QoS Specs %s could not be found.", id)
	}
	return q, err
}

func putType(tx store.Tx, t *Type) error {
	return tx.Update(store.Record{Kind: KindType, ID: t.ID, Unique: []string{typeKey(t.Name)}, Value: t})
}

// CreateQos adds QoS specs (admin). consumer "" is back-end.
func (s *Service) CreateQos(ctx context.Context, name, consumer string, specs map[string]string) (*QosSpecs, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 255 {
		return nil, badRequest("Invalid input received: QoS specs name must be a non-empty string of at most 255 characters.")
	}
	if consumer == "" {
		consumer = "back-end"
	}
	if !slices.Contains(qosConsumers, consumer) {
		return nil, badRequest("Invalid input received: Valid consumer of QoS specs are: %s", strings.Join(qosConsumers, ", "))
	}
	if err := checkSpecs(specs); err != nil {
		return nil, err
	}
	q := &QosSpecs{ID: newID(), Name: name, Consumer: consumer, Specs: maps.Clone(specs)}
	if q.Specs == nil {
		q.Specs = map[string]string{}
	}
	err := s.st.Write(ctx, func(tx store.Tx) error {
		err := tx.Create(qosRecord(q))
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "QoS Specs %s already exists.", name)
		}
		return err
	})
	return q, err
}

// GetQos returns QoS specs (admin).
func (s *Service) GetQos(ctx context.Context, id string) (*QosSpecs, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var q *QosSpecs
	err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		q, err = getQos(tx, id)
		return err
	})
	return q, err
}

// ListQos returns all QoS specs (admin).
func (s *Service) ListQos(ctx context.Context) ([]QosSpecs, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out []QosSpecs
	err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[QosSpecs](tx, KindQos, store.ListOptions{})
		return err
	})
	return out, err
}

// SetQosKeys merges specs into QoS specs (admin).
func (s *Service) SetQosKeys(ctx context.Context, id string, specs map[string]string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if len(specs) == 0 {
		return badRequest("Invalid input received: QoS specs must not be empty.")
	}
	if err := checkSpecs(specs); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		q, err := getQos(tx, id)
		if err != nil {
			return err
		}
		if q.Specs == nil {
			q.Specs = map[string]string{}
		}
		maps.Copy(q.Specs, specs)
		return tx.Update(qosRecord(q))
	})
}

// UnsetQosKeys removes keys from QoS specs (admin); a key not there is a 404
// and nothing changes.
func (s *Service) UnsetQosKeys(ctx context.Context, id string, keys []string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		q, err := getQos(tx, id)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, ok := q.Specs[k]; !ok {
				return fault.New(fault.NotFound, "QoS spec %s has no key named %s.", id, k)
			}
		}
		for _, k := range keys {
			delete(q.Specs, k)
		}
		return tx.Update(qosRecord(q))
	})
}

func qosTypes(tx store.ReadTx, id string) ([]Type, error) {
	types, err := store.List[Type](tx, KindType, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(types, func(t Type) bool { return t.QosSpecsID != id }), nil
}

// DeleteQos removes QoS specs (admin). Specs still associated with a type
// are refused unless force, which disassociates them first.
func (s *Service) DeleteQos(ctx context.Context, id string, force bool) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		if _, err := getQos(tx, id); err != nil {
			return err
		}
		types, err := qosTypes(tx, id)
		if err != nil {
			return err
		}
		if len(types) > 0 && !force {
			return badRequest("QoS Specs %s is still associated with entities.", id)
		}
		for i := range types {
			types[i].QosSpecsID = ""
			if err := putType(tx, &types[i]); err != nil {
				return err
			}
		}
		return tx.Delete(KindQos, id)
	})
}

// QosAssociations lists the types using QoS specs (admin).
func (s *Service) QosAssociations(ctx context.Context, id string) ([]QosAssociation, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out []QosAssociation
	err := s.st.Read(ctx, func(tx store.ReadTx) error {
		if _, err := getQos(tx, id); err != nil {
			return err
		}
		types, err := qosTypes(tx, id)
		for _, t := range types {
			out = append(out, QosAssociation{Type: "volume_type", ID: t.ID, Name: t.Name})
		}
		return err
	})
	return out, err
}

// AssociateQos makes type typeID use QoS specs id (admin). A type already
// using other specs is refused.
func (s *Service) AssociateQos(ctx context.Context, id, typeID string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if typeID == "" {
		return badRequest("Invalid input received: vol_type_id is required.")
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		if _, err := getQos(tx, id); err != nil {
			return err
		}
		t, err := getType(tx, nil, typeID)
		if err != nil {
			return err
		}
		if t.QosSpecsID == id {
			return nil
		}
		if t.QosSpecsID != "" {
			return badRequest("Invalid volume type: Type %s is already associated with another qos specs: %s", typeID, t.QosSpecsID)
		}
		t.QosSpecsID = id
		return putType(tx, t)
	})
}

// DisassociateQos detaches QoS specs id from one type, or from all types
// when typeID is "" and all is set (admin).
func (s *Service) DisassociateQos(ctx context.Context, id, typeID string, all bool) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if typeID == "" && !all {
		return badRequest("Invalid input received: vol_type_id is required.")
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		if _, err := getQos(tx, id); err != nil {
			return err
		}
		if all {
			types, err := qosTypes(tx, id)
			if err != nil {
				return err
			}
			for i := range types {
				types[i].QosSpecsID = ""
				if err := putType(tx, &types[i]); err != nil {
					return err
				}
			}
			return nil
		}
		t, err := getType(tx, nil, typeID)
		if err != nil {
			return err
		}
		if t.QosSpecsID != id {
			return nil // as Cinder: nothing to undo
		}
		t.QosSpecsID = ""
		return putType(tx, t)
	})
}
