package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Config is the identity section of Nubo's configuration.
type Config struct {
	// TokenTTL is how long an issued token lives.
	TokenTTL time.Duration
	// BcryptCost is the cost of password and secret hashes.
	BcryptCost int
	// Security compliance (Keystone's [security_compliance]); zero is off.
	// LockoutFailureAttempts wrong passwords in a row lock a user out of
	// password authentication for LockoutDuration.
	LockoutFailureAttempts int
	LockoutDuration        time.Duration
	// UniqueLastPasswordCount: a self-service password change may not
	// reuse the current password or the ones before it, this many in all.
	UniqueLastPasswordCount int

	// CacheTTL bounds how long a validated token is trusted from memory
	// before it is checked against the store again. Writes made through this
	// process invalidate the cache at once; the bound is for writes made by
	// other control-plane replicas sharing the store.
	CacheTTL time.Duration
}

// DefaultConfig returns the defaults: 1 h tokens, bcrypt cost 12 (Keystone's).
func DefaultConfig() Config {
	return Config{TokenTTL: time.Hour, BcryptCost: 12, CacheTTL: 5 * time.Second}
}

// Service implements the Identity domain over a store.
type Service struct {
	st  store.Store
	cfg Config
	log *slog.Logger
	now func() time.Time

	// gen counts identity writes made through this process; cached token
	// validations and catalogs older than the current gen are discarded.
	gen   atomic.Uint64
	cache sync.Map // token hash -> *cachedToken

	lists sync.Map // kind -> *cachedList

	catMu  sync.Mutex
	catGen uint64
	cat    []CatalogService
	catOK  bool
}

// New returns a Service.
func New(st store.Store, cfg Config, log *slog.Logger) *Service {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = 12
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 5 * time.Second
	}
	return &Service{st: st, cfg: cfg, log: log.With("component", "identity"), now: func() time.Time { return time.Now().UTC() }}
}

// SetClock replaces the clock, for tests.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// TokenTTL returns the configured token lifetime.
func (s *Service) TokenTTL() time.Duration { return s.cfg.TokenTTL }

func newID() string { return uuid.NewString() }

// hexID returns a 32-hex-digit ID, the shape Keystone uses for most resources.
func hexID() string {
	u := uuid.New()
	const hex = "0123456789abcdef"
	b := make([]byte, 32)
	for i, c := range u {
		b[2*i] = hex[c>>4]
		b[2*i+1] = hex[c&0xf]
	}
	return string(b)
}

// write runs fn in a write transaction and invalidates cached validations.
func (s *Service) write(ctx context.Context, fn func(store.Tx) error) error {
	err := s.st.Write(ctx, fn)
	s.gen.Add(1)
	return err
}

func (s *Service) read(ctx context.Context, fn func(store.ReadTx) error) error {
	return s.st.Read(ctx, fn)
}

// prehash maps a secret of any length to 44 bytes, under bcrypt's 72-byte
// limit, so long passwords and application-credential secrets (86
// characters, as Keystone makes them) are hashed whole rather than refused
// or silently truncated.
func prehash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum[:])
	return out
}

func (s *Service) hash(secret string) (string, error) {
	h, err := bcrypt.GenerateFromPassword(prehash(secret), s.cfg.BcryptCost)
	if err != nil {
		if errors.Is(err, bcrypt.ErrPasswordTooLong) {
			return "", fault.New(fault.BadRequest, "Password is too long.")
		}
		return "", fmt.Errorf("hash secret: %w", err)
	}
	return string(h), nil
}

func checkHash(hash, secret string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), prehash(secret)) == nil
}

// Keystone's messages.
func notFound(what, id string) error {
	return fault.New(fault.NotFound, "Could not find %s: %s.", what, id)
}

func conflict(what, detail string) error {
	return fault.New(fault.Conflict, "Conflict occurred attempting to store %s - %s.", what, detail)
}

func forbidden() error {
	return fault.New(fault.Forbidden, "You are not authorized to perform the requested action.")
}

func badRequest(format string, args ...any) error {
	return fault.New(fault.BadRequest, format, args...)
}

// get reads one record and maps ErrNotFound to Keystone's 404.
func get[T any](tx store.ReadTx, kind, what, id string) (*T, error) {
	v, err := store.Get[T](tx, kind, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(what, id)
	}
	return v, err
}

func creds(ctx context.Context) *policy.Credentials { return policy.FromContext(ctx) }

func requireAdmin(ctx context.Context) error {
	if !creds(ctx).IsAdmin() {
		return forbidden()
	}
	return nil
}

func requireReader(ctx context.Context) error {
	if !creds(ctx).IsReader() {
		return forbidden()
	}
	return nil
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type cachedList struct {
	gen   uint64
	at    time.Time
	items any
}

// listCached returns every record of kind, from memory while no identity
// write has happened through this process and the copy is younger than
// CacheTTL (the same rule as validated tokens; docs/adr/0002). Callers must
// not modify the returned slice's elements.
func listCached[T any](ctx context.Context, s *Service, kind string) ([]T, error) {
	gen, now := s.gen.Load(), s.now()
	if v, ok := s.lists.Load(kind); ok {
		c := v.(*cachedList)
		if c.gen == gen && now.Sub(c.at) < s.cfg.CacheTTL && !now.Before(c.at) {
			return c.items.([]T), nil
		}
	}
	var items []T
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		items, err = store.List[T](tx, kind, store.ListOptions{})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.lists.Store(kind, &cachedList{gen: gen, at: now, items: items})
	return items, nil
}
