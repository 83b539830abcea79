package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/nubo-cloud/nubo/internal/store"
)

func canManageUser(ctx context.Context, userID string) bool {
	c := creds(ctx)
	return c.IsAdmin() || (c != nil && c.UserID == userID)
}

// CreateCredential adds a credential. An EC2 credential's ID is the SHA-256
// of its access key, as in Keystone.
func (s *Service) CreateCredential(ctx context.Context, cr Credential) (*Credential, error) {
	if !canManageUser(ctx, cr.UserID) {
		return nil, forbidden()
	}
	if cr.Type == "ec2" {
		if cr.ProjectID == "" {
			return nil, badRequest("Invalid blob in credential: project_id is required for ec2 credentials.")
		}
		var blob struct {
			Access string `json:"access"`
		}
		if err := json.Unmarshal([]byte(cr.Blob), &blob); err != nil || blob.Access == "" {
			return nil, badRequest("Invalid blob in credential: a JSON object with an 'access' key is required.")
		}
		sum := sha256.Sum256([]byte(blob.Access))
		cr.ID = hex.EncodeToString(sum[:])
	} else {
		cr.ID = hexID()
	}
	err := s.write(ctx, func(tx store.Tx) error {
		if _, err := get[User](tx, kindUser, "user", cr.UserID); err != nil {
			return badRequest("Could not find user: %s.", cr.UserID)
		}
		if err := tx.Create(store.Record{Kind: kindCredential, ID: cr.ID, Ref: cr.UserID, Value: cr}); err != nil {
			return conflictIf(err, "credential", "Duplicate ID, "+cr.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &cr, nil
}

// GetCredential returns a credential the caller owns (or any, for admins).
func (s *Service) GetCredential(ctx context.Context, id string) (*Credential, error) {
	var cr *Credential
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		cr, err = get[Credential](tx, kindCredential, "credential", id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !canManageUser(ctx, cr.UserID) {
		return nil, notFound("credential", id)
	}
	return cr, nil
}

// ListCredentials returns every credential an admin may see, or the caller's own.
func (s *Service) ListCredentials(ctx context.Context) ([]Credential, error) {
	c := creds(ctx)
	opts := store.ListOptions{}
	if !c.IsReader() {
		opts.Ref = c.UserID
	}
	var out []Credential
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Credential](tx, kindCredential, opts)
		return err
	})
	return out, err
}

// UpdateCredential applies mutate to a credential.
func (s *Service) UpdateCredential(ctx context.Context, id string, mutate func(*Credential) error) (*Credential, error) {
	var cr *Credential
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if cr, err = get[Credential](tx, kindCredential, "credential", id); err != nil {
			return err
		}
		if !canManageUser(ctx, cr.UserID) {
			return notFound("credential", id)
		}
		if err := mutate(cr); err != nil {
			return err
		}
		cr.ID = id
		if !canManageUser(ctx, cr.UserID) {
			return forbidden()
		}
		return tx.Update(store.Record{Kind: kindCredential, ID: id, Ref: cr.UserID, Value: cr})
	})
	return cr, err
}

// DeleteCredential removes a credential.
func (s *Service) DeleteCredential(ctx context.Context, id string) error {
	return s.write(ctx, func(tx store.Tx) error {
		cr, err := get[Credential](tx, kindCredential, "credential", id)
		if err != nil {
			return err
		}
		if !canManageUser(ctx, cr.UserID) {
			return notFound("credential", id)
		}
		return tx.Delete(kindCredential, id)
	})
}
