package cinder

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/volume"
)

func encryptionView(typeID string, e *volume.Encryption) map[string]any {
	return map[string]any{"volume_type_id": typeID, "encryption_id": e.ID, "provider": e.Provider,
		"cipher": e.Cipher, "key_size": e.KeySize, "control_location": e.ControlLocation}
}

// showEncryption: GET /types/{id}/encryption; {} when the type has none.
func (a *api) showEncryption(w http.ResponseWriter, r *http.Request) error {
	t, e, err := a.v.GetEncryption(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if e == nil {
		apihttp.WriteJSON(w, http.StatusOK, map[string]any{})
		return nil
	}
	out := encryptionView(t.ID, e)
	out["deleted"], out["created_at"], out["deleted_at"] = false, ts(e.CreatedAt), nil
	out["updated_at"] = tsPtr(&e.UpdatedAt)
	apihttp.WriteJSON(w, http.StatusOK, out)
	return nil
}

// showEncryptionKey: GET /types/{id}/encryption/{key}.
func (a *api) showEncryptionKey(w http.ResponseWriter, r *http.Request) error {
	t, e, err := a.v.GetEncryption(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if e == nil {
		return notFoundPath()
	}
	v := encryptionView(t.ID, e)
	k := r.PathValue("key")
	val, ok := v[k]
	if !ok {
		return notFoundPath()
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{k: val})
	return nil
}

func encryptionUpdate(m map[string]json.RawMessage) (volume.EncryptionUpdate, error) {
	var u volume.EncryptionUpdate
	var err error
	for k := range m {
		switch k {
		case "provider", "cipher", "key_size", "control_location":
		default:
			return u, badRequest("Invalid input received: Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	if u.Provider, err = str(m, "provider"); err != nil {
		return u, err
	}
	if u.ControlLocation, err = str(m, "control_location"); err != nil {
		return u, err
	}
	if u.Cipher, err = str(m, "cipher"); err != nil {
		return u, err
	}
	u.ClearCipher = u.Cipher == nil && string(m["cipher"]) == "null"
	if n, ok, err := intField(m, "key_size"); err != nil {
		return u, err
	} else if ok {
		u.KeySize = &n
	}
	u.ClearKeySize = u.KeySize == nil && string(m["key_size"]) == "null"
	return u, nil
}

// createEncryption: POST /types/{id}/encryption {"encryption": {...}}.
func (a *api) createEncryption(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "encryption")
	if err != nil {
		return err
	}
	u, err := encryptionUpdate(m)
	if err != nil {
		return err
	}
	if u.Provider == nil {
		return badRequest("Invalid input received: 'provider' is a required property.")
	}
	e, err := a.v.SetEncryption(r.Context(), r.PathValue("id"), true, u)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"encryption": encryptionView(r.PathValue("id"), e)})
	return nil
}

// updateEncryption: PUT /types/{id}/encryption/{encryption_id}; answers
// with the fields set.
func (a *api) updateEncryption(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "encryption")
	if err != nil {
		return err
	}
	u, err := encryptionUpdate(m)
	if err != nil {
		return err
	}
	e, err := a.v.SetEncryption(r.Context(), r.PathValue("id"), false, u)
	if err != nil {
		return err
	}
	out := map[string]any{}
	for k, v := range encryptionView(r.PathValue("id"), e) {
		if _, ok := m[k]; ok {
			out[k] = v
		}
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"encryption": out})
	return nil
}

func (a *api) deleteEncryption(w http.ResponseWriter, r *http.Request) error {
	if err := a.v.DeleteEncryption(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
