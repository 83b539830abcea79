package volume

import "time"

// Record kinds.
const (
	KindVolume     = "volume.volume"
	KindSnapshot   = "volume.snapshot"
	KindBackup     = "volume.backup"
	KindType       = "volume.type"
	KindQuota      = "volume.quota"
	KindQuotaClass = "volume.quota_class"
)

// Volume statuses, as clients poll them.
//
//	                 ┌────────── os-reserve / attachment create ─────────┐
//	creating ─┐      │                                                   ▼
//	downloading ─► available ◄── os-unreserve / detach ── attaching/reserved ── attach/complete ──► in-use
//	restoring-backup ─┘ │  ▲                                                                │  ▲
//	                    │  └─ (work done) ─ extending / uploading / backing-up / retyping ◄──┘  │
//	                    ▼                                               detaching ◄─ begin_detaching
//	                 deleting ──► (record gone: 404)         any failure of backend work ──► error
const (
	StatusCreating        = "creating"
	StatusDownloading     = "downloading"
	StatusAvailable       = "available"
	StatusReserved        = "reserved"
	StatusAttaching       = "attaching"
	StatusInUse           = "in-use"
	StatusDetaching       = "detaching"
	StatusExtending       = "extending"
	StatusUploading       = "uploading"
	StatusBackingUp       = "backing-up"
	StatusRestoring       = "restoring-backup"
	StatusRetyping        = "retyping"
	StatusDeleting        = "deleting"
	StatusError           = "error"
	StatusErrorDeleting   = "error_deleting"
	StatusErrorExtending  = "error_extending"
	StatusErrorRestoring  = "error_restoring"
	StatusMaintenance     = "maintenance"
	AttachStatusAttached  = "attached"
	AttachStatusDetached  = "detached"
	AttachStatusAttaching = "attaching"
	AttachStatusDetaching = "detaching"
	AttachStatusReserved  = "reserved"
)

// ValidStatuses are the statuses os-reset_status and list filters accept.
var ValidStatuses = []string{StatusCreating, StatusDownloading, StatusAvailable, StatusReserved, StatusAttaching,
	StatusInUse, StatusDetaching, StatusExtending, StatusUploading, StatusBackingUp, StatusRestoring,
	StatusRetyping, StatusDeleting, StatusError, StatusErrorDeleting, StatusErrorExtending,
	StatusErrorRestoring, StatusMaintenance, "awaiting-transfer"}

// Work is backend work a volume waits for; the Reconciler does it and
// clears it in the same transaction that sets the resulting status.
type Work struct {
	// Op is one of the Op* constants.
	Op string `json:"op"`
	// Size is the target size in GiB (create, extend).
	Size int64 `json:"size,omitempty"`
	// ImageID is the image to copy from (create) or upload to (upload).
	ImageID    string `json:"image_id,omitempty"`
	DiskFormat string `json:"disk_format,omitempty"`
	// BackupID is the backup to restore (restore).
	BackupID string `json:"backup_id,omitempty"`
	// Then is the status to return to once done (extend, upload).
	Then string `json:"then,omitempty"`
	// Cascade deletes the volume's snapshots too (delete).
	Cascade bool `json:"cascade,omitempty"`
	// RequestID is the API request that asked for the work (a user
	// message about its failure names it).
	RequestID string `json:"request_id,omitempty"`
}

// Work operations.
const (
	OpCreate  = "create"
	OpExtend  = "extend"
	OpUpload  = "upload"
	OpRestore = "restore"
	OpDelete  = "delete"
)

// Attachment is one attachment of a volume to a server (or, without a
// server, a reservation).
type Attachment struct {
	ID         string `json:"id"`
	VolumeID   string `json:"volume_id"`
	ServerID   string `json:"server_id,omitempty"`
	HostName   string `json:"host_name,omitempty"`
	Device     string `json:"device,omitempty"`
	AttachMode string `json:"attach_mode"`
	// Status is reserved, attaching, attached or detaching.
	Status     string         `json:"status"`
	Connector  map[string]any `json:"connector,omitempty"`
	AttachedAt *time.Time     `json:"attached_at,omitempty"`
	DetachedAt *time.Time     `json:"detached_at,omitempty"`
}

