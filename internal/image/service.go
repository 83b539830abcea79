package image

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/blob"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Config is the image section of Nubo's configuration.
type Config struct {
	// StorageQuota caps the bytes of image data (stored and staged) one
	// project may hold; 0 means no cap (Glance's user_storage_quota).
	StorageQuota int64
	// MaxTags and MaxProperties cap tags and extra properties per image
	// (Glance's image_tag_quota and image_property_quota, 128 by default).
	MaxTags, MaxProperties int
	// Fetch opens a URL for the web-download import method; nil disables it.
	Fetch func(ctx context.Context, url string) (io.ReadCloser, error)
	// ImportTimeout bounds one web-download import (default 1 h).
	ImportTimeout time.Duration
}

// Service implements the Image domain over a store and a blob store.
type Service struct {
	st    store.Store
	blobs blob.Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	// mu guards reserved: bytes being streamed right now, per project, so
	// concurrent uploads of one project cannot together pass the quota.
	mu       sync.Mutex
	reserved map[string]int64
	// committed counts bytes committed per project since start, so an
	// upload that read the project's usage earlier still sees them.
	committed map[string]int64

	// imports tracks background web-download imports; Close waits for them.
	imports sync.WaitGroup
	stop    context.CancelFunc
	bg      context.Context
}

// New returns a Service.
func New(st store.Store, blobs blob.Store, cfg Config, log *slog.Logger) *Service {
	if cfg.MaxTags <= 0 {
		cfg.MaxTags = 128
	}
	if cfg.MaxProperties <= 0 {
		cfg.MaxProperties = 128
	}
	if cfg.ImportTimeout <= 0 {
		cfg.ImportTimeout = time.Hour
	}
	bg, stop := context.WithCancel(context.Background())
	return &Service{st: st, blobs: blobs, cfg: cfg, log: log.With("component", "image"),
		now: func() time.Time { return time.Now().UTC().Truncate(time.Second) }, reserved: map[string]int64{}, committed: map[string]int64{},
		bg: bg, stop: stop}
}

// Close cancels background imports and waits for them to finish.
func (s *Service) Close() {
	s.stop()
	s.imports.Wait()
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// The state machine of an image's status. Deleting is allowed from every
// status and removes the record (404 afterwards), so it is not in the table.
//
//	            upload (PUT file)          data stored
//	  queued ─────────────────────▶ saving ───────────▶ active ◀──┐
//	   │  ▲  ◀─── cut off / quota ────┘                  │  reactivate
//	   │  │                                   deactivate ▼        │
//	   │  └──── import failed ─────┐               deactivated ──┘
//	   │ stage (PUT stage)         │
//	   ▼                 import    │           data moved in place
//	uploading ───────────────▶ importing ─────────────────────▶ active
//	   queued ── web-download import ──┘
var transitions = map[string][]string{
	StatusQueued:      {StatusSaving, StatusUploading, StatusImporting},
	StatusSaving:      {StatusActive, StatusQueued, StatusKilled},
	StatusUploading:   {StatusImporting, StatusQueued},
	StatusImporting:   {StatusActive, StatusQueued},
	StatusActive:      {StatusDeactivated},
	StatusDeactivated: {StatusActive},
}

// CanTransition reports whether an image may go from status from to to.
func CanTransition(from, to string) bool { return slices.Contains(transitions[from], to) }

func transition(im *Image, to string) error {
	if !CanTransition(im.Status, to) {
		return fault.New(fault.Conflict, "Image status transition from %s to %s is not allowed", im.Status, to)
	}
	im.Status = to
	return nil
}

func notFound(id string) error {
	return fault.New(fault.NotFound, "No image found with ID %s", id)
}

func forbidden(format string, args ...any) error { return fault.New(fault.Forbidden, format, args...) }

func badRequest(format string, args ...any) error {
	return fault.New(fault.BadRequest, format, args...)
}

func creds(ctx context.Context) (*policy.Credentials, error) {
	c := policy.FromContext(ctx)
	if c == nil || !c.Scoped() {
		return nil, fault.New(fault.Forbidden, "You are not authorized to complete this action.")
	}
	return c, nil
}

// member returns the caller's membership of im, or nil.
func member(tx store.ReadTx, im *Image, c *policy.Credentials) (*Member, error) {
	if c.ProjectID == "" || im.Visibility != Shared {
		return nil, nil
	}
	m, err := store.Get[Member](tx, kindMember, memberKey(im.ID, c.ProjectID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return m, err
}

// canSee reports whether the caller may show im: admins and the owner see
// everything; anyone sees public and community images; members see shared
// images whatever their member status.
func canSee(c *policy.Credentials, im *Image, m *Member) bool {
	switch {
	case c.IsAdmin(), c.IsReader():
		return true
	case c.ProjectID != "" && im.Owner == c.ProjectID:
		return true
	case im.Visibility == Public, im.Visibility == Community:
		return true
	case im.Visibility == Shared && m != nil:
		return true
	}
	return false
}

func canWrite(c *policy.Credentials, im *Image) bool { return c.CanWriteProject(im.Owner) }

// getVisible reads an image the caller may see; otherwise 404, as Glance
// never reveals another project's private image.
func getVisible(tx store.ReadTx, c *policy.Credentials, id string) (*Image, error) {
	im, err := store.Get[Image](tx, kindImage, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	m, err := member(tx, im, c)
	if err != nil {
		return nil, err
	}
	if !canSee(c, im, m) {
		return nil, notFound(id)
	}
	return im, nil
}

// getWritable reads an image the caller may change: 404 if it may not even
// see it, 403 if it may see but not change it.
func getWritable(tx store.ReadTx, c *policy.Credentials, id string) (*Image, error) {
	im, err := getVisible(tx, c, id)
	if err != nil {
		return nil, err
	}
	if !canWrite(c, im) {
		return nil, forbidden("You are not permitted to modify image %s.", id)
	}
	return im, nil
}

func putImage(tx store.Tx, im *Image) error {
	return tx.Update(store.Record{Kind: kindImage, ID: im.ID, Ref: im.Owner, Value: im})
}

func newID() string { return uuid.NewString() }
