package volume

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/blob"
	"github.com/nubo-cloud/nubo/internal/driver/blockdev"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Images is what Block Storage needs of the Image service
// (*image.Service implements it).
type Images interface {
	Get(ctx context.Context, id string) (*image.Image, error)
	Download(ctx context.Context, id string) (io.ReadSeekCloser, int64, *image.Image, error)
	Create(ctx context.Context, attrs map[string]any) (*image.Image, error)
	Upload(ctx context.Context, id string, r io.Reader, size int64) (*image.Image, error)
}

// Config configures Block Storage.
type Config struct {
	// AvailabilityZone is the one zone volumes live in ("nova", as Cinder's
	// default storage_availability_zone).
	AvailabilityZone string
	// Workers is how many volumes the Reconciler works on at once.
	Workers int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{AvailabilityZone: "nova", Workers: 4} }

// Service implements Block Storage over a store and a backend.
type Service struct {
	st      store.Store
	drv     blockdev.Driver
	images  Images
	backups blob.Store
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	started time.Time
}

// New returns a Service. images may be nil (no volumes from images);
// backups may be nil (no backups).
func New(st store.Store, drv blockdev.Driver, images Images, backups blob.Store, cfg Config, log *slog.Logger) *Service {
	if cfg.AvailabilityZone == "" {
		cfg.AvailabilityZone = "nova"
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	return &Service{st: st, drv: drv, images: images, backups: backups, cfg: cfg,
		log: log.With("component", "volume"), now: now, started: now()}
}

// Config returns the configuration.
func (s *Service) Config() Config { return s.cfg }

// Driver returns the backend (the host agent asks it for connections).
func (s *Service) Driver() blockdev.Driver { return s.drv }

// Bootstrap creates the default volume type if missing.
func (s *Service) Bootstrap(ctx context.Context) error {
	return s.st.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.Lookup(KindType, typeKey(DefaultTypeName)); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		t := Type{ID: uuid.NewString(), Name: DefaultTypeName, Description: "Default Volume Type", IsPublic: true, ExtraSpecs: map[string]string{}}
		return tx.Create(store.Record{Kind: KindType, ID: t.ID, Unique: []string{typeKey(t.Name)}, Value: t})
	})
}

func newID() string { return uuid.NewString() }

func creds(ctx context.Context) (*policy.Credentials, error) {
	c := policy.FromContext(ctx)
	if c == nil {
		return nil, fault.New(fault.Unauthorized, "The request you have made requires authentication.")
	}
	return c, nil
}

func requireAdmin(ctx context.Context) (*policy.Credentials, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() {
		return nil, forbidden()
	}
	return c, nil
}

func forbidden() error {
	return fault.New(fault.Forbidden, "Policy doesn't allow this operation to be performed.")
}

func badRequest(format string, args ...any) error {
	return fault.New(fault.BadRequest, format, args...)
}

func invalidVolume(format string, args ...any) error {
	return fault.New(fault.BadRequest, "Invalid volume: "+format, args...)
}

func notFound(what, id string) error {
	return fault.New(fault.NotFound, "%s %s could not be found.", what, id)
}

// canSee reports whether c may read a resource of project.
func canSee(c *policy.Credentials, project string) bool {
	return c.IsReader() || c.OwnsProject(project)
}

// canWrite reports whether c may change a resource of project.
func canWrite(c *policy.Credentials, project string) bool { return c.CanWriteProject(project) }

func getVolume(tx store.ReadTx, c *policy.Credentials, id string) (*Volume, error) {
	v, err := store.Get[Volume](tx, KindVolume, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !canSee(c, v.ProjectID) {
		return nil, notFound("Volume", id)
	}
	return v, err
}

func getWritableVolume(tx store.ReadTx, c *policy.Credentials, id string) (*Volume, error) {
	v, err := getVolume(tx, c, id)
	if err != nil {
		return nil, err
	}
	if !canWrite(c, v.ProjectID) {
		return nil, forbidden()
	}
	return v, nil
}

func volumeRecord(v *Volume) store.Record {
	uniq := make([]string, 0, len(v.Attachments))
	for _, a := range v.Attachments {
		uniq = append(uniq, attKey(a.ID))
	}
	return store.Record{Kind: KindVolume, ID: v.ID, Ref: v.ProjectID, Unique: uniq, Value: v}
}

func attKey(id string) string    { return "attachment:" + id }
func typeKey(name string) string { return "name:" + name }

func (s *Service) putVolume(tx store.Tx, v *Volume) error {
	v.UpdatedAt = s.now()
	return tx.Update(volumeRecord(v))
}

// Now returns the service's clock reading (for "updated_at" of services).
func (s *Service) Now() time.Time { return s.now() }
