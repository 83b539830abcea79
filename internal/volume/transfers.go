package volume

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// KindTransfer is the record kind of volume transfers.
const KindTransfer = "volume.transfer"

// StatusAwaitingTransfer is a volume's status while a transfer of it is open.
const StatusAwaitingTransfer = "awaiting-transfer"

// Transfer is an offer to give a volume to whoever presents its auth key.
type Transfer struct {
	ID       string `json:"id"`
	VolumeID string `json:"volume_id"`
	Name     string `json:"name"`
	// ProjectID is the source project (the volume's owner).
	ProjectID string `json:"project_id"`
	// Salt and KeyHash check the auth key; the key itself is shown once.
	Salt        string    `json:"salt"`
	KeyHash     string    `json:"key_hash"`
	NoSnapshots bool      `json:"no_snapshots"`
	CreatedAt   time.Time `json:"created_at"`
}

func transferRecord(t *Transfer) store.Record {
	return store.Record{Kind: KindTransfer, ID: t.ID, Ref: t.ProjectID, Unique: []string{"volume:" + t.VolumeID}, Value: t}
}

func hashKey(salt, key string) string {
	h := sha256.Sum256([]byte(salt + key))
	return hex.EncodeToString(h[:])
}

func randHex(n int) string {
	b := make([]byte, n/2)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(b)
}

func getTransfer(tx store.ReadTx, c *policy.Credentials, id string) (*Transfer, error) {
	t, err := store.Get[Transfer](tx, KindTransfer, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c != nil && !canSee(c, t.ProjectID) {
		return nil, fault.New(fault.NotFound, "Transfer %s could not be found.", id)
	}
	return t, err
}

// CreateTransfer offers an available volume for transfer; it returns the
// transfer and its auth key (shown only now). The volume waits in
// awaiting-transfer until the transfer is accepted or deleted.
func (s *Service) CreateTransfer(ctx context.Context, volumeID, name string, noSnapshots bool) (*Transfer, string, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, "", err
	}
	if len(name) > 255 {
		return nil, "", badRequest("Invalid input received: Transfer name has more than 255 characters.")
	}
	key := randHex(16)
	var t *Transfer
	err = s.st.Write(ctx, func(tx store.Tx) error {
		v, err := getWritableVolume(tx, c, volumeID)
		if err != nil {
			return err
		}
		if v.Status != StatusAvailable {
			return invalidVolume("Status of volume must be available, but current status is: %s.", v.Status)
		}
		t = &Transfer{ID: newID(), VolumeID: v.ID, Name: name, ProjectID: v.ProjectID, Salt: randHex(16),
			NoSnapshots: noSnapshots, CreatedAt: s.now()}
		t.KeyHash = hashKey(t.Salt, key)
		if err := tx.Create(transferRecord(t)); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return invalidVolume("Volume %s already has a transfer.", v.ID)
			}
			return err
		}
		v.Status = StatusAwaitingTransfer
		return s.putVolume(tx, v)
	})
	if err != nil {
		return nil, "", err
	}
	return t, key, nil
}

// GetTransfer returns a transfer of the caller's project.
func (s *Service) GetTransfer(ctx context.Context, id string) (*Transfer, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var t *Transfer
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		t, err = getTransfer(tx, c, id)
		return err
	})
	return t, err
}

// ListTransfers returns the caller's project's transfers, or every
// project's for an admin asking for all.
func (s *Service) ListTransfers(ctx context.Context, all bool) ([]Transfer, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	ref := c.ProjectID
	if all && c.IsAdmin() {
		ref = ""
	}
	var out []Transfer
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Transfer](tx, KindTransfer, store.ListOptions{Ref: ref})
		return err
	})
	slices.SortStableFunc(out, func(a, b Transfer) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, err
}

// DeleteTransfer withdraws an offer; the volume is available again.
func (s *Service) DeleteTransfer(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		t, err := getTransfer(tx, c, id)
		if err != nil {
			return err
		}
		if !canWrite(c, t.ProjectID) {
			return forbidden()
		}
		if v, err := store.Get[Volume](tx, KindVolume, t.VolumeID); err == nil && v.Status == StatusAwaitingTransfer {
			v.Status = StatusAvailable
			if err := s.putVolume(tx, v); err != nil {
				return err
			}
		}
		return tx.Delete(KindTransfer, id)
	})
}

// AcceptTransfer gives the volume (and, unless the offer said otherwise,
// its snapshots) to the caller's project, within its quota.
func (s *Service) AcceptTransfer(ctx context.Context, id, authKey string) (*Transfer, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if authKey == "" {
		return nil, badRequest("Invalid input received: auth_key is required.")
	}
	var t *Transfer
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if t, err = getTransfer(tx, nil, id); err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(hashKey(t.Salt, authKey)), []byte(t.KeyHash)) != 1 {
			return badRequest("Invalid auth key: Attempt to transfer %s with invalid auth key.", id)
		}
		if !c.CanWriteProject(c.ProjectID) {
			return forbidden()
		}
		v, err := store.Get[Volume](tx, KindVolume, t.VolumeID)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("Volume", t.VolumeID)
		}
		if err != nil {
			return err
		}
		if v.Status != StatusAwaitingTransfer {
			return invalidVolume("Status of volume must be awaiting-transfer, but current status is: %s.", v.Status)
		}
		typeName := ""
		if ty, err := getType(tx, nil, v.TypeID); err == nil {
			typeName = ty.Name
		}
		delta := volumeDelta(typeName, v.Size)
		var snaps []Snapshot
		if !t.NoSnapshots {
			all, err := store.List[Snapshot](tx, KindSnapshot, store.ListOptions{Ref: v.ProjectID})
			if err != nil {
				return err
			}
			for _, sn := range all {
				if sn.VolumeID == v.ID {
					snaps = append(snaps, sn)
					delta["snapshots"]++
					delta["gigabytes"] += sn.Size
					if typeName != "" {
						delta["snapshots_"+typeName]++
						delta["gigabytes_"+typeName] += sn.Size
					}
				}
			}
		}
		if v.ProjectID != c.ProjectID {
			if err := checkPerVolume(tx, c.ProjectID, v.Size); err != nil {
				return err
			}
			if err := checkQuota(tx, c.ProjectID, delta); err != nil {
				return err
			}
		}
		for i := range snaps {
			snaps[i].ProjectID, snaps[i].UserID, snaps[i].UpdatedAt = c.ProjectID, c.UserID, s.now()
			if err := tx.Update(snapshotRecord(&snaps[i])); err != nil {
				return err
			}
		}
		v.ProjectID, v.UserID, v.Status = c.ProjectID, c.UserID, StatusAvailable
		if err := s.putVolume(tx, v); err != nil {
			return err
		}
		return tx.Delete(KindTransfer, id)
	})
	return t, err
}

// dropTransfers removes the open transfer of a volume being deleted.
func dropTransfers(tx store.Tx, volumeID string) error {
	id, err := tx.Lookup(KindTransfer, "volume:"+volumeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return tx.Delete(KindTransfer, id)
}
