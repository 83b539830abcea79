package image

import "time"

// Record kinds in the store.
const (
	kindImage  = "image.image"
	kindMember = "image.member"
	kindTask   = "image.task"
)

// Image statuses, exactly as clients poll them.
const (
	StatusQueued      = "queued"
	StatusSaving      = "saving"
	StatusActive      = "active"
	StatusKilled      = "killed"
	StatusDeleted     = "deleted"
	StatusDeactivated = "deactivated"
	StatusUploading   = "uploading"
	StatusImporting   = "importing"
)

// Visibilities.
const (
	Public    = "public"
	Private   = "private"
	Shared    = "shared"
	Community = "community"
)

// Member statuses.
const (
	MemberPending  = "pending"
	MemberAccepted = "accepted"
	MemberRejected = "rejected"
)

// Formats Glance accepts by default (glance-api.conf [image_format]).
var (
	DiskFormats      = []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
	ContainerFormats = []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}
)

// Import methods Nubo offers.
const (
	MethodGlanceDirect = "glance-direct"
	MethodWebDownload  = "web-download"
)

// ImportMethods lists the enabled import methods.
var ImportMethods = []string{MethodGlanceDirect, MethodWebDownload}

// StoreID names the one blob store images land in.
const StoreID = "file"

// HashAlgo is the os_hash_algo of every image (Glance's default).
const HashAlgo = "sha512"

// Image is an image record.
type Image struct {
	ID string `json:"id"`
	// Name is nil when the image has none (Glance names may be null).
	Name            *string `json:"name"`
	Status          string  `json:"status"`
	Visibility      string  `json:"visibility"`
	Owner           string  `json:"owner,omitempty"`
	DiskFormat      string  `json:"disk_format,omitempty"`
	ContainerFormat string  `json:"container_format,omitempty"`
	MinDisk         int64   `json:"min_disk"`
	MinRAM          int64   `json:"min_ram"`
	Protected       bool    `json:"protected"`
	Hidden          bool    `json:"os_hidden"`
	// Size is nil until data is stored.
	Size        *int64            `json:"size,omitempty"`
	VirtualSize *int64            `json:"virtual_size,omitempty"`
	Checksum    string            `json:"checksum,omitempty"`
	HashAlgo    string            `json:"os_hash_algo,omitempty"`
	HashValue   string            `json:"os_hash_value,omitempty"`
	Tags        []string          `json:"tags"`
	Properties  map[string]string `json:"properties,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	// CreatedNano orders images created within the same second (CreatedAt
	// has Glance's one-second resolution) when sorting by created_at.
	CreatedNano int64 `json:"created_nano,omitempty"`
	// Stores lists the stores holding the data ("" while there is none).
	Stores string `json:"stores,omitempty"`
	// BlobKey is where the data is in the blob store.
	BlobKey string `json:"blob_key,omitempty"`
	// StagedKey is where staged data waits for a glance-direct import.
	StagedKey string `json:"staged_key,omitempty"`
	// Staged* are the checksums and size computed while staging.
	StagedSize     int64  `json:"staged_size,omitempty"`
	StagedChecksum string `json:"staged_checksum,omitempty"`
	StagedHash     string `json:"staged_hash,omitempty"`
}

// Member shares an image with a project.
type Member struct {
	ImageID   string    `json:"image_id"`
	MemberID  string    `json:"member_id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func memberKey(imageID, memberID string) string { return imageID + "/" + memberID }

// Task records one import (the /v2/images/{id}/tasks API).
type Task struct {
	ID        string         `json:"id"`
	ImageID   string         `json:"image_id"`
	Type      string         `json:"type"`
	Status    string         `json:"status"`
	Owner     string         `json:"owner"`
	Message   string         `json:"message"`
	Input     map[string]any `json:"input"`
	Result    map[string]any `json:"result,omitempty"`
	RequestID string         `json:"request_id"`
	UserID    string         `json:"user_id"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	ExpiresAt *time.Time     `json:"expires_at,omitempty"`
}
