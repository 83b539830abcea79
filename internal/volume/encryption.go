package volume

import (
	"context"
	"time"

	"github.com/nubo-cloud/nubo/internal/store"
)

// Encryption is a volume type's encryption spec. Nubo records it (and
// shows it); the file backend does not encrypt.
type Encryption struct {
	ID              string    `json:"id"`
	Provider        string    `json:"provider"`
	Cipher          *string   `json:"cipher,omitempty"`
	KeySize         *int64    `json:"key_size,omitempty"`
	ControlLocation string    `json:"control_location"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at,omitzero"`
}

// EncryptionUpdate holds the fields a request sets (nil = unchanged; for
// Cipher and KeySize, ClearCipher/ClearKeySize set null).
type EncryptionUpdate struct {
	Provider, ControlLocation, Cipher *string
	KeySize                           *int64
	ClearCipher, ClearKeySize         bool
}

func checkEncryption(e *Encryption) error {
	if e.Provider == "" {
		return badRequest("Invalid input received: provider must be specified.")
	}
	if e.ControlLocation != "front-end" && e.ControlLocation != "back-end" {
		return badRequest("Invalid input received: Valid control location are: ['front-end', 'back-end']")
	}
	if e.KeySize != nil && *e.KeySize < 0 {
		return badRequest("Invalid input received: key_size must be a non-negative integer.")
	}
	return nil
}

func typeInUse(tx store.ReadTx, typeID string) (bool, error) {
	vols, err := store.List[Volume](tx, KindVolume, store.ListOptions{})
	if err != nil {
		return false, err
	}
	for _, v := range vols {
		if v.TypeID == typeID {
			return true, nil
		}
	}
	return false, nil
}

// GetEncryption returns a type's encryption spec, nil if it has none
// (admin).
func (s *Service) GetEncryption(ctx context.Context, typeID string) (*Type, *Encryption, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, nil, err
	}
	var t *Type
	err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		t, err = getType(tx, nil, typeID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return t, t.Encryption, nil
}

// SetEncryption creates (create) or updates a type's encryption spec
// (admin). Neither is allowed while volumes of the type exist; a type
// has at most one spec.
func (s *Service) SetEncryption(ctx context.Context, typeID string, create bool, u EncryptionUpdate) (*Encryption, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out *Encryption
	err := s.st.Write(ctx, func(tx store.Tx) error {
		t, err := getType(tx, nil, typeID)
		if err != nil {
			return err
		}
		if inUse, err := typeInUse(tx, t.ID); err != nil {
			return err
		} else if inUse {
			return badRequest("Invalid input received: Cannot create or update encryption specs. Volume type in use.")
		}
		var e Encryption
		switch {
		case create && t.Encryption != nil:
			return badRequest("Volume type encryption for type %s already exists.", t.ID)
		case create:
			e = Encryption{ID: newID(), ControlLocation: "front-end", CreatedAt: s.now()}
		case t.Encryption == nil:
			return badRequest("Volume type encryption for type %s does not exist.", t.ID)
		default:
			e = *t.Encryption
			e.UpdatedAt = s.now()
		}
		if u.Provider != nil {
			e.Provider = *u.Provider
		}
		if u.ControlLocation != nil {
			e.ControlLocation = *u.ControlLocation
		}
		if u.Cipher != nil || u.ClearCipher {
			e.Cipher = u.Cipher
		}
		if u.KeySize != nil || u.ClearKeySize {
			e.KeySize = u.KeySize
		}
		if err := checkEncryption(&e); err != nil {
			return err
		}
		t.Encryption, out = &e, &e
		return putType(tx, t)
	})
	return out, err
}

// DeleteEncryption removes a type's encryption spec (admin); refused
// while volumes of the type exist.
func (s *Service) DeleteEncryption(ctx context.Context, typeID string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		t, err := getType(tx, nil, typeID)
		if err != nil {
			return err
		}
		if t.Encryption == nil {
			return notFound("Volume type encryption for type", t.ID)
		}
		if inUse, err := typeInUse(tx, t.ID); err != nil {
			return err
		} else if inUse {
			return badRequest("Invalid input received: Cannot delete encryption specs. Volume type in use.")
		}
		t.Encryption = nil
		return putType(tx, t)
	})
}
