package volume

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/blob"
	"github.com/nubo-cloud/nubo/internal/store"
)

// BackupService is the backup driver name an exported record carries
// (Cinder's are module paths under cinder.backup.drivers).
const BackupService = "cinder.backup.drivers.nubo"

// dataKey is where the backup's data is stored.
func (b *Backup) dataKey() string {
	if b.DataID != "" {
		return backupKey(b.DataID)
	}
	return backupKey(b.ID)
}

// backupDataShared reports whether another backup record uses b's data
// (an imported copy of its record, or the original of an imported one).
func (s *Service) backupDataShared(ctx context.Context, b *Backup) (bool, error) {
	shared := false
	err := s.st.Read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[Backup](tx, KindBackup, store.ListOptions{})
		for _, o := range all {
			if o.ID != b.ID && o.dataKey() == b.dataKey() {
				shared = true
			}
		}
		return err
	})
	return shared, err
}

// backupExport is the record an export carries, base64(JSON) in backup_url.
type backupExport struct {
	ID               string            `json:"id"`
	DataID           string            `json:"data_id"`
	VolumeID         string            `json:"volume_id"`
	SnapshotID       string            `json:"snapshot_id,omitempty"`
	Name             string            `json:"display_name"`
	Description      string            `json:"display_description"`
	Size             int64             `json:"size"`
	Container        string            `json:"container"`
	AvailabilityZone string            `json:"availability_zone"`
	ObjectCount      int64             `json:"object_count"`
	VolumeMetadata   map[string]string `json:"volume_metadata,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	DataTimestamp    time.Time         `json:"data_timestamp"`
	CreatedAt        time.Time         `json:"created_at"`
}

// ExportBackup returns an available backup's record as the driver name
// and an opaque URL that ImportBackup takes back (admin).
func (s *Service) ExportBackup(ctx context.Context, id string) (service, url string, err error) {
	c, err := requireAdmin(ctx)
	if err != nil {
		return "", "", err
	}
	var b *Backup
	if err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		b, err = getBackup(tx, c, id)
		return err
	}); err != nil {
		return "", "", err
	}
	if b.Status != BackupAvailable {
		return "", "", badRequest("Invalid backup: Backup status must be available and not %s.", b.Status)
	}
	dataID := b.DataID
	if dataID == "" {
		dataID = b.ID
	}
	raw, err := json.Marshal(backupExport{ID: b.ID, DataID: dataID, VolumeID: b.VolumeID, SnapshotID: b.SnapshotID,
		Name: b.Name, Description: b.Description, Size: b.Size, Container: b.Container,
		AvailabilityZone: b.AvailabilityZone, ObjectCount: b.ObjectCount, VolumeMetadata: b.VolumeMetadata,
		Metadata: b.Metadata, DataTimestamp: b.DataTimestamp, CreatedAt: b.CreatedAt})
	if err != nil {
		return "", "", err
	}
	return BackupService, base64.StdEncoding.EncodeToString(raw), nil
}

// ImportBackup recreates a backup record from an export, in the caller's
// project (admin). The record's ID must be free and its data still in the
// backup store.
func (s *Service) ImportBackup(ctx context.Context, service, url string) (*Backup, error) {
	c, err := requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if service != BackupService {
		return nil, badRequest("Invalid input received: Unsupported backup service %s.", service)
	}
	raw, err := base64.StdEncoding.DecodeString(url)
	var rec backupExport
	if err != nil || json.Unmarshal(raw, &rec) != nil {
		return nil, badRequest("Invalid input received: Can't parse backup record.")
	}
	if _, err := uuid.Parse(rec.ID); err != nil || rec.DataID == "" || rec.Size <= 0 {
		return nil, badRequest("Invalid input received: Backup record is missing id, data or size.")
	}
	if s.backups == nil {
		return nil, badRequest("Invalid input received: Backup service is not available.")
	}
	rc, _, err := s.backups.Open(ctx, backupKey(rec.DataID))
	if errors.Is(err, blob.ErrNotFound) {
		return nil, badRequest("Invalid backup: The backup data of %s is not in the backup store.", rec.DataID)
	}
	if err != nil {
		return nil, err
	}
	rc.Close()
	now := s.now()
	b := &Backup{ID: rec.ID, DataID: rec.DataID, VolumeID: rec.VolumeID, SnapshotID: rec.SnapshotID,
		ProjectID: c.ProjectID, UserID: c.UserID, Name: rec.Name, Description: rec.Description, Size: rec.Size,
		Status: BackupAvailable, Container: rec.Container, AvailabilityZone: rec.AvailabilityZone,
		ObjectCount: rec.ObjectCount, VolumeMetadata: rec.VolumeMetadata, Metadata: rec.Metadata,
		DataTimestamp: rec.DataTimestamp, CreatedAt: now, UpdatedAt: now}
	if b.DataID == b.ID {
		b.DataID = ""
	}
	if b.AvailabilityZone == "" {
		b.AvailabilityZone = s.cfg.AvailabilityZone
	}
	err = s.st.Write(ctx, func(tx store.Tx) error {
		if err := checkQuota(tx, b.ProjectID, map[string]int64{"backups": 1, "backup_gigabytes": b.Size}); err != nil {
			return err
		}
		err := tx.Create(backupRecord(b))
		if errors.Is(err, store.ErrConflict) {
			return badRequest("Invalid backup: Backup %s already exists in database.", b.ID)
		}
		return err
	})
	return b, err
}
