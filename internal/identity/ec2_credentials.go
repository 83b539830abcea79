package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/nubo-cloud/nubo/internal/store"
)

// credTypeEC2 is the credential type of EC2 access/secret pairs.
const credTypeEC2 = "ec2"

// EC2Credential is an EC2-style access/secret key pair of a user on a
// project, as Keystone's OS-EC2 API (/v3/users/{user_id}/credentials/OS-EC2)
// shows it. It is stored as a Credential of type "ec2" whose ID is the
// SHA-256 of the access key and whose blob is
// {"access", "secret", "trust_id", "project_id"}, so the /v3/credentials API
// sees the same records.
type EC2Credential struct {
	UserID    string
	ProjectID string
	Access    string
	Secret    string
	// TrustID is always nil: Nubo has no trusts.
	TrustID *string
}

type ec2Blob struct {
	Access    string  `json:"access"`
	Secret    string  `json:"secret"`
	TrustID   *string `json:"trust_id"`
	ProjectID string  `json:"project_id"`
}

func ec2CredentialID(access string) string {
	sum := sha256.Sum256([]byte(access))
	return hex.EncodeToString(sum[:])
}

func ec2FromCredential(c *Credential) (*EC2Credential, bool) {
	if c.Type != credTypeEC2 {
		return nil, false
	}
	var b ec2Blob
	if err := json.Unmarshal([]byte(c.Blob), &b); err != nil || b.Access == "" {
		return nil, false
	}
	p := c.ProjectID
	if p == "" {
		p = b.ProjectID
	}
	return &EC2Credential{UserID: c.UserID, ProjectID: p, Access: b.Access, Secret: b.Secret, TrustID: b.TrustID}, true
}

// canReadUser reports whether the caller may read userID's credentials:
// the user, an admin, or a system reader.
func canReadUser(ctx context.Context, userID string) bool {
	return canManageUser(ctx, userID) || creds(ctx).IsReader()
}

// CreateEC2Credential issues a new EC2 key pair for userID on projectID.
// Users may create their own; admins anyone's.
func (s *Service) CreateEC2Credential(ctx context.Context, userID, projectID string) (*EC2Credential, error) {
	if !canManageUser(ctx, userID) {
		return nil, forbidden()
	}
	ec := EC2Credential{UserID: userID, ProjectID: projectID, Access: hexID(), Secret: hexID()}
	blob, err := json.Marshal(ec2Blob{Access: ec.Access, Secret: ec.Secret, ProjectID: projectID})
	if err != nil {
		return nil, err
	}
	cr := Credential{ID: ec2CredentialID(ec.Access), UserID: userID, ProjectID: projectID, Type: credTypeEC2, Blob: string(blob)}
	err = s.write(ctx, func(tx store.Tx) error {
		if _, err := get[User](tx, kindUser, "user", userID); err != nil {
			return err
		}
		if _, err := get[Project](tx, kindProject, "project", projectID); err != nil {
			return err
		}
		return conflictIf(tx.Create(store.Record{Kind: kindCredential, ID: cr.ID, Ref: userID, Value: cr}), "credential", "Duplicate ID, "+cr.ID)
	})
	if err != nil {
		return nil, err
	}
	return &ec, nil
}

// ListEC2Credentials returns userID's EC2 credentials.
func (s *Service) ListEC2Credentials(ctx context.Context, userID string) ([]EC2Credential, error) {
	if !canReadUser(ctx, userID) {
		return nil, forbidden()
	}
	var out []EC2Credential
	err := s.read(ctx, func(tx store.ReadTx) error {
		if _, err := get[User](tx, kindUser, "user", userID); err != nil {
			return err
		}
		crs, err := store.List[Credential](tx, kindCredential, store.ListOptions{Ref: userID})
		if err != nil {
			return err
		}
		for _, c := range crs {
			if ec, ok := ec2FromCredential(&c); ok && c.UserID == userID {
				out = append(out, *ec)
			}
		}
		return nil
	})
	return out, err
}

// getEC2 reads userID's EC2 credential with access key access.
func getEC2(tx store.ReadTx, userID, access string) (*EC2Credential, error) {
	if _, err := get[User](tx, kindUser, "user", userID); err != nil {
		return nil, err
	}
	id := ec2CredentialID(access)
	c, err := store.Get[Credential](tx, kindCredential, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("credential", id)
	}
	if err != nil {
		return nil, err
	}
	ec, ok := ec2FromCredential(c)
	if !ok || c.UserID != userID {
		return nil, notFound("credential", id)
	}
	return ec, nil
}

// GetEC2Credential returns userID's EC2 credential with access key access.
func (s *Service) GetEC2Credential(ctx context.Context, userID, access string) (*EC2Credential, error) {
	if !canReadUser(ctx, userID) {
		return nil, forbidden()
	}
	var ec *EC2Credential
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		ec, err = getEC2(tx, userID, access)
		return err
	})
	return ec, err
}

// DeleteEC2Credential removes userID's EC2 credential with access key access.
func (s *Service) DeleteEC2Credential(ctx context.Context, userID, access string) error {
	if !canManageUser(ctx, userID) {
		return forbidden()
	}
	return s.write(ctx, func(tx store.Tx) error {
		if _, err := getEC2(tx, userID, access); err != nil {
			return err
		}
		return tx.Delete(kindCredential, ec2CredentialID(access))
	})
}