// Volume is a block device.
type Volume struct {
	ID          string `json:"id"`
	ProjectID   string `json:"project_id"`
	UserID      string `json:"user_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Size is in GiB.
	Size             int64             `json:"size"`
	Status           string            `json:"status"`
	AttachStatus     string            `json:"attach_status"`
	AvailabilityZone string            `json:"availability_zone"`
	TypeID           string            `json:"type_id"`
	Bootable         bool              `json:"bootable"`
	ReadOnly         bool              `json:"readonly"`
	Multiattach      bool              `json:"multiattach"`
	Metadata         map[string]string `json:"metadata"`
	ImageMetadata    map[string]string `json:"image_metadata,omitempty"`
	SnapshotID       string            `json:"snapshot_id,omitempty"`
	SourceVolID      string            `json:"source_volid,omitempty"`
	ImageID          string            `json:"image_id,omitempty"`
	// GroupID is the group the volume belongs to ("" = none).
	GroupID string `json:"group_id,omitempty"`
	// Format is the backend format ("qcow2" or "raw").
	Format      string       `json:"format"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Pending is backend work the Reconciler has not finished.
	Pending *Work `json:"pending,omitempty"`
	// ResizePending is set when an in-use volume was extended: the host
	// agent grows it live (QMP block_resize) and clears it.
	ResizePending bool   `json:"resize_pending,omitempty"`
	Error         string `json:"error,omitempty"`
	// MigrationStatus is always empty (no migration yet).
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Host is the volume's host string as Cinder shows it (host@backend#pool).
func (s *Service) Host() string { return "nubo@" + s.drv.Name() + "#" + s.drv.Name() }

// Snapshot is a point-in-time copy of a volume.
type Snapshot struct {
	ID          string            `json:"id"`
	VolumeID    string            `json:"volume_id"`
	ProjectID   string            `json:"project_id"`
	UserID      string            `json:"user_id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Size        int64             `json:"size"`
	Status      string            `json:"status"`
	Progress    string            `json:"progress"`
	Metadata    map[string]string `json:"metadata"`
	TypeID      string            `json:"type_id"`
	// GroupSnapshotID is the group snapshot this snapshot is part of.
	GroupSnapshotID string `json:"group_snapshot_id,omitempty"`
	// Pending is backend work left: OpCreate or OpDelete (a status set by
	// os-reset_status alone asks for none).
	Pending   string    `json:"pending,omitempty"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Backup is a compressed copy of a volume in the backup store.
type Backup struct {
	ID               string `json:"id"`
	VolumeID         string `json:"volume_id"`
	SnapshotID       string `json:"snapshot_id,omitempty"`
	ProjectID        string `json:"project_id"`
	UserID           string `json:"user_id"`
	Name             string `json:"name"`
	Description      string `json:"description"`
	Size             int64  `json:"size"`
	Status           string `json:"status"`
	FailReason       string `json:"fail_reason,omitempty"`
	Container        string `json:"container"`
	AvailabilityZone string `json:"availability_zone"`
	ObjectCount      int64  `json:"object_count"`
	// VolumeMetadata is the volume's metadata when backed up; a restore
	// puts it back.
	VolumeMetadata map[string]string `json:"volume_metadata,omitempty"`
	Metadata       map[string]string `json:"metadata"`
	// Then is the volume status to return to after the copy.
	Then string `json:"then,omitempty"`
	// DataID is the backup whose stored data this one uses: set for a
	// record imported from another's export ("" = its own).
	DataID string `json:"data_id,omitempty"`
	// RestoreTo is the volume being restored into (status restoring).
	RestoreTo     string    `json:"restore_to,omitempty"`
	DataTimestamp time.Time `json:"data_timestamp"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Backup statuses.
const (
	BackupCreating  = "creating"
	BackupAvailable = "available"
	BackupRestoring = "restoring"
	BackupDeleting  = "deleting"
	BackupError     = "error"
)

// Type is a volume type.
type Type struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	IsPublic    bool              `json:"is_public"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
	// Projects may use a private type.
	Projects []string `json:"projects,omitempty"`
	// QosSpecsID is the QoS specs associated with the type ("" = none).
	QosSpecsID string `json:"qos_specs_id,omitempty"`
	// Encryption is the type's encryption spec (nil = unencrypted).
	Encryption *Encryption `json:"encryption,omitempty"`
}

// DefaultTypeName is Cinder's default volume type.
const DefaultTypeName = "__DEFAULT__"

// Multiattach reports whether volumes of t may attach to several servers.
func (t *Type) Multiattach() bool { return t != nil && t.ExtraSpecs["multiattach"] == "<is> True" }
